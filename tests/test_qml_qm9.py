"""QM9 loader: the shipped subset, energies, the cache, and the message without qm9pack."""

import importlib.util
import os

import numpy as np
import pytest

from asktell_qml import qm9
from asktell_qml.qm9 import (
    HARTREE_TO_KCAL_MOL,
    QM9Data,
    atomization_energy,
    cache_dir,
    load_qm9,
    load_qm9_subset,
)

HAVE_QM9PACK = importlib.util.find_spec("qm9pack") is not None


def test_methane_atomization_energy():
    e = atomization_energy(np.array([[6, 1, 1, 1, 1, 0]]), np.array([-40.47893]))
    assert e[0] == pytest.approx(-396.0, abs=0.05)
    with pytest.raises(ValueError, match="no atomic reference"):
        atomization_energy(np.array([[16, 1]]), np.array([-1.0]))


def test_subset_is_consistent():
    d = load_qm9_subset()
    assert len(d) == 2500 and len(set(d.index.tolist())) == 2500
    assert d.Z.shape == (2500, 29) and d.R.shape == (2500, 29, 3)
    assert d.R.dtype == np.float64 and d.index.dtype == np.int64
    np.testing.assert_array_equal((d.Z > 0).sum(axis=1), d.n_atoms)
    assert np.all(d.R[d.Z == 0] == 0)
    assert set(np.unique(d.Z).tolist()) <= {0, 1, 6, 7, 8, 9}
    # Atomization energies of QM9 lie between about -2,600 and -200 kcal/mol.
    assert np.all((d.atomization_energy < -200) & (d.atomization_energy > -2700))
    heavy = (d.Z > 1).sum(axis=1)
    assert heavy.max() == 9
    assert all(isinstance(s, str) and s for s in d.smiles)


def test_subset_selection():
    d = load_qm9_subset()
    s = d.subset([5, 0])
    assert s.index.tolist() == [d.index[5], d.index[0]]
    assert s.smiles == [d.smiles[5], d.smiles[0]]
    m = d.subset(d.n_atoms > 20)
    assert len(m) == int((d.n_atoms > 20).sum())
    with pytest.raises(ValueError, match="rows"):
        QM9Data(index=np.arange(2), smiles=["C"], n_atoms=np.ones(2), Z=np.ones((2, 29)),
                R=np.zeros((2, 29, 3)), U0=np.zeros(2), atomization_energy=np.zeros(2))


def test_cache_dir_respects_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("ASKTELL_CACHE", str(tmp_path / "a"))
    assert cache_dir() == tmp_path / "a"
    monkeypatch.delenv("ASKTELL_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert cache_dir() == tmp_path / "x" / "asktell"


def test_missing_qm9pack_names_the_extra(monkeypatch):
    monkeypatch.setattr(qm9.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ImportError, match=r'pip install "asktell\[qml\]"'):
        load_qm9()


def _fake_qm9pack(tmp_path, monkeypatch):
    """A qm9pack-shaped folder holding three molecules of real QM9 rows."""
    pkg = tmp_path / "fake" / "qm9pack"
    (pkg / "data").mkdir(parents=True)
    header = ("XYZ_file,Index,SMILES,InChi,N_atoms,Stoichiometry,Elements,XYZ_Ang,"
              "InternalEnergy_0K_au\n")
    rows = [
        '"dsgdb9nsd_000001.xyz",1,"C","x",5,"[4,1,0,0,0]","[\'C\',\'H\',\'H\',\'H\',\'H\']",'
        '"[[-0.0126981359,1.0858041578,0.0080009958],[0.002150416,-0.0060313176,0.0019761204],'
        '[1.0117308433,1.4637511618,0.0002765748],[-0.540815069,1.4475266138,-0.8766437152],'
        '[-0.5238136345,1.4379326443,0.9063972942]]",-40.47893\n',
        '"dsgdb9nsd_000002.xyz",2,"N","x",4,"[3,0,1,0,0]","[\'N\',\'H\',\'H\',\'H\']",'
        '"[[-0.0404260543,1.0241077531,0.0625637998],[0.0172574639,0.0125452063,-0.0273771593],'
        '[0.9157893661,1.3587451948,-0.0287577581],[-0.5202777357,1.3435321258,-0.7755426124]]",'
        '-56.525887\n',
        '"dsgdb9nsd_000003.xyz",3,"O","x",3,"[2,0,0,1,0]","[\'O\',\'H\',\'H\']",'
        '"[[-0.0343604951,0.9775395708,0.0076015923],[0.,-0.0060313176,1.2E-6],'
        '[0.8981010,1.3587451948,0.]]",-76.404702\n',
    ]
    for i, r in enumerate(rows, start=1):
        (pkg / "data" / f"qm9_part{i}.csv").write_text(header + r)
    (pkg / "__init__.py").write_text("raise ImportError('must not be imported')\n")
    spec = importlib.util.spec_from_file_location("qm9pack", pkg / "__init__.py",
                                                  submodule_search_locations=[str(pkg)])
    monkeypatch.setattr(qm9.importlib.util, "find_spec", lambda name: spec)
    monkeypatch.setenv("ASKTELL_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "qm9-v1.npz"


def test_parse_cache_and_corrupt_cache(tmp_path, monkeypatch):
    cache = _fake_qm9pack(tmp_path, monkeypatch)
    d = load_qm9()
    assert d.index.tolist() == [1, 2, 3] and d.smiles == ["C", "N", "O"]
    assert d.n_atoms.tolist() == [5, 4, 3]
    assert d.atomization_energy[0] == pytest.approx(-396.0, abs=0.05)
    assert d.R[2, 1].tolist() == [0.0, -0.0060313176, 1.2e-6]  # "0." and "1.2E-6" literals
    assert d.Z[2].tolist()[:4] == [8, 1, 1, 0]
    assert cache.is_file()
    assert not [p for p in cache.parent.iterdir() if p.suffix == ".tmp"]
    again = load_qm9()
    np.testing.assert_array_equal(again.R, d.R)
    cache.write_bytes(b"truncated")
    fixed = load_qm9()
    np.testing.assert_array_equal(fixed.R, d.R)
    with np.load(cache) as f:
        assert f["R"].shape == (3, 29, 3)
    uncached = load_qm9(cache=False)
    np.testing.assert_array_equal(uncached.U0, d.U0)
    assert HARTREE_TO_KCAL_MOL == 627.509474


def test_killed_write_leaves_no_cache(tmp_path, monkeypatch):
    _fake_qm9pack(tmp_path, monkeypatch)

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(qm9.np, "savez_compressed", boom)
    with pytest.raises(KeyboardInterrupt):
        load_qm9()
    folder = tmp_path / "cache"
    assert not folder.exists() or os.listdir(folder) == []


@pytest.mark.skipif(not HAVE_QM9PACK, reason="full QM9 needs qm9pack (asktell[qml])")
def test_full_qm9():
    d = load_qm9()
    assert len(d) == 130831
    i = d.smiles.index("C")
    assert d.atomization_energy[i] == pytest.approx(-396.0, abs=0.05)
    sub = load_qm9_subset()
    pos = np.searchsorted(d.index, sub.index)
    np.testing.assert_array_equal(d.index[pos], sub.index)
    np.testing.assert_allclose(d.R[pos], sub.R, atol=6e-7)
    np.testing.assert_array_equal(d.U0[pos], sub.U0)
