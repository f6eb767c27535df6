"""RDKit rewards: each against RDKit computed directly, the engine's sharing, cache, workers and
failure isolation."""

import functools
import pickle

import numpy as np
import pytest

pytest.importorskip("rdkit")

from rdkit import Chem, DataStructs
from rdkit.Chem import QED as RDQED
from rdkit.Chem import Crippen, Descriptors, Lipinski, rdFingerprintGenerator

import asktell
from asktell_chem import qm9_5k
from asktell_chem._rdkit import contrib
from asktell_chem.rewards import (
    Composite,
    Reward,
    Term,
    Uniqueness,
    reward_from_config,
)

ASPIRIN = "CC(=O)Oc1ccccc1C(=O)O"
CAFFEINE = "Cn1cnc2c1c(=O)n(C)c(=O)n2C"
BENZENE = "c1ccccc1"
INVALID = "C1CC(=O"
EMPTY = ""
BATCH = [ASPIRIN, CAFFEINE, BENZENE, INVALID, EMPTY]
VALID = [ASPIRIN, CAFFEINE, BENZENE]


def direct(f):
    return np.array([f(Chem.MolFromSmiles(s)) for s in VALID])


@functools.cache
def np_model():
    return contrib("NP_Score.npscorer").readNPModel()


def clip01(x):
    return np.clip(x, 0, 1)


REFERENCES = {
    "qed": (lambda m: RDQED.qed(m), lambda x: x),
    "logp": (Crippen.MolLogP,
             lambda x: clip01((x + 2.12178879609) / (6.0429063424 + 2.12178879609))),
    "sa": (lambda m: contrib("SA_Score.sascorer").calculateScore(m),
           lambda x: clip01((x - 5) / (1.5 - 5))),
    "np-likeness": (
        lambda m: contrib("NP_Score.npscorer").scoreMol(m, np_model()),
        lambda x: clip01((x + 3) / 4)),
    "lipinski": (
        lambda m: float((Descriptors.MolWt(m) <= 500) + (Crippen.MolLogP(m) <= 5)
                        + (Lipinski.NumHDonors(m) <= 5) + (Lipinski.NumHAcceptors(m) <= 10)),
        lambda x: x / 4),
}


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_property_rewards_match_rdkit(name):
    prop, norm = REFERENCES[name]
    expected_raw = direct(prop)
    reward = asktell.get("reward", name)()
    values = reward(BATCH)
    np.testing.assert_allclose(values[:3], norm(expected_raw), rtol=1e-12)
    assert values[3] == 0 and values[4] == 0  # invalid and empty strings score 0
    assert np.all((values >= 0) & (values <= 1))
    raw = asktell.get("reward", name)(raw=True)(BATCH)
    np.testing.assert_allclose(raw[:3], expected_raw, rtol=1e-12)
    assert np.isnan(raw[3:]).all()  # raw: an invalid SMILES is NaN (a failed evaluation)


def test_known_values_of_the_molecules():
    # Independent anchors, so the reference lambdas above are not the only check.
    assert asktell.get("reward", "logp")(raw=True)([BENZENE])[0] == pytest.approx(1.6866, abs=1e-4)
    assert asktell.get("reward", "lipinski")(raw=True)(VALID).tolist() == [4.0, 4.0, 4.0]
    assert asktell.get("reward", "sa")()([BENZENE])[0] == 1.0  # SA(benzene) = 1 → clipped to 1


def test_validity():
    assert asktell.get("reward", "validity")()(BATCH).tolist() == [1, 1, 1, 0, 0]


def test_novelty_compares_canonical_smiles():
    train = qm9_5k()[:500]
    nov = asktell.get("reward", "novelty")(training_smiles=train)
    assert nov(train).sum() == 0  # the training set against itself
    # a non-canonical spelling of a training molecule is not novel (ORGAN counted it novel)
    mol = Chem.MolFromSmiles(train[0])
    other = Chem.MolToSmiles(mol, doRandom=True, canonical=False)
    if other == train[0]:
        other = Chem.MolToSmiles(mol, rootedAtAtom=mol.GetNumAtoms() - 1, canonical=False)
    assert other != train[0]
    assert nov([other, CAFFEINE, INVALID]).tolist() == [0.0, 1.0, 0.0]


