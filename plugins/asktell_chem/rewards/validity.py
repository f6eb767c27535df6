"""Validity: 1 for a SMILES RDKit parses and sanitises, 0 otherwise (ORGAN's ``batch_validity``,
MOSES's ``get_mol``: the empty string is invalid)."""

from __future__ import annotations

from typing import Any

from .base import Reward, Term

__all__ = ["Validity", "ValidityTerm"]


class ValidityTerm(Term):
    """1.0 for every molecule that parsed (invalid strings score 0 in the engine)."""

    name = "validity"

    def compute(self, mol: Any, shared: dict[str, Any]) -> float:
        """Always 1.0: only valid molecules reach a term."""
        return 1.0


class Validity(Reward):
    """1 if RDKit parses and sanitises the SMILES, else 0.

    Parameters
    ----------
    n_workers, backend, cache_size
        See :class:`~asktell_chem.rewards.base.Reward`.

    Examples
    --------
    >>> Validity()(["CCO", "C1CC", "", "c1ccccc1"]).tolist()
    [1.0, 0.0, 0.0, 1.0]
    """

    def __init__(self, *, n_workers: int = 1, backend: str = "loky",
                 cache_size: int = 100_000) -> None:
        super().__init__([ValidityTerm()], n_workers=n_workers, backend=backend,
                         cache_size=cache_size)
