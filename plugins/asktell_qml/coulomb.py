"""Coulomb matrices of many molecules in one vectorised pass (numpy or torch).

The Coulomb matrix of a molecule with nuclear charges Z and positions R (Å) is [1]_

    C_II = 0.5 Z_I^2.4,        C_IJ = Z_I Z_J / |R_I - R_J|   (I != J),

padded with zeros to ``size`` atoms. Its atom order is fixed by sorting rows by decreasing row
norm [2]_, drawn at random, or left as given; the representation is the upper triangle (with the
diagonal, ``size (size + 1) / 2`` numbers, the default) or the whole matrix, flattened row by row.

References
----------
.. [1] Rupp, M., Tkatchenko, A., Müller, K.-R. & von Lilienfeld, O. A. (2012). Fast and accurate
   modeling of molecular atomization energies with machine learning. *Physical Review Letters*,
   108, 058301. doi:10.1103/PhysRevLett.108.058301
.. [2] Hansen, K., Montavon, G., Biegler, F., Fazli, S., Rupp, M., Scheffler, M.,
   von Lilienfeld, O. A., Tkatchenko, A. & Müller, K.-R. (2013). Assessment and validation of
   machine learning methods for predicting molecular atomization energies. *Journal of Chemical
   Theory and Computation*, 9(8), 3404–3419. doi:10.1021/ct400195d
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["SORTINGS", "as_padded", "coulomb_matrices"]

#: Atom orders :func:`coulomb_matrices` knows.
SORTINGS = ("row-norm", "random", "none")
_TORCH_CHUNK = 4096  # molecules per torch pass (a GPU wants large batches)
_CHUNK = 128  # molecules per numpy pass: the (chunk, size, size) temporaries stay in cache


def as_padded(
    Z: Sequence[Sequence[int] | np.ndarray] | np.ndarray,
    R: Sequence[Any] | np.ndarray,
    size: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Check molecules and return them as zero-padded arrays.

    Parameters
    ----------
    Z : array of int, shape (n, m), or sequence of n 1-D arrays
        Nuclear charges; 0 marks padding (only after the real atoms).
    R : array of float, shape (n, m, 3), or sequence of n arrays (n_atoms, 3)
        Positions in Å.
    size : int, optional
        Pad to this many atoms (default: the largest molecule).

    Returns
    -------
    Z : ndarray of int64, shape (n, size)
    R : ndarray of float64, shape (n, size, 3)

    Raises
    ------
    ValueError
        Mismatched lengths, non-finite coordinates, charges outside 1..118, padding before an
        atom, a molecule larger than ``size``, or two atoms at the same place.
    """
    if isinstance(Z, np.ndarray) and Z.ndim == 2:
        Zp = Z.astype(np.int64, copy=False)
        Rp = np.asarray(R, dtype=np.float64)
        if Rp.shape != (*Zp.shape, 3):
            raise ValueError(
                f"R must have shape {(*Zp.shape, 3)} to match Z {Zp.shape}, got {Rp.shape}"
            )
    else:
        if len(Z) != len(R):
            raise ValueError(f"got {len(Z)} charge arrays and {len(R)} coordinate arrays")
        zs = [np.asarray(z, dtype=np.int64).reshape(-1) for z in Z]
        rs = [np.asarray(r, dtype=np.float64) for r in R]
        for i, (z, r) in enumerate(zip(zs, rs)):
            if r.shape != (len(z), 3):
                raise ValueError(
                    f"molecule {i}: {len(z)} charges need coordinates of shape ({len(z)}, 3), "
                    f"got {r.shape}"
                )
        m = max((len(z) for z in zs), default=0)
        Zp = np.zeros((len(zs), m), dtype=np.int64)
        Rp = np.zeros((len(zs), m, 3), dtype=np.float64)
        for i, (z, r) in enumerate(zip(zs, rs)):
            Zp[i, : len(z)] = z
            Rp[i, : len(z)] = r
    m = Zp.shape[1]
    if size is not None:
        counts = (Zp > 0).sum(axis=1)
        if counts.size and counts.max() > size:
            i = int(np.argmax(counts))
            raise ValueError(f"molecule {i} has {counts[i]} atoms; the representation holds {size}")
        if m < size:
            Zp = np.pad(Zp, ((0, 0), (0, size - m)))
            Rp = np.pad(Rp, ((0, 0), (0, size - m), (0, 0)))
        elif m > size:
            Zp, Rp = Zp[:, :size], Rp[:, :size]
    bad = (Zp < 0) | (Zp > 118)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise ValueError(f"molecule {i}, atom {j}: nuclear charge {Zp[i, j]} is not in 1..118")
    present = Zp > 0
    if (present[:, 1:] & ~present[:, :-1]).any():
        i = int(np.flatnonzero((present[:, 1:] & ~present[:, :-1]).any(axis=1))[0])
        raise ValueError(f"molecule {i}: a zero charge (padding) comes before an atom")
    finite = np.isfinite(Rp).all(axis=2)
    if (present & ~finite).any():
        i, j = np.argwhere(present & ~finite)[0]
        raise ValueError(f"molecule {i}, atom {j}: coordinates {Rp[i, j].tolist()} are not finite")
    Rp = np.where(present[..., None], Rp, 0.0)
    return Zp, Rp