def test_diversity_matches_bulk_tanimoto():
    ref = qm9_5k()[:300]
    d = asktell.get("reward", "diversity")(reference_smiles=ref, sample_size=50, seed=3,
                                           raw=True)
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=4, fpSize=2048)
    order = np.random.default_rng(3).permutation(len(ref))[:50]
    ref_fps = [gen.GetFingerprint(Chem.MolFromSmiles(ref[i])) for i in order]
    expected = [np.mean(DataStructs.BulkTanimotoSimilarity(
        gen.GetFingerprint(Chem.MolFromSmiles(s)), ref_fps, returnDistance=True)) for s in VALID]
    np.testing.assert_allclose(d(VALID), expected, rtol=1e-12)
    norm = asktell.get("reward", "diversity")(reference_smiles=ref, sample_size=50, seed=3)
    np.testing.assert_allclose(norm(VALID), np.clip((np.array(expected) - 0.9) / 0.045, 0, 1))


def test_substructure():
    r = asktell.get("reward", "substructure")
    assert r("c1ccccc1")(BATCH).tolist() == [1, 0, 1, 0, 0]
    assert r(["[#6]=[#8]", "n"], require="all")(BATCH).tolist() == [0, 1, 0, 0, 0]
    assert r(["C(=O)O", "n"], require="any")(BATCH).tolist() == [1, 1, 0, 0, 0]
    with pytest.raises(ValueError, match="pattern 1 is not a valid SMARTS"):
        r(["c", "C(("])


def test_uniqueness_wrapper_on_known_duplicates():
    batch = ["CCO", "OCC", "CCO", "CCN", "c1ccccc1", INVALID]
    validity = asktell.get("reward", "validity")()
    u = Uniqueness(validity)  # duplicates by molecule: CCO ×3, CCN, benzene, invalid
    frac = 4 / 6
    np.testing.assert_allclose(u(batch), [frac / 3] * 3 + [frac, frac, 0.0])
    s = Uniqueness(validity, by="string")  # ORGAN: by string, "OCC" differs from "CCO"
    frac = 5 / 6
    np.testing.assert_allclose(s(batch), [frac / 2, frac, frac / 2, frac, frac, 0.0])
    by_name = asktell.get("reward", "uniqueness")("qed")
    np.testing.assert_allclose(by_name(["c1ccccc1", "c1ccccc1"]),
                               RDQED.qed(Chem.MolFromSmiles(BENZENE)) * 0.5 / 2)


def test_composite_equals_its_parts():
    names = {"qed": 2.0, "logp": 1.0, "sa": 0.5, "validity": 1.0}
    parts = np.stack([asktell.get("reward", n)()(BATCH) for n in names], axis=1)
    w = np.array(list(names.values())) / sum(names.values())
    arith = Composite(names)(BATCH)
    np.testing.assert_allclose(arith, parts @ w, rtol=1e-12)
    geo = Composite(names, mean="geometric")(BATCH)
    with np.errstate(divide="ignore"):
        np.testing.assert_allclose(geo, np.exp(np.log(parts) @ w), rtol=1e-12)
    assert geo[3] == 0 and arith[4] == 0


def test_composite_parses_each_string_once(monkeypatch):
    import asktell_chem.rewards.base as base

    calls = []
    real = base.parse
    monkeypatch.setattr(base, "parse", lambda s: calls.append(s) or real(s))
    batch = [*VALID, ASPIRIN]  # a repeat is scored once
    Composite({"qed": 1, "logp": 1, "sa": 1, "np-likeness": 1, "lipinski": 1})(batch)
    assert sorted(calls) == sorted(VALID)


def test_composite_from_toml_section(tmp_path):
    import tomllib

    text = """
    [reward]
    mean = "arithmetic"
    uniqueness = true
    [reward.terms]
    qed = 1.0
    logp = { weight = 0.5 }
    """
    section = tomllib.loads(text)["reward"]
    r = reward_from_config(section)
    expected = Composite({"qed": 1.0, "logp": 0.5})(["CCO", "CCO", "c1ccccc1"])
    np.testing.assert_allclose(r(["CCO", "CCO", "c1ccccc1"]),
                               expected * (2 / 3) / np.array([2, 2, 1]))
    one = reward_from_config({"name": "qed"})
    assert one([BENZENE])[0] == pytest.approx(RDQED.qed(Chem.MolFromSmiles(BENZENE)))
    with pytest.raises(ValueError, match="name"):
        reward_from_config({"mean": "geometric"})
    with pytest.raises(KeyError, match="no-such-reward"):
        reward_from_config({"terms": {"no-such-reward": 1}})


@pytest.mark.parametrize("bad, pos, kind", [
    (["CCO", None], 1, "NoneType"),
    ([b"CCO"], 0, "bytes"),
    (["CCO", "CC", 3.5], 2, "float"),
])
def test_malformed_input_names_the_position(bad, pos, kind):
    with pytest.raises(TypeError, match=f"item {pos} is {kind}"):
        asktell.get("reward", "qed")()(bad)


