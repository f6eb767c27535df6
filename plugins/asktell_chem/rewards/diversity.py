"""Diversity: mean Tanimoto distance of a molecule's Morgan fingerprint to a reference sample
(ORGAN's ``batch_diversity``: 100 training molecules, radius 4, 2,048 bits, mean distance
mapped from [0.9, 0.945] to [0, 1] and clipped).

Reference: Guimaraes et al. (2017), ORGAN, arXiv:1705.10843, ``mol_metrics.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from rdkit import DataStructs
from rdkit.Chem import rdFingerprintGenerator

from .._rdkit import parse
from .base import Reward, Term, check_smiles, remap

__all__ = ["Diversity", "DiversityTerm"]


class DiversityTerm(Term):
    """Mean Tanimoto distance to the reference fingerprints (raw), ORGAN's map to [0, 1]."""

    name = "diversity"

    def __init__(self, reference_smiles: Sequence[str], *, sample_size: int = 100,
                 radius: int = 4, n_bits: int = 2048, low: float = 0.9, high: float = 0.945,
                 seed: int = 0) -> None:
        ref = check_smiles(reference_smiles)
        if not isinstance(sample_size, int) or sample_size < 1:
            raise ValueError(f"sample_size must be a positive int, got {sample_size!r}")
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(ref))
        mols = []
        for i in order:  # the first `sample_size` valid references, in a seeded random order
            m = parse(ref[i])
            if m is not None:
                mols.append(m)
                if len(mols) == sample_size:
                    break
        if not mols:
            raise ValueError("diversity needs at least one valid reference SMILES")
        self.radius, self.n_bits, self.low, self.high = radius, n_bits, low, high
        gen = self._generator()
        # Stored as RDKit binary strings: picklable, and rebuilt once per process.
        self._ref_binary = [fp.ToBinary() for fp in gen.GetFingerprints(mols)]
        self._ref: list[Any] | None = None

    def _generator(self) -> Any:
        return rdFingerprintGenerator.GetMorganGenerator(radius=self.radius, fpSize=self.n_bits)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_ref"] = None
        state.pop("_gen", None)
        return state

    def compute(self, mol: Any, shared: dict[str, Any]) -> float:
        """Mean Tanimoto distance of ``mol`` to the reference sample."""
        if self._ref is None:
            self._ref = [DataStructs.ExplicitBitVect(b) for b in self._ref_binary]
            self._gen = self._generator()
        fp = self._gen.GetFingerprint(mol)
        return float(np.mean(DataStructs.BulkTanimotoSimilarity(fp, self._ref,
                                                                returnDistance=True)))

    def normalise(self, raw: np.ndarray) -> np.ndarray:
        """ORGAN's ``remap(mean_distance, 0.9, 0.945)``, clipped."""
        return remap(raw, self.low, self.high)


class Diversity(Reward):
    """Tanimoto distance (Morgan fingerprints) to a reference sample, as ORGAN's diversity.

    Parameters
    ----------
    reference_smiles : sequence of str
        Usually the training set; ``sample_size`` valid molecules are drawn with ``seed``.
    sample_size, radius, n_bits, low, high, seed
        ORGAN's defaults: 100 molecules, radius 4, 2,048 bits, [0.9, 0.945] → [0, 1].
    raw : bool
        Return the mean distance itself.
    n_workers, backend, cache_size
        See :class:`~asktell_chem.rewards.base.Reward`.

    Examples
    --------
    >>> d = Diversity(["CCO", "CCN", "c1ccccc1"], raw=True)
    >>> d(["CCO", "C1CCCCC1CCCCCC"]).round(3).tolist()
    [0.556, 0.943]
    """

    def __init__(self, reference_smiles: Sequence[str], *, sample_size: int = 100,
                 radius: int = 4, n_bits: int = 2048, low: float = 0.9, high: float = 0.945,
                 seed: int = 0, raw: bool = False, n_workers: int = 1, backend: str = "loky",
                 cache_size: int = 100_000) -> None:
        term = DiversityTerm(reference_smiles, sample_size=sample_size, radius=radius,
                             n_bits=n_bits, low=low, high=high, seed=seed)
        super().__init__([term], raw=raw, n_workers=n_workers, backend=backend,
                         cache_size=cache_size)
