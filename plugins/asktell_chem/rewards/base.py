"""The reward engine: parse each SMILES once, compute every term on the shared molecule, cache by
SMILES, score in parallel through the core's evaluators, normalise and combine vectorised.

A :class:`Reward` holds one or more *terms*. A :class:`Term` computes one raw property from an
RDKit molecule (QED, logP, ...) in whatever process scores the molecule; a :class:`BatchTerm`
computes its raw values from the canonical SMILES of the whole batch in the calling process
(novelty against a training set). Each term maps raw values to [0, 1] with a vectorised
:meth:`Term.normalise`; the reward is the weighted arithmetic or geometric mean of its terms.
"""

from __future__ import annotations

import abc
import functools
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from asktell.evaluation import Evaluation, EvaluationError
from asktell.evaluators import Evaluator, SequentialEvaluator
from asktell.parallel import ParallelEvaluator

from .._rdkit import canonical, parse

__all__ = ["BatchTerm", "Reward", "Term", "check_smiles", "remap"]

#: What a worker returns for one SMILES: (canonical SMILES, raw term values), or (None, None)
#: for a string RDKit cannot parse.
Scored = tuple[str | None, tuple[float, ...] | None]


def remap(x: np.ndarray, low: float, high: float) -> np.ndarray:
    """Map ``low → 0`` and ``high → 1`` linearly and clip to [0, 1] (ORGAN's ``remap`` + clip).

    ``high < low`` reverses the scale (SA score: 5 → 0, 1.5 → 1).

    Examples
    --------
    >>> remap(np.array([-1.0, 0.5, 2.0]), 0.0, 1.0).tolist()
    [0.0, 0.5, 1.0]
    """
    return np.clip((np.asarray(x, dtype=float) - low) / (high - low), 0.0, 1.0)


def check_smiles(smiles: Any) -> list[str]:
    """Check that ``smiles`` is a sequence of ``str`` and return it as a list.

    Raises
    ------
    TypeError
        For a single string, a non-sequence, or an item that is not a ``str`` (None, bytes, a
        number), naming the first offending position.
    """
    if isinstance(smiles, (str, bytes)):
        raise TypeError("expected a sequence of SMILES strings, got a single "
                        f"{type(smiles).__name__}; wrap it in a list: [{smiles!r}]")
    if isinstance(smiles, np.ndarray):
        if smiles.ndim != 1:
            raise TypeError(f"expected a 1-D array of SMILES, got shape {smiles.shape}")
        items = smiles.tolist()
    else:
        try:
            items = list(smiles)
        except TypeError:
            raise TypeError(
                f"expected a sequence of SMILES strings, got {type(smiles).__name__}"
            ) from None
    for i, s in enumerate(items):
        if not isinstance(s, str):
            raise TypeError(
                f"SMILES must be str: item {i} is {type(s).__name__} ({s!r:.40})"
                + ("; decode bytes first, e.g. s.decode()" if isinstance(s, bytes) else "")
            )
    return items


class Term(abc.ABC):
    """One property computed from a parsed molecule.

    Subclasses set :attr:`name` and implement :meth:`compute` (one molecule, raw value) and
    :meth:`normalise` (raw values → [0, 1], vectorised). Terms must be picklable: they are sent
    to the worker processes that score molecules.
    """

    #: Name used in errors and in :attr:`Reward.term_names`.
    name: str = "term"

    @abc.abstractmethod
    def compute(self, mol: Any, shared: dict[str, Any]) -> float:
        """Raw property of one sanitised RDKit molecule.

        ``shared`` is a per-molecule dict that the terms of one reward share, so a value one
        term computes (QED's Crippen logP) is not computed again by another.
        """

    def normalise(self, raw: np.ndarray) -> np.ndarray:
        """Map raw values (finite; invalid molecules are handled by the caller) to [0, 1]."""
        return np.clip(raw, 0.0, 1.0)


class BatchTerm(abc.ABC):
    """A term computed from the canonical SMILES of a whole batch, in the calling process."""

    name: str = "batch-term"

    @abc.abstractmethod
    def compute_batch(self, canonical: Sequence[str | None]) -> np.ndarray:
        """Raw values, one per canonical SMILES (None marks an invalid string)."""

    def normalise(self, raw: np.ndarray) -> np.ndarray:
        """Map raw values to [0, 1]."""
        return np.clip(raw, 0.0, 1.0)