def _numpy_cm(Z: np.ndarray, R: np.ndarray, order: str, rng: np.random.Generator | None,
              triangle: bool) -> np.ndarray:
    n, m = Z.shape
    iu = np.triu_indices(m) if triangle else np.indices((m, m)).reshape(2, -1)
    out = np.empty((n, len(iu[0])))
    diag = np.arange(m) * (m + 1)
    for a in range(0, n, _CHUNK):
        z = Z[a : a + _CHUNK].astype(np.float64)
        r = R[a : a + _CHUNK]
        b = len(z)
        # Squared distances coordinate by coordinate (no reduction over a length-3 axis).
        d2 = np.zeros((b, m, m))
        for k in range(3):
            x = r[:, :, k]
            dx = x[:, :, None] - x[:, None, :]
            d2 += dx * dx
        zz = z[:, :, None] * z[:, None, :]
        c: np.ndarray = np.zeros((b, m, m))  # (b, m, m), then flattened to (b, m²)
        with np.errstate(divide="ignore"):  # the diagonal, overwritten next
            np.divide(zz, np.sqrt(d2), out=c, where=zz > 0)
        c = c.reshape(b, m * m)
        c[:, diag] = 0.5 * z**2.4
        if np.isinf(c).any():
            k = int(np.flatnonzero(np.isinf(c).any(axis=1))[0]) + a
            raise ValueError(f"molecule {k}: two atoms at the same position")
        if order == "none":
            out[a : a + b] = c[:, iu[0] * m + iu[1]]
            continue
        if order == "row-norm":
            key = -np.sqrt(np.einsum("bij,bij->bi", c.reshape(b, m, m), c.reshape(b, m, m)))
        else:
            assert rng is not None
            key = rng.random((b, m))
        key[z == 0] = np.inf  # padding stays last
        perm = np.argsort(key, axis=1, kind="stable")
        # One gather: entry (i, j) of the reordered matrix is entry (perm_i, perm_j).
        out[a : a + b] = np.take_along_axis(c, perm[:, iu[0]] * m + perm[:, iu[1]], axis=1)
    return out


