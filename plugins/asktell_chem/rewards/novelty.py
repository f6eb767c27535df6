"""Novelty against a training set, compared as canonical SMILES.

ORGAN's ``batch_novelty`` compared raw strings, so a non-canonical spelling of a training
molecule counted as novel; here both sides are RDKit-canonical (MOSES's convention).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

import numpy as np

from .._rdkit import canonical, parse
from .base import BatchTerm, Reward, check_smiles

__all__ = ["Novelty", "NoveltyTerm", "canonical_set"]

log = logging.getLogger(__name__)


def canonical_set(smiles: Iterable[str], *, already_canonical: bool = False) -> frozenset[str]:
    """Canonical SMILES of a set of molecules; invalid strings are dropped (and counted in a
    log warning).

    Parameters
    ----------
    smiles : iterable of str
        Training molecules.
    already_canonical : bool
        Trust the strings as RDKit-canonical (skips parsing: 1.6M MOSES SMILES take ~70 s to
        canonicalise).
    """
    items = check_smiles(list(smiles))
    if already_canonical:
        return frozenset(items)
    out = set()
    bad = 0
    for s in items:
        mol = parse(s)
        if mol is None:
            bad += 1
        else:
            out.add(canonical(mol))
    if bad:
        log.warning("%d of %d training SMILES are invalid and were left out", bad, len(items))
    return frozenset(out)


class NoveltyTerm(BatchTerm):
    """1.0 if the canonical SMILES is not in the training set, else 0.0."""

    name = "novelty"

    def __init__(self, training_smiles: Iterable[str], *, already_canonical: bool = False) -> None:
        self.training = canonical_set(training_smiles, already_canonical=already_canonical)
        if not self.training:
            raise ValueError("novelty needs a non-empty training set of valid SMILES")

    def compute_batch(self, canonical: Sequence[str | None]) -> np.ndarray:
        """1.0 for molecules outside the training set (invalid entries are masked later)."""
        train = self.training
        return np.fromiter((c not in train for c in canonical), dtype=float, count=len(canonical))


class Novelty(Reward):
    """1 if a molecule (canonical SMILES) is not in the training set, 0 if it is or is invalid.

    Parameters
    ----------
    training_smiles : iterable of str
        The training set (any spelling; canonicalised once here).
    already_canonical : bool
        Skip canonicalising the training set.
    n_workers, backend, cache_size
        See :class:`~asktell_chem.rewards.base.Reward`.

    Examples
    --------
    >>> Novelty(["c1ccccc1", "CCO"])(["C1=CC=CC=C1", "CCN", "OCC", "xx"]).tolist()
    [0.0, 1.0, 0.0, 0.0]
    """

    def __init__(self, training_smiles: Iterable[str], *, already_canonical: bool = False,
                 n_workers: int = 1, backend: str = "loky", cache_size: int = 100_000) -> None:
        super().__init__([NoveltyTerm(training_smiles, already_canonical=already_canonical)],
                         n_workers=n_workers, backend=backend, cache_size=cache_size)
