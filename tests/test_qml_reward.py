"""The KRR surrogate reward: SMILES and (Z, R) candidates, failures as NaN."""

import numpy as np
import pytest

import asktell
from asktell_qml import KernelRidge, KRRSurrogate, coulomb_matrices, embed_smiles, load_qm9_subset


@pytest.fixture(scope="module")
def reward():
    data = load_qm9_subset()
    X = coulomb_matrices(data.Z, data.R)
    model = KernelRidge("wasserstein", sigma=2.0, lam=1e-3).fit(X[:2000],
                                                                 data.atomization_energy[:2000])
    return KRRSurrogate(model)


def test_registered_as_reward():
    assert asktell.get("reward", "krr-surrogate") is KRRSurrogate


def test_geometries_from_the_data_are_predicted_well(reward):
    data = load_qm9_subset().subset(range(2000, 2200))
    cands = [(z[z > 0], r[z > 0]) for z, r in zip(data.Z, data.R)]
    pred = reward(cands)
    assert np.isfinite(pred).all()
    assert np.mean(np.abs(pred - data.atomization_energy)) < 15.0


def test_smiles_are_embedded_and_scored(reward):
    pytest.importorskip("rdkit")
    data = load_qm9_subset().subset(range(2000, 2030))
    pred = reward(data.smiles)
    ok = np.isfinite(pred)
    assert ok.mean() > 0.9
    # RDKit/MMFF geometries differ from QM9's B3LYP ones: a looser bound than for (Z, R).
    assert np.mean(np.abs(pred[ok] - data.atomization_energy[ok])) < 40.0


def test_unscorable_candidates_are_nan_and_recorded(reward):
    pytest.importorskip("rdkit")
    big = "C" * 12  # 12 C + 26 H = 38 atoms > 29
    values = reward(["CCO", "not a smiles", "CS", big, ([6, 1], [[0, 0, 0], [np.nan, 0, 0]])])
    assert np.isfinite(values[0])
    assert np.isnan(values[1:]).all()
    msgs = {e.index: e.error for e in values.errors}
    assert "parse" in msgs[1]
    assert "outside QM9" in msgs[2]
    assert "holds 29" in msgs[3]
    assert "not finite" in msgs[4]


def test_sign_and_determinism(reward):
    pytest.importorskip("rdkit")
    neg = KRRSurrogate(reward.model, sign=-1.0)
    a, b = reward(["CC(C)C(O)CC#N"]), neg(["CC(C)C(O)CC#N"])
    assert a[0] == pytest.approx(-b[0])
    np.testing.assert_array_equal(reward(["CC(C)C(O)CC#N"]), a)
    Z, R = embed_smiles("CC(C)C(O)CC#N")
    assert len(Z) == len(R) == 19


def test_unfitted_model_is_rejected():
    with pytest.raises(ValueError, match="fitted"):
        KRRSurrogate(KernelRidge())
