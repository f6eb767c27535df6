"""ORGAN's duplicate penalty as a wrapper on any reward: each value is multiplied by
``fraction_unique / count_in_batch`` (Guimaraes et al. 2017, arXiv:1705.10843, the
``batch_reward`` of ``organ/__init__.py``), so a batch that repeats a molecule gains nothing by
it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from asktell.evaluation import Evaluation, as_evaluation
from asktell.protocol import Closeable

from .base import Reward, check_smiles

__all__ = ["Uniqueness"]


class Uniqueness:
    """Wrap a reward with ORGAN's duplicate penalty.

    Parameters
    ----------
    reward : callable or str
        A reward (any callable scoring a list of SMILES), or the registered name of one.
    by : {"canonical", "string"}
        What counts as a duplicate: the same molecule (canonical SMILES, default) or the same
        string (ORGAN). Invalid strings are always compared as strings.
    **options
        Passed to the reward's factory when ``reward`` is a name.

    Examples
    --------
    >>> from asktell_chem.rewards.validity import Validity
    >>> Uniqueness(Validity())(["CCO", "OCC", "CCN", "xx"]).tolist()
    [0.375, 0.375, 0.75, 0.0]
    """

    def __init__(self, reward: Callable[[list[str]], Any] | str = "validity", *,
                 by: str = "canonical", **options: Any) -> None:
        if isinstance(reward, str):
            import asktell

            reward = asktell.get("reward", reward)(**options)
        elif options:
            raise TypeError("options are only accepted with a reward given by name")
        if not callable(reward):
            raise TypeError(f"reward must be callable or a registered name, got {reward!r}")
        if by not in ("canonical", "string"):
            raise ValueError(f"by must be 'canonical' or 'string', got {by!r}")
        self.reward, self.by = reward, by
        self._canon: Reward | None = None

    def keys(self, items: list[str]) -> list[str]:
        """What identifies a duplicate for each string (see ``by``)."""
        if self.by == "string":
            return items
        can = getattr(self.reward, "canonical", None)
        if not isinstance(self.reward, Reward) or can is None or len(can) != len(items):
            if self._canon is None:  # canonicalise through a validity reward (cached)
                from .validity import Validity

                self._canon = Validity()
            self._canon(items)
            can = self._canon.canonical
        return [s if c is None else c for s, c in zip(items, can)]

    def __call__(self, smiles: Iterable[str]) -> Evaluation:
        """Score the batch with the wrapped reward, then apply the duplicate penalty.

        Parameters
        ----------
        smiles : sequence of str
            The batch.

        Returns
        -------
        Evaluation
            The penalised rewards, with the wrapped reward's errors and extra columns.
        """
        items = check_smiles(smiles)
        inner = as_evaluation(self.reward(items))
        values = self.penalise(items, np.asarray(inner, dtype=float))
        return Evaluation(values, inner.errors, inner.extras)

    def penalise(self, items: list[str], values: np.ndarray) -> np.ndarray:
        """Apply the penalty to values the wrapped reward has just given ``items``."""
        if len(items) == 0:
            return values
        _, inverse, counts = np.unique(self.keys(items), return_inverse=True,
                                       return_counts=True)
        return values * (len(counts) / len(items)) / counts[inverse]

    def close(self) -> None:
        """Close the wrapped reward's workers, if any."""
        for r in (self.reward, self._canon):
            if isinstance(r, Closeable):
                r.close()

    def __repr__(self) -> str:
        return f"Uniqueness({self.reward!r}, by={self.by!r})"
