"""SMILES data sets: the shipped QM9 5k set, SMILES files, full QM9 and MOSES.

References
----------
.. [QM9] Ramakrishnan, Dral, Rupp & von Lilienfeld (2014). Quantum chemistry structures and
   properties of 134 kilo molecules. Scientific Data 1, 140022. doi:10.1038/sdata.2014.22
.. [MOSES] Polykovskiy et al. (2020). Molecular Sets (MOSES): A benchmarking platform for
   molecular generation models. Front. Pharmacol. 11, 565644. doi:10.3389/fphar.2020.565644
"""

from __future__ import annotations

import csv
import gzip
import importlib.resources
import importlib.util
import io
import zipfile
from os import PathLike
from pathlib import Path
from typing import IO

__all__ = ["load_moses", "load_qm9_smiles", "load_smiles", "qm9_5k"]

_MOSES_SPLITS = ("train", "test", "test_scaffolds")


def qm9_5k() -> list[str]:
    """The QM9 "small molecules" set of 5,000 RDKit-canonical SMILES shipped with asktell.

    Drawn with a fixed seed from the 130,744 valid distinct molecules of QM9 [QM9]_ (PyPI
    ``qm9pack``, MIT) by ``scripts/make_qm9_5k.py``; the set the SA-ORGAN paper calls "small
    molecules" is a 5,000-molecule subset of QM9 of the same kind (ORGAN's own file is GPL-2.0
    and is not shipped).

    Examples
    --------
    >>> smiles = qm9_5k()
    >>> len(smiles), len(set(smiles))
    (5000, 5000)
    """
    text = importlib.resources.files("asktell_chem").joinpath("data/qm9_5k.smi").read_text()
    return text.split()


def load_qm9_smiles() -> list[str]:
    """All 130,831 QM9 SMILES [QM9]_, as written in QM9 (GDB-17 SMILES, not RDKit-canonical),
    in QM9's index order: the ``smiles`` of :func:`asktell_qml.load_qm9` (PyPI ``qm9pack``,
    parsed once and cached).

    Raises
    ------
    ImportError
        If ``qm9pack`` is not installed (``pip install "asktell[qml]"``).
    """
    from asktell_qml.qm9 import load_qm9

    return load_qm9().smiles


def _open_text(path: Path) -> IO[str]:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def _read_csv(f: IO[str], column: str | None, where: str) -> list[str]:
    reader = csv.reader(f)
    try:
        header = next(reader)
    except StopIteration:
        raise ValueError(f"{where}: the file is empty; expected a header row with a SMILES "
                         "column") from None
    if column is None:
        matches = [i for i, h in enumerate(header) if h.strip().lower() == "smiles"]
        if not matches:
            raise ValueError(f"{where}: no column named 'SMILES' (case-insensitive) in the "
                             f"header {header}; pass column=...")
        col = matches[0]
    elif column in header:
        col = header.index(column)
    else:
        raise ValueError(f"{where}: no column {column!r} in the header {header}")
    out = []
    for line, row in enumerate(reader, start=2):
        if not row:
            continue
        if col >= len(row):
            raise ValueError(f"{where}, line {line}: {len(row)} fields, no column {col + 1}")
        out.append(row[col].strip())
    return out


def load_smiles(path: str | PathLike[str], *, column: str | None = None) -> list[str]:
    """Read SMILES from a ``.smi``/``.txt`` file or a ``.csv`` file (either may be ``.gz``).

    Parameters
    ----------
    path : path
        ``.smi``/``.txt``: one SMILES per line, the first whitespace-separated field (a name
        may follow); blank lines and lines starting with ``#`` are skipped. ``.csv``: a header
        row and a SMILES column.
    column : str, optional
        CSV column to read; default: the column named ``SMILES`` in any case.

    Returns
    -------
    list of str
        The SMILES as written (not validated: score them, or canonicalise them with RDKit).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        For an unsupported extension, an empty CSV, or a missing column.

    Examples
    --------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp(); p = os.path.join(d, "m.csv")
    >>> _ = open(p, "w").write("id,smiles\\n1,CCO\\n2,c1ccccc1\\n")
    >>> load_smiles(p)
    ['CCO', 'c1ccccc1']
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"no SMILES file at {p}")
    suffixes = [s.lower() for s in p.suffixes[-2:]]
    kind = suffixes[-2] if suffixes and suffixes[-1] == ".gz" and len(suffixes) == 2 else (
        suffixes[-1] if suffixes else "")
    with _open_text(p) as f:
        if kind == ".csv":
            return _read_csv(f, column, str(p))
        if kind in (".smi", ".txt", ".smiles"):
            if column is not None:
                raise ValueError(f"{p}: column= applies to CSV files only")
            out = []
            for line in f:
                fields = line.split()
                if fields and not fields[0].startswith("#"):
                    out.append(fields[0])
            return out
    raise ValueError(f"{p}: unsupported file type; expected .smi, .txt, .csv (optionally .gz)")


def _moses_member(source: Path, split: str) -> tuple[Path, str | None]:
    """(file or wheel, member inside the wheel) of a MOSES split."""
    name = f"{split}.csv.gz"
    if source.is_file() and source.suffix == ".whl":
        return source, f"moses/dataset/data/{name}"
    for cand in (source / name, source / "data" / name, source / "dataset/data" / name,
                 source / "moses/dataset/data" / name):
        if cand.is_file():
            return cand, None
    raise FileNotFoundError(f"no MOSES {name} under {source}; point to the molsets wheel "
                            "(molsets-*.whl) or to the folder holding moses/dataset/data")


def load_moses(source: str | PathLike[str] | None = None, *, split: str = "train") -> list[str]:
    """MOSES SMILES [MOSES]_ from the data files inside the ``molsets`` wheel.

    The ``molsets`` package pins old dependencies, so asktell never imports or requires it: it
    reads the gzipped CSV files it ships.

    Parameters
    ----------
    source : path, optional
        The ``molsets-*.whl`` file (``pip download --no-deps molsets``), or a folder holding
        ``moses/dataset/data/`` (an unpacked wheel or a site-packages folder). Default: an
        installed ``moses`` package, found without importing it.
    split : {"train", "test", "test_scaffolds"}
        1,584,663 / 176,074 / 176,225 molecules (molsets 0.3.1).

    Returns
    -------
    list of str
        SMILES as shipped (MOSES's are RDKit-canonical).
    """
    if split not in _MOSES_SPLITS:
        raise ValueError(f"split must be one of {_MOSES_SPLITS}, got {split!r}")
    if source is None:
        spec = importlib.util.find_spec("moses")
        if spec is None or not spec.submodule_search_locations:
            raise FileNotFoundError(
                "no MOSES data: pass the molsets wheel, e.g. "
                "`pip download --no-deps molsets` then load_moses('molsets-0.3.1-py3-none-any.whl')"
            )
        source = Path(next(iter(spec.submodule_search_locations))).parent
    path, member = _moses_member(Path(source), split)
    where = f"{path}:{member}" if member else str(path)
    if member is None:
        with _open_text(path) as f:
            return _read_csv(f, "SMILES", where)
    with zipfile.ZipFile(path) as z:
        try:
            raw = z.read(member)
        except KeyError:
            raise FileNotFoundError(f"{path} holds no {member}; is it the molsets wheel?") from None
    with io.TextIOWrapper(gzip.GzipFile(fileobj=io.BytesIO(raw)), encoding="utf-8",
                          newline="") as f:
        return _read_csv(f, "SMILES", where)
