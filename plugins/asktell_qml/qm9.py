"""QM9 geometries and energies: the full set from ``qm9pack``, and a subset shipped with asktell.

QM9 (Ramakrishnan et al. 2014) holds 130,831 small organic molecules (C, H, O, N, F; at most 9
heavy atoms, 29 atoms in all) with B3LYP/6-31G(2df,p) geometries and properties. The PyPI package
``qm9pack`` (MIT) carries them as three CSV files; :func:`load_qm9` reads those files directly
(``qm9pack.get_data`` needs ``pkg_resources`` and pandas), parses the coordinate strings with one
float regular expression over the whole column, and caches the arrays as a compressed ``.npz`` in
the user cache directory, so later loads take well under a second.

:func:`load_qm9_subset` returns a fixed random subset of 2,500 molecules that ships with asktell
as package data, for tests, examples and documentation on machines without ``qm9pack``.

References
----------
.. [1] Ramakrishnan, R., Dral, P. O., Rupp, M. & von Lilienfeld, O. A. (2014). Quantum chemistry
   structures and properties of 134 kilo molecules. *Scientific Data*, 1, 140022.
   doi:10.1038/sdata.2014.22
"""

from __future__ import annotations

import csv
import importlib.util
import logging
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

__all__ = [
    "ATOMIC_REFERENCE_HA",
    "HARTREE_TO_KCAL_MOL",
    "MAX_ATOMS",
    "QM9Data",
    "atomization_energy",
    "cache_dir",
    "load_qm9",
    "load_qm9_subset",
]

log = logging.getLogger(__name__)

#: Most atoms in one QM9 molecule.
MAX_ATOMS = 29
#: kcal/mol per hartree (CODATA, as used by QM9's authors).
HARTREE_TO_KCAL_MOL = 627.509474
#: U0 of the free atoms at B3LYP/6-31G(2df,p), hartree (QM9's ``atomref`` table, [1]_).
ATOMIC_REFERENCE_HA: dict[int, float] = {
    1: -0.500273,
    6: -37.846772,
    7: -54.583861,
    8: -75.064579,
    9: -99.718730,
}
_SYMBOLS = {"H": 1, "C": 6, "N": 7, "O": 8, "F": 9}
_FLOAT = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_ELEMENT = re.compile(r"[A-Z][a-z]?")
_CACHE_NAME = "qm9-v1.npz"
_SUBSET = "qm9_subset.npz"


def atomization_energy(Z: np.ndarray, U0: np.ndarray) -> np.ndarray:
    """Atomization energy in kcal/mol: U0 minus the free atoms' energies.

    Parameters
    ----------
    Z : ndarray of int, shape (n, m)
        Nuclear charges, padded with 0.
    U0 : ndarray of float, shape (n,)
        Internal energy at 0 K, hartree.

    Returns
    -------
    ndarray of float64, shape (n,)
        Negative for bound molecules (methane: -396.0 kcal/mol).

    Examples
    --------
    >>> round(float(atomization_energy(np.array([[6, 1, 1, 1, 1]]), np.array([-40.47893]))[0]), 1)
    -396.0
    """
    Z = np.asarray(Z)
    ref = np.zeros(max(10, int(Z.max(initial=0)) + 1))
    for z, e in ATOMIC_REFERENCE_HA.items():
        ref[z] = e
    unknown = sorted(set(np.unique(Z).tolist()) - set(ATOMIC_REFERENCE_HA) - {0})
    if unknown:
        raise ValueError(f"no atomic reference energy for Z = {unknown}; QM9 has H, C, N, O, F")
    return (np.asarray(U0, dtype=np.float64) - ref[Z].sum(axis=1)) * HARTREE_TO_KCAL_MOL