def test_a_single_string_is_rejected():
    with pytest.raises(TypeError, match="wrap it in a list"):
        asktell.get("reward", "qed")()("CCO")


class Explodes(Term):
    """Raises on molecules with a nitrogen, like an RDKit routine failing on one input."""

    name = "explodes"

    def compute(self, mol, shared):
        if any(a.GetSymbol() == "N" for a in mol.GetAtoms()):
            raise RuntimeError("boom on a nitrogen")
        return 0.5


@pytest.mark.parametrize("n_workers", [1, 2])
def test_one_molecule_that_raises_does_not_lose_the_batch(n_workers):
    with Reward([Explodes()], n_workers=n_workers) as r:
        values = r(["CCO", "CCN", "c1ccccc1", INVALID])
    assert values.tolist() == [0.5, 0.0, 0.5, 0.0]
    assert [e.index for e in values.errors] == [1]
    assert "boom on a nitrogen" in values.errors[0].error


def test_parallel_equals_sequential_and_cache_hits():
    smiles = qm9_5k()[:400]
    seq = Composite({"qed": 1, "sa": 1, "logp": 1})
    with Composite({"qed": 1, "sa": 1, "logp": 1}, n_workers=2) as par:
        np.testing.assert_array_equal(par(smiles), seq(smiles))
    ev = seq._get_evaluator()
    before = ev.n_evaluated
    again = seq(smiles[::-1] + smiles[:10])
    np.testing.assert_array_equal(again[:400], seq(smiles)[::-1])
    assert ev.n_evaluated == before  # all hits
    # a non-canonical spelling is scored once; its canonical form is then a hit
    spelled = "C1=CC=CC=C1O"
    seq([spelled])
    n = ev.n_evaluated
    seq(["Oc1ccccc1"])
    assert ev.n_evaluated == n


def test_cache_is_bounded():
    r = Composite({"qed": 1}, cache_size=50)
    r(qm9_5k()[:200])
    assert len(r._get_evaluator()._cache) <= 50


def test_rewards_pickle_and_keep_scoring():
    r = Composite({"qed": 1, "diversity": {"weight": 1, "reference_smiles": qm9_5k()[:100]},
                   "substructure": {"weight": 1, "smarts": "[#8]"}})
    first = r(VALID)
    clone = pickle.loads(pickle.dumps(r))
    np.testing.assert_array_equal(clone(VALID), first)


def test_a_reward_drives_the_controller_as_an_evaluator():
    """A reward is a batch evaluator: any optimiser over strings can be told its values."""
    from string_optimiser import StringEvolver

    from asktell import Controller

    opt = StringEvolver("CCO", seed=0, direction="maximise")
    result = Controller(opt, asktell.get("reward", "qed")(), stop={"max_iterations": 5}).run()
    assert result.evaluations == 30
    assert opt.fbest() >= asktell.get("reward", "qed")()(["CCO"])[0]


def test_score_smiles_example_writes_csv_and_histogram(tmp_path):
    import csv
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[1] / "examples" / "score_smiles.py"
    spec = importlib.util.spec_from_file_location("score_smiles", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    (tmp_path / "in.smi").write_text("\n".join([*BATCH[:4], "CCO", "OCC"]) + "\n")
    (tmp_path / "cfg.toml").write_text(
        'input = "in.smi"\n[reward]\nuniqueness = true\n[reward.terms]\nqed = 1\nsa = 1\n')
    assert mod.main([str(tmp_path / "cfg.toml"), "--out", str(tmp_path / "out"),
                     "--chunk", "4"]) == 0
    rows = list(csv.DictReader(open(tmp_path / "out" / "scores.csv")))
    assert [r["smiles"] for r in rows] == [*BATCH[:4], "CCO", "OCC"]
    assert rows[3]["canonical"] == "" and float(rows[3]["reward"]) == 0
    assert rows[5]["canonical"] == "CCO"
    expected = Uniqueness(Composite({"qed": 1, "sa": 1}))
    chunk1, chunk2 = expected(BATCH[:4]), expected(["CCO", "OCC"])
    np.testing.assert_allclose([float(r["reward"]) for r in rows],
                               np.concatenate([chunk1, chunk2]), rtol=1e-5)
    assert float(rows[0]["qed"]) == pytest.approx(RDQED.qed(Chem.MolFromSmiles(ASPIRIN)),
                                                  rel=1e-5)
    assert (tmp_path / "out" / "histogram.png").stat().st_size > 1000
