"""MOSES-style metrics against values computed by hand."""

import itertools

import numpy as np
import pytest

pytest.importorskip("rdkit")

from rdkit import Chem, DataStructs
from rdkit.Chem import rdFingerprintGenerator

from asktell_chem import metrics as M

GEN = ["CCO", "OCC", "c1ccccc1", "C1CC", "", "CCN", "CC(=O)O", "CCO"]
TRAIN = ["C(C)O", "CC(O)=O"]


def test_validity_uniqueness_novelty_by_hand():
    assert M.fraction_valid(GEN) == 6 / 8
    valid = [s for s in GEN if Chem.MolFromSmiles(s) is not None and s]
    # canonical: CCO, CCO, c1ccccc1, CCN, CC(=O)O, CCO -> 4 distinct of 6
    assert M.fraction_unique(valid) == 4 / 6
    assert M.fraction_unique(valid, k=3) == 2 / 3
    with pytest.raises(ValueError, match="invalid molecule"):
        M.fraction_unique(GEN)
    # distinct valid: CCO, benzene, CCN, acetic acid; in training: CCO, acetic acid
    assert M.novelty(GEN, TRAIN) == 2 / 4


def brute_intdiv(smiles, p):
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=1024)
    fps = [gen.GetFingerprint(Chem.MolFromSmiles(s)) for s in smiles]
    rows = []
    for a in fps:
        sims = [DataStructs.TanimotoSimilarity(a, b) for b in fps]
        rows.append(np.mean(np.power(sims, p)) ** (1 / p))
    return 1 - np.mean(rows)


@pytest.mark.parametrize("p", [1, 2])
def test_internal_diversity_matches_pairwise_tanimoto(p):
    smiles = ["CCO", "CCN", "c1ccccc1", "CC(=O)Oc1ccccc1C(=O)O", "CCO"]
    assert M.internal_diversity(smiles, p=p) == pytest.approx(brute_intdiv(smiles, p), abs=1e-12)
    # blocks give the same answer
    assert M.internal_diversity(smiles, p=p, block=2) == pytest.approx(
        M.internal_diversity(smiles, p=p), abs=1e-15)

    fps = M.morgan_fingerprints(smiles)
    assert M.internal_diversity(fingerprints=fps, p=p) == M.internal_diversity(smiles, p=p)


def test_internal_diversity_needs_smiles_or_fingerprints():
    with pytest.raises(TypeError, match="smiles or fingerprints"):
        M.internal_diversity()


def test_tanimoto_of_empty_fingerprints_is_one_as_in_moses():
    z = np.zeros((2, 8), dtype=np.uint8)
    assert M.tanimoto_matrix(z, z).tolist() == [[1.0, 1.0], [1.0, 1.0]]


def test_sequence_stats_expose_degenerate_repeats():
    s = M.sequence_stats(["C" * 40, "CCO"])
    assert s["max_run_max"] == 40 and s["max_run_mean"] == (40 + 2) / 2
    assert s["length_mean"] == 21.5 and s["tokens_mean"] == 21.5
    # bracket atoms and ring-closure labels are one token each
    assert M.sequence_stats(["[NH4+][NH4+]"])["max_run_max"] == 2


def test_metrics_summary():
    out = M.metrics(GEN, TRAIN, k=(3, 100))
    assert out["valid"] == 6 / 8 and out["unique@3"] == 2 / 3 and "unique@100" not in out
    assert out["novelty"] == 0.5
    valid = ["CCO", "CCO", "c1ccccc1", "CCN", "CC(=O)O", "CCO"]
    assert out["IntDiv"] == pytest.approx(brute_intdiv(valid, 1), abs=1e-12)
    assert out["IntDiv2"] == pytest.approx(brute_intdiv(valid, 2), abs=1e-12)


def test_fingerprints_reject_invalid_smiles():
    with pytest.raises(ValueError, match="item 1 is not a valid SMILES"):
        M.morgan_fingerprints(["CCO", "C1CC"])


def test_fcd_needs_fcd_torch_or_runs():
    try:
        import fcd_torch  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="pip install fcd_torch"):
            M.fcd(["CCO"], ["CCO"])
        return
    same = ["CCO", "CCN", "c1ccccc1", "CC(=O)O"] * 5
    assert M.fcd(same, same) == pytest.approx(0.0, abs=1e-3)


def test_unique_at_k_warns_when_short():
    with pytest.warns(UserWarning, match="unique@10"):
        M.fraction_unique(["CCO"], k=10)
    assert list(itertools.islice(M.canonical_smiles(["OCC"]), 1)) == ["CCO"]