@dataclass(frozen=True, eq=False)
class QM9Data:
    """QM9 molecules as padded arrays.

    Attributes
    ----------
    index : ndarray of int64, shape (n,)
        QM9's molecule number (``dsgdb9nsd_000001`` is 1).
    smiles : list of str
        QM9's own (GDB) SMILES, as in the data file.
    n_atoms : ndarray of int64, shape (n,)
    Z : ndarray of int8, shape (n, 29)
        Nuclear charges, padded with 0.
    R : ndarray of float64, shape (n, 29, 3)
        Cartesian coordinates in Å, padded with 0.
    U0 : ndarray of float64, shape (n,)
        Internal energy at 0 K, hartree.
    atomization_energy : ndarray of float64, shape (n,)
        kcal/mol (see :func:`atomization_energy`).

    Examples
    --------
    >>> data = load_qm9_subset()
    >>> len(data), data.Z.shape, data.R.shape
    (2500, (2500, 29), (2500, 29, 3))
    >>> len(data.subset([0, 5, 7]))
    3
    """

    index: np.ndarray
    smiles: list[str]
    n_atoms: np.ndarray
    Z: np.ndarray
    R: np.ndarray
    U0: np.ndarray
    atomization_energy: np.ndarray = field(repr=False)

    def __post_init__(self) -> None:
        n = len(self.index)
        for name in ("smiles", "n_atoms", "Z", "R", "U0", "atomization_energy"):
            if len(getattr(self, name)) != n:
                raise ValueError(
                    f"QM9Data.{name} has {len(getattr(self, name))} rows, index has {n}"
                )

    def __len__(self) -> int:
        return len(self.index)

    def __repr__(self) -> str:
        return f"QM9Data({len(self)} molecules)"

    def subset(self, indices: Sequence[int] | np.ndarray) -> QM9Data:
        """The molecules at the given positions (not QM9 numbers), in that order.

        Parameters
        ----------
        indices : sequence of int or boolean mask
            Positions in this data set.

        Returns
        -------
        QM9Data
        """
        idx = np.asarray(indices)
        if idx.dtype == bool:
            idx = np.flatnonzero(idx)
        idx = idx.astype(np.int64)
        return QM9Data(
            index=self.index[idx],
            smiles=[self.smiles[i] for i in idx],
            n_atoms=self.n_atoms[idx],
            Z=self.Z[idx],
            R=self.R[idx],
            U0=self.U0[idx],
            atomization_energy=self.atomization_energy[idx],
        )

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Plain arrays (what :func:`numpy.savez` stores)."""
        return {
            "index": self.index,
            "smiles": np.array(self.smiles),
            "n_atoms": self.n_atoms,
            "Z": self.Z,
            "R": self.R,
            "U0": self.U0,
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> QM9Data:
        """Inverse of :meth:`to_arrays` (the atomization energy is recomputed).

        Also reads the unpadded form of the shipped subset (``Z_flat``, ``R_flat_micro``:
        coordinates in 1e-6 Å as int32).
        """
        if "Z_flat" in arrays:
            na = np.asarray(arrays["n_atoms"], dtype=np.int64)
            mol = np.repeat(np.arange(len(na)), na)
            pos = np.arange(len(mol)) - np.repeat(np.cumsum(na) - na, na)
            Zp = np.zeros((len(na), MAX_ATOMS), dtype=np.int8)
            Rp = np.zeros((len(na), MAX_ATOMS, 3), dtype=np.float64)
            Zp[mol, pos] = arrays["Z_flat"]
            Rp[mol, pos] = np.asarray(arrays["R_flat_micro"], dtype=np.float64) * 1e-6
            arrays = {**arrays, "Z": Zp, "R": Rp}
        Z = np.asarray(arrays["Z"], dtype=np.int8)
        U0 = np.asarray(arrays["U0"], dtype=np.float64)
        return cls(
            index=np.asarray(arrays["index"], dtype=np.int64),
            smiles=[str(s) for s in arrays["smiles"]],
            n_atoms=np.asarray(arrays["n_atoms"], dtype=np.int64),
            Z=Z,
            R=np.asarray(arrays["R"], dtype=np.float64),
            U0=U0,
            atomization_energy=atomization_energy(Z, U0),
        )


def cache_dir() -> Path:
    """Where parsed data are cached.

    ``$ASKTELL_CACHE`` if set, else ``$XDG_CACHE_HOME/asktell``, else ``~/.cache/asktell``.

    Returns
    -------
    Path
    """
    env = os.environ.get("ASKTELL_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "asktell"


def _qm9pack_files() -> list[Path]:
    # Located, not imported: qm9pack's __init__ imports pkg_resources (setuptools) and pandas.
    spec = importlib.util.find_spec("qm9pack")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            'full QM9 needs the qm9pack package (104 MB): pip install "asktell[qml]"; '
            "asktell_qml.load_qm9_subset() gives the 2,500 molecules shipped with asktell"
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / "data"
    files = [folder / f"qm9_part{i}.csv" for i in (1, 2, 3)]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise FileNotFoundError(f"qm9pack is installed but its data files are missing: {missing}")
    return files


def _parse_csv(files: Sequence[Path]) -> QM9Data:
    """Read the qm9pack CSV files into padded arrays."""
    csv.field_size_limit(1 << 24)
    index, smiles, n_atoms, elements, xyz, u0 = [], [], [], [], [], []
    for path in files:
        with open(path, newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader)
            col = {name: i for i, name in enumerate(header)}
            need = ("Index", "SMILES", "N_atoms", "Elements", "XYZ_Ang", "InternalEnergy_0K_au")
            absent = [c for c in need if c not in col]
            if absent:
                raise ValueError(f"{path}: columns {absent} missing; found {header}")
            ci, cs, cn, ce, cx, cu = (col[c] for c in need)
            for row in reader:
                index.append(row[ci])
                smiles.append(row[cs])
                n_atoms.append(row[cn])
                elements.append(row[ce])
                xyz.append(row[cx])
                u0.append(row[cu])
    n = len(index)
    na = np.array(n_atoms, dtype=np.int64)
    # One regex pass over the whole column: "0." and "1.5E-6" literals are both floats here.
    symbols = _ELEMENT.findall(" ".join(elements))
    coords = np.array(_FLOAT.findall(" ".join(xyz)), dtype=np.float64)
    if len(symbols) != na.sum() or len(coords) != 3 * na.sum():
        raise ValueError(
            f"QM9 files are inconsistent: {na.sum()} atoms in N_atoms, {len(symbols)} elements, "
            f"{len(coords) / 3:g} coordinate triples"
        )
    try:
        z_flat = np.array([_SYMBOLS[s] for s in symbols], dtype=np.int8)
    except KeyError as e:
        raise ValueError(f"unknown element {e.args[0]!r} in QM9 files") from None
    mol = np.repeat(np.arange(n), na)
    pos = np.arange(len(mol)) - np.repeat(np.cumsum(na) - na, na)
    Z = np.zeros((n, MAX_ATOMS), dtype=np.int8)
    R = np.zeros((n, MAX_ATOMS, 3), dtype=np.float64)
    Z[mol, pos] = z_flat
    R[mol, pos] = coords.reshape(-1, 3)
    U0 = np.array(u0, dtype=np.float64)
    return QM9Data(
        index=np.array(index, dtype=np.int64),
        smiles=smiles,
        n_atoms=na,
        Z=Z,
        R=R,
        U0=U0,
        atomization_energy=atomization_energy(Z, U0),
    )


def _save_atomic(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write an npz next to ``path`` and rename it into place (atomic on POSIX)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            # numpy's stub: a ** of arrays could name allow_pickle (a bool); ours never does
            np.savez_compressed(fh, **arrays)  # type: ignore[arg-type]
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _load_npz(path: Path | object) -> QM9Data:
    with np.load(path, allow_pickle=False) as f:  # type: ignore[arg-type]
        return QM9Data.from_arrays({k: f[k] for k in f.files})


def load_qm9(*, cache: bool = True) -> QM9Data:
    """All 130,831 QM9 molecules, from the ``qm9pack`` package.

    Parameters
    ----------
    cache : bool
        Read and write the parsed arrays in :func:`cache_dir` (``qm9-v1.npz``, about 57 MB).
        The first load parses the CSV files (tens of seconds); a cached load takes about a
        second. The cache is written to a temporary file and renamed, so a killed run never
        leaves a truncated cache; an unreadable cache is parsed again and replaced.

    Returns
    -------
    QM9Data

    Raises
    ------
    ImportError
        When ``qm9pack`` is not installed (``pip install "asktell[qml]"``).
    """
    files = _qm9pack_files()
    path = cache_dir() / _CACHE_NAME
    if cache and path.is_file():
        try:
            data = _load_npz(path)
            log.debug("QM9 loaded from cache %s", path)
            return data
        except Exception as e:  # corrupt or from an incompatible version: parse again
            log.warning("QM9 cache %s unreadable (%s); parsing qm9pack's files again", path, e)
    log.info("parsing QM9 from %s (once; cached afterwards)", files[0].parent)
    data = _parse_csv(files)
    if cache:
        try:
            _save_atomic(path, data.to_arrays())
        except OSError as e:
            log.warning("could not cache QM9 in %s: %s", path, e)
    return data


def load_qm9_subset() -> QM9Data:
    """The 2,500 QM9 molecules shipped with asktell (a fixed random draw, seed 2020).

    Made by ``plugins/asktell_qml/data/make_subset.py`` from ``qm9pack`` 1.0.3. Enough to train
    and test a model on a fresh machine; learning curves beyond N = 2,000 need :func:`load_qm9`.

    Returns
    -------
    QM9Data

    Examples
    --------
    >>> data = load_qm9_subset()
    >>> bool(np.all(data.atomization_energy < 0))
    True
    """
    with resources.files(__package__).joinpath("data", _SUBSET).open("rb") as fh:
        return _load_npz(fh)
