"""Substructure presence: SMARTS patterns matched with RDKit (ORGAN's
``batch_substructure_match_any`` / ``_all``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from rdkit import Chem

from .base import Reward, Term

__all__ = ["Substructure", "SubstructureTerm"]


class SubstructureTerm(Term):
    """Raw value: how many of the patterns match; reward 1 if any (or all) match."""

    name = "substructure"

    def __init__(self, smarts: str | Sequence[str], *, require: str = "any") -> None:
        patterns = [smarts] if isinstance(smarts, str) else list(smarts)
        if not patterns:
            raise ValueError("substructure needs at least one SMARTS pattern")
        if require not in ("any", "all"):
            raise ValueError(f"require must be 'any' or 'all', got {require!r}")
        for i, p in enumerate(patterns):
            if not isinstance(p, str) or Chem.MolFromSmarts(p) is None:
                raise ValueError(f"pattern {i} is not a valid SMARTS string: {p!r}")
        self.smarts, self.require = patterns, require
        self._patterns: list[Any] | None = None

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_patterns"] = None  # query molecules are rebuilt from SMARTS in each process
        return state

    def compute(self, mol: Any, shared: dict[str, Any]) -> float:
        """Number of patterns found in ``mol``."""
        if self._patterns is None:
            self._patterns = [Chem.MolFromSmarts(p) for p in self.smarts]
        return float(sum(mol.HasSubstructMatch(p) for p in self._patterns))

    def normalise(self, raw: np.ndarray) -> np.ndarray:
        """1 if any (``require="any"``) or all patterns match, else 0."""
        need = 1 if self.require == "any" else len(self.smarts)
        return (raw >= need).astype(float)


class Substructure(Reward):
    """1 if a molecule contains any (or all) of the SMARTS patterns, else 0.

    Parameters
    ----------
    smarts : str or sequence of str
        Patterns (checked here: an invalid SMARTS raises ``ValueError`` naming it).
    require : {"any", "all"}
        Which patterns must match.
    raw : bool
        Return the number of patterns matched.
    n_workers, backend, cache_size
        See :class:`~asktell_chem.rewards.base.Reward`.

    Examples
    --------
    >>> Substructure("c1ccccc1")(["Cc1ccccc1", "CCO"]).tolist()  # a benzene ring
    [1.0, 0.0]
    """

    def __init__(self, smarts: str | Sequence[str], *, require: str = "any", raw: bool = False,
                 n_workers: int = 1, backend: str = "loky", cache_size: int = 100_000) -> None:
        super().__init__([SubstructureTerm(smarts, require=require)], raw=raw,
                         n_workers=n_workers, backend=backend, cache_size=cache_size)