def _torch_cm(Z: np.ndarray, R: np.ndarray, order: str, rng: np.random.Generator | None,
              triangle: bool, device: Any) -> Any:
    import torch

    n, m = Z.shape
    iu = torch.triu_indices(m, m, device=device)
    eye = torch.eye(m, dtype=torch.bool, device=device)
    parts = []
    for a in range(0, n, _TORCH_CHUNK):
        z = torch.as_tensor(Z[a : a + _TORCH_CHUNK], dtype=torch.float64, device=device)
        r = torch.as_tensor(R[a : a + _TORCH_CHUNK], dtype=torch.float64, device=device)
        d = torch.cdist(r, r)
        zz = z[:, :, None] * z[:, None, :]
        c = torch.where(zz > 0, zz / d, torch.zeros((), dtype=torch.float64, device=device))
        c = torch.where(eye, torch.diag_embed(0.5 * z**2.4), c)
        if torch.isinf(c).any():
            k = int(torch.isinf(c).any(dim=2).any(dim=1).nonzero()[0]) + a
            raise ValueError(f"molecule {k}: two atoms at the same position")
        present = z > 0
        if order != "none":
            if order == "row-norm":
                key = -torch.linalg.vector_norm(c, dim=2)
            else:
                assert rng is not None
                key = torch.as_tensor(rng.random(tuple(present.shape)), device=device)
            key = torch.where(present, key, torch.full_like(key, float("inf")))
            perm = torch.argsort(key, dim=1, stable=True)
            c = torch.take_along_dim(c, perm[:, :, None], dim=1)
            c = torch.take_along_dim(c, perm[:, None, :], dim=2)
        parts.append(c[:, iu[0], iu[1]] if triangle else c.reshape(len(c), -1))
    if not parts:
        return torch.empty((0, len(iu[0]) if triangle else m * m), dtype=torch.float64,
                           device=device)
    return torch.cat(parts)


def coulomb_matrices(
    Z: Sequence[Sequence[int] | np.ndarray] | np.ndarray,
    R: Sequence[Any] | np.ndarray,
    *,
    size: int | None = 29,
    sorting: str = "row-norm",
    triangle: bool = True,
    seed: int | np.random.Generator | None = None,
    device: str | None = None,
) -> Any:
    """Coulomb matrices of a batch of molecules, flattened.

    Parameters
    ----------
    Z, R
        Nuclear charges and positions (Å): padded arrays (n, m) and (n, m, 3) such as
        :class:`~asktell_qml.qm9.QM9Data` holds, or sequences of per-molecule arrays.
    size : int or None
        Atoms the matrix holds (29 for QM9); None: the largest molecule given.
    sorting : {"row-norm", "random", "none"}
        Atom order: decreasing row norm (the "sorted" CM), a random permutation of the atoms
        (drawn afresh per molecule and call, from ``seed``), or as given. Padding stays last.
    triangle : bool
        Upper triangle with the diagonal, row by row (``size (size + 1) / 2`` entries), or the
        full matrix (``size**2``).
    seed : int or Generator, optional
        For ``sorting="random"``.
    device : str, optional
        None or ``"numpy"``: a numpy array. ``"cpu"``, ``"cuda"``, ...: a torch float64 tensor
        computed on that device.

    Returns
    -------
    ndarray or torch.Tensor, float64, shape (n, size (size + 1) / 2) or (n, size**2)

    Raises
    ------
    ValueError
        Malformed molecules (see :func:`as_padded`), an unknown ``sorting``.

    Examples
    --------
    Water (O at the origin, two H at 0.96 Å, 104.5° apart):

    >>> import numpy as np
    >>> t = np.deg2rad(104.5)
    >>> R = [[[0, 0, 0], [0.96, 0, 0], [0.96 * np.cos(t), 0.96 * np.sin(t), 0]]]
    >>> coulomb_matrices([[8, 1, 1]], R, size=3, sorting="none", triangle=False).reshape(3, 3)
    array([[73.51669472,  8.33333333,  8.33333333],
           [ 8.33333333,  0.5       ,  0.65870773],
           [ 8.33333333,  0.65870773,  0.5       ]])
    """
    if sorting not in SORTINGS:
        raise ValueError(f"sorting must be one of {SORTINGS}, got {sorting!r}")
    Zp, Rp = as_padded(Z, R, size)
    rng = np.random.default_rng(seed) if sorting == "random" else None
    if device is None or device == "numpy":
        return _numpy_cm(Zp, Rp, sorting, rng, triangle)
    return _torch_cm(Zp, Rp, sorting, rng, triangle, device)
