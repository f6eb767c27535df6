"""Generation metrics with MOSES's definitions, plus length and token-repeat statistics.

Definitions follow ``moses/metrics/metrics.py`` and ``moses/metrics/utils.py`` of molsets 0.3.1
[MOSES]_ exactly:

- validity: fraction of strings RDKit parses and sanitises (the empty string is invalid);
- unique@k: distinct canonical SMILES among the first k *valid* molecules, over k;
- novelty: fraction of the distinct valid canonical SMILES that are not in the training set;
- IntDiv_p: ``1 − mean_i (mean_j T(i, j)^p)^(1/p)`` over all ordered pairs of the valid
  molecules, the pair of a molecule with itself included, T the Tanimoto similarity of Morgan
  fingerprints (radius 2, 1,024 bits) and 0/0 taken as 1.

Strings made of long repeats of one token fooled MOSES's metrics for ORGAN
(molecularsets/moses#21), so :func:`sequence_stats` reports lengths and the longest run of one
token.

References
----------
.. [MOSES] Polykovskiy et al. (2020). Molecular Sets (MOSES): A benchmarking platform for
   molecular generation models. Front. Pharmacol. 11, 565644. doi:10.3389/fphar.2020.565644
.. [FCD] Preuer, Renz, Unterthiner, Hochreiter & Klambauer (2018). Fréchet ChemNet Distance.
   J. Chem. Inf. Model. 58(9), 1736–1741. doi:10.1021/acs.jcim.8b00234
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from ._rdkit import canonical, parse
from .rewards.base import check_smiles
from .rewards.novelty import canonical_set
from .tokenizer import tokenize

__all__ = [
    "canonical_smiles",
    "fcd",
    "fraction_unique",
    "fraction_valid",
    "internal_diversity",
    "metrics",
    "morgan_fingerprints",
    "novelty",
    "sequence_stats",
    "tanimoto_matrix",
]


def canonical_smiles(smiles: Sequence[str]) -> list[str | None]:
    """RDKit-canonical SMILES of each string (None where invalid)."""
    out: list[str | None] = []
    for s in check_smiles(smiles):
        mol = parse(s)
        out.append(None if mol is None else canonical(mol))
    return out


def fraction_valid(smiles: Sequence[str]) -> float:
    """Fraction of strings RDKit parses and sanitises (MOSES ``fraction_valid``).

    Examples
    --------
    >>> round(fraction_valid(["CCO", "C1CC", "", "c1ccccc1"]), 3)
    0.5
    """
    can = canonical_smiles(smiles)
    if not can:
        raise ValueError("fraction_valid needs at least one SMILES")
    return 1 - can.count(None) / len(can)


def fraction_unique(smiles: Sequence[str], k: int | None = None, *,
                    check_validity: bool = True) -> float:
    """unique@k: distinct canonical SMILES among the first ``k`` strings, over their number
    (MOSES ``fraction_unique``; MOSES passes it the valid molecules only).

    Raises
    ------
    ValueError
        If an invalid SMILES is among them and ``check_validity`` is true (as MOSES does).

    Examples
    --------
    >>> fraction_unique(["CCO", "OCC", "CCN", "c1ccccc1"])
    0.75
    """
    items = check_smiles(smiles)
    if k is not None:
        if len(items) < k:
            warnings.warn(f"can't compute unique@{k}: only {len(items)} molecules",
                          stacklevel=2)
        items = items[:k]
    if not items:
        raise ValueError("fraction_unique needs at least one SMILES")
    distinct = set(canonical_smiles(items))
    if None in distinct and check_validity:
        raise ValueError("invalid molecule passed to unique@k")
    return len(distinct) / len(items)


def novelty(smiles: Sequence[str], training: Iterable[str], *,
            training_canonical: bool = False) -> float:
    """Fraction of distinct valid canonical SMILES not in the (canonical) training set.

    Parameters
    ----------
    smiles : sequence of str
        Generated molecules.
    training : iterable of str
        Training molecules (canonicalised here unless ``training_canonical``).
    training_canonical : bool
        The training SMILES are RDKit-canonical already (MOSES's are).

    Examples
    --------
    >>> novelty(["CCO", "OCC", "CCN", "xx"], ["C(O)C"])
    0.5
    """
    gen = set(canonical_smiles(smiles)) - {None}
    if not gen:
        raise ValueError("novelty needs at least one valid generated SMILES")
    train = canonical_set(training, already_canonical=training_canonical)
    return len(gen - train) / len(gen)


def morgan_fingerprints(smiles: Sequence[str], *, radius: int = 2,
                        n_bits: int = 1024) -> np.ndarray:
    """Morgan bit fingerprints of valid SMILES as a uint8 array (n, n_bits) (MOSES's
    ``fingerprint(fp_type="morgan")``). Raises ``ValueError`` naming an invalid string."""
    from rdkit.Chem import rdFingerprintGenerator

    mols = []
    for i, s in enumerate(check_smiles(smiles)):
        m = parse(s)
        if m is None:
            raise ValueError(f"item {i} is not a valid SMILES: {s!r}")
        mols.append(m)
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=radius, fpSize=n_bits)
    out = np.zeros((len(mols), n_bits), dtype=np.uint8)
    for i, m in enumerate(mols):  # RDKit fills each row in C++ (no per-bit Python work)
        out[i] = gen.GetFingerprintAsNumPy(m)
    return out


def tanimoto_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Tanimoto similarities between two sets of bit fingerprints (rows), 0/0 → 1 as MOSES."""
    a = np.asarray(a, dtype=np.float32)
    b = np.asarray(b, dtype=np.float32)
    # bit counts are integers < 2^24: the float32 product is exact, and fast (BLAS)
    inter = (a @ b.T).astype(np.float64)
    union = a.sum(1, dtype=np.float64)[:, None] + b.sum(1, dtype=np.float64)[None, :] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        t = inter / union
    t[union == 0] = 1.0
    return t


def internal_diversity(smiles: Sequence[str] | None = None, *, p: int = 1,
                       fingerprints: np.ndarray | None = None,
                       block: int = 4096) -> float:
    """IntDiv_p of a set of valid molecules (MOSES ``internal_diversity``).

    Parameters
    ----------
    smiles : sequence of str, optional
        Valid SMILES (duplicates count, as in MOSES).
    p : int
        Power (MOSES reports p = 1 and p = 2).
    fingerprints : array (n, n_bits), optional
        Precomputed :func:`morgan_fingerprints`, instead of ``smiles``.
    block : int
        Rows per block of the similarity matrix (memory: block × n float64).

    Raises
    ------
    TypeError
        If neither ``smiles`` nor ``fingerprints`` is given.

    Examples
    --------
    >>> round(internal_diversity(["CCO", "CCO"]), 6)
    0.0
    """
    if fingerprints is not None:
        fps = np.asarray(fingerprints)
    elif smiles is not None:
        fps = morgan_fingerprints(smiles)
    else:
        raise TypeError("internal_diversity needs smiles or fingerprints, got neither")
    n = len(fps)
    if n == 0:
        raise ValueError("internal_diversity needs at least one molecule")
    per_row = np.empty(n)
    for a in range(0, n, block):
        t = tanimoto_matrix(fps[a:a + block], fps)
        per_row[a:a + block] = (t**p).mean(axis=1) if p != 1 else t.mean(axis=1)
    if p != 1:
        per_row = per_row ** (1.0 / p)
    return float(1.0 - per_row.mean())


def sequence_stats(smiles: Sequence[str]) -> dict[str, float]:
    """Lengths and token repeats: what exposes degenerate generators (moses#21).

    Returns
    -------
    dict
        ``length_mean``/``length_max`` (characters), ``tokens_mean``, ``max_run_mean`` (mean
        over strings of the longest run of one repeated token) and ``max_run_max``.

    Examples
    --------
    >>> sequence_stats(["CCCCCC", "c1ccccc1"])["max_run_max"]
    6.0
    """
    items = check_smiles(smiles)
    if not items:
        raise ValueError("sequence_stats needs at least one SMILES")
    toks = [tokenize(s) for s in items]
    runs = np.array([max((len(list(g)) for _, g in itertools.groupby(t)), default=0)
                     for t in toks], dtype=float)
    lengths = np.array([len(s) for s in items], dtype=float)
    return {
        "length_mean": float(lengths.mean()),
        "length_max": float(lengths.max()),
        "tokens_mean": float(np.mean([len(t) for t in toks])),
        "max_run_mean": float(runs.mean()),
        "max_run_max": float(runs.max()),
    }


def fcd(smiles: Sequence[str], reference: Sequence[str], *, device: str = "cpu") -> float:
    """Fréchet ChemNet Distance [FCD]_ through the ``fcd_torch`` package, which ships ChemNet's
    weights (so it runs offline). ``pip install fcd_torch`` to use it.

    Raises
    ------
    ImportError
        If ``fcd_torch`` is not installed.
    """
    try:
        from fcd_torch import FCD
    except ImportError as e:
        raise ImportError("FCD needs the fcd_torch package (ChemNet weights included): "
                          "pip install fcd_torch") from e
    return float(FCD(device=device, n_jobs=1)(check_smiles(smiles), check_smiles(reference)))


def metrics(smiles: Sequence[str], training: Iterable[str] | None = None, *,
            k: Sequence[int] = (1000, 10000), training_canonical: bool = False) -> dict[str, Any]:
    """MOSES's headline metrics for a generated sample: valid, unique@k, novelty, IntDiv,
    IntDiv2, plus :func:`sequence_stats` (FCD is separate: :func:`fcd`).

    Parameters
    ----------
    smiles : sequence of str
        The sample, invalid strings included.
    training : iterable of str, optional
        Training set for novelty.
    k : sequence of int
        unique@k sizes (skipped, with a note, when the sample has fewer valid molecules).
    training_canonical : bool
        See :func:`novelty`.
    """
    items = check_smiles(smiles)
    can = canonical_smiles(items)
    out: dict[str, Any] = {"n": len(items), "valid": 1 - can.count(None) / len(items)}
    valid = [c for c in can if c is not None]
    for kk in k:
        if len(valid) >= kk:
            out[f"unique@{kk}"] = len(set(valid[:kk])) / kk
    if valid:
        out["unique"] = len(set(valid)) / len(valid)
        if training is not None:
            out["novelty"] = novelty(valid, training, training_canonical=training_canonical)
        fps = morgan_fingerprints(valid)
        out["IntDiv"] = internal_diversity(fingerprints=fps, p=1)
        out["IntDiv2"] = internal_diversity(fingerprints=fps, p=2)
    out.update(sequence_stats(items))
    return out
