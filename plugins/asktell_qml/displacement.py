"""An atom pulled out of a molecule along a straight line, with a smooth pair-potential energy:
the setting of Fig. 2 of Çaylak, von Lilienfeld & Baumeier (2020).

Çaylak, von Lilienfeld & Baumeier (2020). Wasserstein metric for improved quantum machine
learning with adjacency matrix representations. *Mach. Learn.: Sci. Technol.* 1, 03LT01.
doi:10.1088/2632-2153/aba048. The paper "demonstrate[s] smoothness for the continuous extraction
of an atom from some organic molecule": a central carbon moves along the normal to the
molecular plane in 0.01 Å steps, a Lennard-Jones energy is the target, and kernel ridge
regression is trained on a few random points of the path.

Examples
--------
>>> import numpy as np
>>> from asktell_qml.displacement import (ACETONE, displacement_path, lennard_jones,
...                                      plane_normal)
>>> Z, R = ACETONE
>>> offsets, path = displacement_path(R, atom=1, direction=plane_normal(R, [0, 1, 2, 3]),
...                                   stop=1.0, step=0.01)
>>> path.shape, round(float(offsets[-1]), 2)
((101, 10, 3), 1.0)
>>> bool(np.all(np.isfinite(lennard_jones(path))))
True
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["ACETONE", "displacement_path", "largest_step", "lennard_jones", "plane_normal"]

#: Acetone, CC(C)=O: charges and positions (Å) from RDKit's ETKDG (random seed 7) and MMFF94.
#: Atom 1 is the central (carbonyl) carbon; atoms 0-3 (C, C, C, O) span the molecular plane.
ACETONE: tuple[np.ndarray, np.ndarray] = (
    np.array([6, 6, 6, 8, 1, 1, 1, 1, 1, 1]),
    np.array([[-1.2629, -0.1103, -0.2503], [-0.0402, 0.0007, 0.6199], [1.2846, 0.1099, -0.0852],
              [-0.1199, 0.0021, 1.8474], [-1.1915, -1.0079, -0.8694], [-1.3451, 0.778, -0.8814],
              [-2.1561, -0.1829, 0.3763], [2.0895, 0.184, 0.6514], [1.4476, -0.7798, -0.6984],
              [1.2941, 1.0061, -0.7104]]),
)


def plane_normal(R: np.ndarray, atoms: Sequence[int]) -> np.ndarray:
    """Unit normal of the least-squares plane through ``R[atoms]`` (the smallest singular
    direction of the centred positions), with a non-negative first non-zero component."""
    P = np.asarray(R, dtype=float)[list(atoms)]
    if len(P) < 3:
        raise ValueError(f"a plane needs at least 3 atoms, got {len(P)}")
    n = np.linalg.svd(P - P.mean(axis=0))[2][-1]
    k = np.flatnonzero(np.abs(n) > 1e-12)[0]
    return n if n[k] > 0 else -n


def displacement_path(R: np.ndarray, atom: int, direction: np.ndarray, stop: float,
                      step: float = 0.01, start: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Positions of a molecule with ``atom`` moved by ``start, start + step, ..., stop`` Å along
    ``direction`` (normalised here).

    Returns
    -------
    offsets : ndarray (n,)
        The displacements, Å.
    positions : ndarray (n, atoms, 3)
        The molecule at each displacement.
    """
    R = np.asarray(R, dtype=float)
    d = np.asarray(direction, dtype=float)
    if d.shape != (3,) or not np.linalg.norm(d) > 0:
        raise ValueError(f"direction must be a non-zero 3-vector, got {direction!r}")
    if not step > 0 or not stop > start:
        raise ValueError(f"need step > 0 and stop > start, got {step}, {start}, {stop}")
    n = round((stop - start) / step) + 1
    offsets = start + step * np.arange(n)
    out = np.repeat(R[None], n, axis=0)
    out[:, atom] += offsets[:, None] * (d / np.linalg.norm(d))
    return offsets, out


def lennard_jones(R: np.ndarray, epsilon: float = 1.0, sigma: float = 1.0) -> np.ndarray:
    """Lennard-Jones energy Σ_{i<j} 4ε[(σ/r_ij)¹² − (σ/r_ij)⁶] of each geometry.

    Parameters
    ----------
    R : ndarray (n, atoms, 3) or (atoms, 3)
        Positions, Å.
    epsilon, sigma : float
        Well depth (the energy unit) and zero-crossing distance (Å), the same for every pair.

    Returns
    -------
    ndarray (n,) (or a 0-d array for one geometry)
    """
    R = np.asarray(R, dtype=float)
    single = R.ndim == 2
    R = R[None] if single else R
    i, j = np.triu_indices(R.shape[1], k=1)
    r = np.linalg.norm(R[:, i] - R[:, j], axis=2)
    if np.any(r <= 0):
        raise ValueError("two atoms at one place")
    s6 = (sigma / r) ** 6
    e = (4.0 * epsilon * (s6 * s6 - s6)).sum(axis=1)
    return e[0] if single else e


def largest_step(values: np.ndarray) -> tuple[float, int]:
    """The largest absolute change between consecutive values, and where (index k of the
    step from k to k + 1)."""
    d = np.abs(np.diff(np.asarray(values, dtype=float)))
    k = int(np.argmax(d))
    return float(d[k]), k
