"""SMILES data sets and the tokeniser."""

import gzip
import importlib.util
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("rdkit")

from rdkit import Chem

from asktell_chem import SmilesTokenizer, load_moses, load_smiles, qm9_5k, tokenize
from asktell_chem.datasets import load_qm9_smiles

MOSES_SAMPLE = Path(__file__).parent / "data" / "moses_test_1k.smi"


def test_qm9_5k_is_canonical_and_distinct():
    smiles = qm9_5k()
    assert len(smiles) == 5000 and len(set(smiles)) == 5000
    for s in smiles[:500]:
        assert Chem.MolToSmiles(Chem.MolFromSmiles(s)) == s


@pytest.mark.parametrize("source", ["qm9_5k", "moses"])
def test_tokeniser_round_trip(source):
    smiles = qm9_5k() if source == "qm9_5k" else load_smiles(MOSES_SAMPLE)
    assert all("".join(tokenize(s)) == s for s in smiles)
    tok = SmilesTokenizer.from_smiles(smiles)
    ids = tok.encode(smiles)
    assert tok.decode(ids) == smiles
    assert tok.unk_id not in ids


@pytest.mark.skipif(importlib.util.find_spec("qm9pack") is None,
                    reason='needs full QM9: pip install "asktell[qml]"')
def test_tokeniser_round_trip_on_all_of_qm9():
    smiles = load_qm9_smiles()
    assert len(smiles) == 130_831
    tok = SmilesTokenizer.from_smiles(smiles)
    assert tok.decode(tok.encode(smiles)) == smiles


def test_full_qm9_without_qm9pack_names_the_install(monkeypatch):
    import asktell_chem.datasets as ds

    monkeypatch.setattr(ds.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ImportError, match=r'pip install "asktell\[qml\]"'):
        ds.load_qm9_smiles()


def test_tokens_of_the_hard_cases():
    assert tokenize("[C@@H](Cl)(Br)[N+](=O)[O-]") == [
        "[C@@H]", "(", "Cl", ")", "(", "Br", ")", "[N+]", "(", "=", "O", ")", "[O-]"]
    assert tokenize("C%12CC%12") == ["C", "%12", "C", "C", "%12"]
    assert tokenize("F/C=C\\F") == ["F", "/", "C", "=", "C", "\\", "F"]
    assert tokenize("c1ccccc1.[Na+]") == ["c", "1", "c", "c", "c", "c", "c", "1", ".", "[Na+]"]


def test_encode_options_and_errors(tmp_path):
    tok = SmilesTokenizer.from_smiles(["CCO", "c1ccccc1"])
    ids = tok.encode(["CCO"], max_length=8, bos=False)
    assert ids.tolist() == [[tok.index["C"], tok.index["C"], tok.index["O"], tok.eos_id,
                             0, 0, 0, 0]]
    assert tok.encode(["CN"])[0, 2] == tok.unk_id
    assert tok.decode(tok.encode(["CN"])) == ["C<unk>"]
    with pytest.raises(ValueError, match="item 1 has 10 tokens"):
        tok.encode(["CC", "c1ccccc1"], max_length=5)
    with pytest.raises(TypeError, match="item 0 is bytes"):
        tok.encode([b"CC"])
    with pytest.raises(TypeError, match="wrap one string"):
        tok.encode("CCO")
    with pytest.raises(ValueError, match="token ids must be in"):
        tok.decode(np.array([[99]]))
    tok.save(tmp_path / "vocab.json")
    again = SmilesTokenizer.load(tmp_path / "vocab.json")
    assert again.tokens == tok.tokens


def test_encode_to_torch():
    torch = pytest.importorskip("torch")
    tok = SmilesTokenizer.from_smiles(["CCO"])
    t = tok.encode(["CCO", "C"], return_tensors="pt")
    assert t.dtype == torch.long and t.shape == (2, 5)
    assert tok.decode(t) == ["CCO", "C"]


def test_load_smiles_formats(tmp_path):
    (tmp_path / "a.smi").write_text("# comment\nCCO ethanol\n\nc1ccccc1\n")
    assert load_smiles(tmp_path / "a.smi") == ["CCO", "c1ccccc1"]
    with gzip.open(tmp_path / "b.csv.gz", "wt") as f:
        f.write("name,Smiles\neth,CCO\nbenz,c1ccccc1\n")
    assert load_smiles(tmp_path / "b.csv.gz") == ["CCO", "c1ccccc1"]
    (tmp_path / "c.csv").write_text("id,structure\n1,CCO\n")
    assert load_smiles(tmp_path / "c.csv", column="structure") == ["CCO"]
    with pytest.raises(ValueError, match="no column named 'SMILES'"):
        load_smiles(tmp_path / "c.csv")
    with pytest.raises(ValueError, match="no column 'smile'"):
        load_smiles(tmp_path / "c.csv", column="smile")
    (tmp_path / "d.csv").write_text("")
    with pytest.raises(ValueError, match="empty"):
        load_smiles(tmp_path / "d.csv")
    (tmp_path / "e.sdf").write_text("x")
    with pytest.raises(ValueError, match="unsupported file type"):
        load_smiles(tmp_path / "e.sdf")
    with pytest.raises(FileNotFoundError, match="no SMILES file"):
        load_smiles(tmp_path / "missing.smi")


def test_load_moses_from_a_wheel_or_a_folder(tmp_path):
    import zipfile

    rows = "SMILES\nCCO\nc1ccccc1\n"
    data = tmp_path / "unpacked" / "moses" / "dataset" / "data"
    data.mkdir(parents=True)
    with gzip.open(data / "test.csv.gz", "wt") as f:
        f.write(rows)
    wheel = tmp_path / "molsets-0.3.1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.write(data / "test.csv.gz", "moses/dataset/data/test.csv.gz")
    assert load_moses(wheel, split="test") == ["CCO", "c1ccccc1"]
    assert load_moses(tmp_path / "unpacked", split="test") == ["CCO", "c1ccccc1"]
    with pytest.raises(FileNotFoundError, match=r"holds no moses/dataset/data/train\.csv\.gz"):
        load_moses(wheel)
    with pytest.raises(ValueError, match="split must be one of"):
        load_moses(wheel, split="valid")