def _score_one(smiles: str, terms: tuple[Term, ...]) -> Scored:
    """Parse once, canonicalise, compute every term. Runs where the evaluator puts it."""
    mol = parse(smiles)
    if mol is None:
        return None, None
    shared: dict[str, Any] = {}
    return canonical(mol), tuple(float(t.compute(mol, shared)) for t in terms)


class Reward:
    """Score a batch of SMILES with one or more terms; see the module docstring.

    Parameters
    ----------
    terms : sequence of Term or BatchTerm
        What to compute.
    weights : sequence of float, optional
        One non-negative weight per term (default: equal weights).
    mean : {"arithmetic", "geometric"}
        How terms combine: ``Σ wᵢ rᵢ / Σ wᵢ`` or ``Π rᵢ^(wᵢ/Σ w)`` (0 if any term is 0).
    raw : bool
        Return the raw property instead of the [0, 1] reward (single-term rewards only); an
        invalid SMILES is then NaN, which an optimiser counts as a failed evaluation.
    n_workers : int
        Processes that parse and score molecules (the core's :class:`asktell.ParallelEvaluator`,
        one chunk per worker); 1 scores in this process.
    backend : {"loky", "threading"}
        How ``n_workers > 1`` workers run: processes (``"loky"``) or threads of this process
        (see :class:`asktell.ParallelEvaluator`).
    cache_size : int
        Results kept, least recently used dropped (0 turns the cache off). Repeats within a batch
        are scored once; a result is stored under the string as given and under its canonical
        SMILES, so any later spelling equal to the canonical form is a hit too.

    Attributes
    ----------
    canonical : list of (str or None)
        Canonical SMILES of the last batch (None for invalid strings).

    Notes
    -----
    An invalid SMILES (RDKit cannot parse or sanitise it, or the empty string) scores 0.
    """

    def __init__(
        self,
        terms: Sequence[Term | BatchTerm],
        *,
        weights: Sequence[float] | None = None,
        mean: str = "arithmetic",
        raw: bool = False,
        n_workers: int = 1,
        backend: str = "loky",
        cache_size: int = 100_000,
    ) -> None:
        terms = list(terms)
        if not terms:
            raise ValueError("a reward needs at least one term")
        for t in terms:
            if not isinstance(t, (Term, BatchTerm)):
                raise TypeError(f"terms must be Term or BatchTerm instances, got {t!r}")
        if weights is None:
            weights = [1.0] * len(terms)
        w = np.asarray(weights, dtype=float)
        if w.shape != (len(terms),) or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
            raise ValueError(
                f"weights must be {len(terms)} finite non-negative numbers with a positive sum, "
                f"got {list(weights)}"
            )
        if mean not in ("arithmetic", "geometric"):
            raise ValueError(f"mean must be 'arithmetic' or 'geometric', got {mean!r}")
        if raw and len(terms) != 1:
            raise ValueError("raw=True returns one property: it needs a single-term reward")
        if not isinstance(n_workers, int) or n_workers < 1:
            raise ValueError(f"n_workers must be a positive int, got {n_workers!r}")
        if not isinstance(cache_size, int) or cache_size < 0:
            raise ValueError(f"cache_size must be a non-negative int, got {cache_size!r}")
        # Molecule terms first, QED before the others so its Crippen logP can be shared.
        self._mol_idx = [i for i, t in enumerate(terms) if isinstance(t, Term)]
        self._mol_idx.sort(key=lambda i: getattr(terms[i], "order", 1))
        self._batch_idx = [i for i, t in enumerate(terms) if isinstance(t, BatchTerm)]
        self.terms = terms
        self.weights = w / w.sum()
        self.mean = mean
        self.raw = raw
        self.n_workers = n_workers
        self.backend = backend
        self.cache_size = cache_size
        self.canonical: list[str | None] = []
        self._evaluator: Evaluator | None = None

    @property
    def term_names(self) -> list[str]:
        """Names of the terms, in order."""
        return [t.name for t in self.terms]

    # -- evaluation ---------------------------------------------------------------------
    def _get_evaluator(self) -> Evaluator:
        if self._evaluator is None:
            f = functools.partial(
                _score_one, terms=tuple(self.terms[i] for i in self._mol_idx)  # type: ignore[misc]
            )
            cache: bool | int = self.cache_size if self.cache_size else False
            if self.n_workers == 1:
                self._evaluator = SequentialEvaluator(f, cache=cache, output="object")
            else:
                self._evaluator = ParallelEvaluator(
                    f, self.n_workers, backend=self.backend, cache=cache, output="object"
                )
        return self._evaluator

    def properties(self, smiles: Iterable[str]) -> np.ndarray:
        """Raw term values, shape (n, n_terms), NaN where a string is invalid or failed."""
        return self._properties(smiles)[0]

    def _properties(self, smiles: Iterable[str]) -> tuple[np.ndarray, tuple[EvaluationError, ...]]:
        items = check_smiles(smiles)
        ev = self._get_evaluator()
        result = ev(items)
        scored: list[Scored | None] = list(result.values)
        n, k = len(items), len(self.terms)
        raw = np.full((n, k), np.nan)
        can: list[str | None] = [None] * n
        mol_cols = self._mol_idx
        rows, vals = [], []
        for i, s in enumerate(scored):
            if s is None or s[0] is None:
                continue
            can[i] = s[0]
            rows.append(i)
            vals.append(s[1])
        if rows and mol_cols:
            raw[np.ix_(rows, mol_cols)] = np.asarray(vals, dtype=float)
        if self.cache_size and rows:
            ev.remember({can[i]: scored[i] for i in rows if can[i] != items[i]})
        if self._batch_idx:
            invalid = np.array([c is None for c in can], dtype=bool)
            for j in self._batch_idx:
                raw[:, j] = self.terms[j].compute_batch(can)  # type: ignore[union-attr]
                raw[invalid, j] = np.nan
        self.canonical = can
        return raw, result.errors

    def __call__(self, smiles: Iterable[str]) -> Evaluation:
        """Score a batch of SMILES.

        Parameters
        ----------
        smiles : sequence of str
            The batch.

        Returns
        -------
        Evaluation
            Rewards in [0, 1] (0 for an invalid SMILES), or the raw property with ``raw=True``
            (NaN for an invalid SMILES); the molecules whose scoring raised, in ``errors`` (they
            score 0, or NaN with ``raw=True``; the rest of the batch is unaffected); with more
            than one term, each term's raw value as an extra column.
        """
        raw, errors = self._properties(smiles)
        extras = ({t.name.replace("-", "_"): raw[:, j] for j, t in enumerate(self.terms)}
                  if len(self.terms) > 1 else {})
        return Evaluation(self.values(raw), errors, extras)

    def values(self, raw: np.ndarray) -> np.ndarray:
        """What :meth:`__call__` returns, from raw term values (n, n_terms) that
        :meth:`properties` gave: the raw property with ``raw=True``, else :meth:`combine`."""
        return raw[:, 0].copy() if self.raw else self.combine(raw)

    def combine(self, raw: np.ndarray) -> np.ndarray:
        """Normalise raw term values (n, n_terms) and combine them into rewards (n,)."""
        ok = np.isfinite(raw)
        norm = np.zeros_like(raw)
        for j, t in enumerate(self.terms):
            col = ok[:, j]
            if col.any():
                norm[col, j] = t.normalise(raw[col, j])
        if self.mean == "arithmetic":
            return norm @ self.weights
        used = self.weights > 0
        with np.errstate(divide="ignore"):
            return np.exp(np.log(norm[:, used]) @ self.weights[used])

    def close(self) -> None:
        """Shut down the worker pool, if any."""
        if self._evaluator is not None:
            self._evaluator.close()
            self._evaluator = None

    def __enter__(self) -> Reward:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_evaluator"] = None  # a pool and a cache are not part of a reward's identity
        return state

    def __repr__(self) -> str:
        terms = ", ".join(
            f"{t.name}×{w:.3g}" for t, w in zip(self.terms, self.weights)
        ) if len(self.terms) > 1 else self.terms[0].name
        return f"{type(self).__name__}({terms}{', raw' if self.raw else ''})"
