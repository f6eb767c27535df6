"""Blocked pairwise distances, on numpy/scipy (threads) or torch (any device).

The output matrix is allocated once; rows are filled block by block, each block transformed in
place (for example ``exp(-d / sigma)``) before the next, so a kernel matrix never needs more
memory than itself plus one block per thread. A symmetric matrix is computed block-row by
block-row from the diagonal rightwards and mirrored: half the distance work.

On numpy, blocks go to a thread pool: scipy's ``cdist`` and numpy's ufuncs release the GIL.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from scipy.spatial.distance import cdist

__all__ = ["default_jobs", "is_torch_device", "pairwise"]

#: metric name -> scipy cdist metric
_SCIPY = {"l1": "cityblock", "l2": "euclidean"}
_BLOCK_ELEMENTS = 1 << 18  # ~2 MB of float64 per block: transformed while in cache


def default_jobs() -> int:
    """Threads for numpy blocks: the CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def is_torch_device(device: Any) -> bool:
    """Whether ``device`` asks for the torch backend.

    None, ``"cpu"`` and ``"numpy"`` mean numpy/scipy; any other string (``"cuda"``,
    ``"cuda:1"``) or a ``torch.device`` object (``torch.device("cpu")`` runs the torch code on
    the CPU) means torch.
    """
    if device is None:
        return False
    if isinstance(device, str):
        return device not in ("cpu", "numpy")
    return True


def _run_blocks(work: Callable[[int], None], nblocks: int, jobs: int) -> None:
    if jobs == 1 or nblocks == 1:
        for k in range(nblocks):
            work(k)
    else:
        with ThreadPoolExecutor(jobs) as ex:
            list(ex.map(work, range(nblocks)))


def _numpy_sqeuclidean(
    X: np.ndarray,
    Y: np.ndarray | None,
    transform: Callable[[np.ndarray], None] | None,
    jobs: int,
) -> np.ndarray:
    """``|x|^2 + |y|^2 - 2 x.y``: one BLAS product written straight into the result (``syrk``,
    half the flops, for the symmetric case), then the element-wise work in threaded row blocks."""
    n = len(X)
    xx = np.einsum("ij,ij->i", X, X)
    if Y is not None:
        out = np.matmul(X, Y.T)
        yy = np.einsum("ij,ij->i", Y, Y)
        edges = np.linspace(0, n, min(n, 4 * jobs) + 1).astype(int)

        def work(k: int) -> None:
            d = out[edges[k] : edges[k + 1]]
            d *= -2.0
            d += xx[edges[k] : edges[k + 1], None]
            d += yy[None, :]
            np.maximum(d, 0.0, out=d)
            if transform is not None:
                transform(d)

        _run_blocks(work, len(edges) - 1, jobs)
        return out
    from scipy.linalg.blas import dsyrk

    # The upper triangle of a Fortran-ordered X X^T is the lower triangle of its C-ordered
    # transpose; blocks of rows finish their part of it and mirror it into the upper triangle.
    out = dsyrk(1.0, X).T
    # Row blocks of about equal area of the triangle.
    edges = np.unique(np.round(n * np.sqrt(np.linspace(0, 1, min(n, 4 * jobs) + 1))).astype(int))

    def work_sym(k: int) -> None:
        r0, r1 = int(edges[k]), int(edges[k + 1])
        h = r1 - r0
        d = out[r0:r1, :r1]
        d *= -2.0
        d += xx[r0:r1, None]
        d += xx[None, :r1]
        np.maximum(d, 0.0, out=d)
        sq = d[:, r0:]
        sq[np.diag_indices(h)] = 0.0
        up = np.triu_indices(h, 1)
        sq[up] = sq.T[up]
        if transform is not None:
            transform(d)
        out[:r0, r0:r1] = d[:, :r0].T

    _run_blocks(work_sym, len(edges) - 1, jobs)
    return out


def _numpy_pairwise(
    metric: str,
    X: np.ndarray,
    Y: np.ndarray | None,
    transform: Callable[[np.ndarray], None] | None,
    block: int | None,
    n_jobs: int | None,
) -> np.ndarray:
    X = np.ascontiguousarray(X, dtype=np.float64)
    n = len(X)
    sym = Y is None
    Yc = X if sym else np.ascontiguousarray(Y, dtype=np.float64)
    m = len(Yc)
    jobs = n_jobs or default_jobs()
    if n == 0 or m == 0:
        return np.empty((n, m))
    if metric == "sqeuclidean":
        return _numpy_sqeuclidean(X, None if sym else Yc, transform, jobs)
    out = np.empty((n, m))
    b = block or max(16, min(1024, _BLOCK_ELEMENTS // max(m, 1)))
    # Several blocks per thread balance the work (the triangle's rows shrink; threads of a
    # shared machine run at different speeds).
    b = min(b, max(16, -(-n // (4 * jobs))))
    edges = [*range(0, n, b), n]
    name = _SCIPY[metric]

    def work(k: int) -> None:
        r0, r1 = edges[k], edges[k + 1]
        if not sym:
            d = cdist(X[r0:r1], Yc, name, out=out[r0:r1])
            if transform is not None:
                transform(d)
            return
        d = cdist(X[r0:r1], X[r0:], name)
        if transform is not None:
            transform(d)
        out[r0:r1, r0:] = d
        out[r1:, r0:r1] = d[:, r1 - r0 :].T

    _run_blocks(work, len(edges) - 1, jobs)
    return out


def _torch_pairwise(
    metric: str,
    X: Any,
    Y: Any,
    transform: Callable[[Any], None] | None,
    block: int | None,
    device: Any,
) -> Any:
    import torch

    X = torch.as_tensor(X, dtype=torch.float64, device=device)
    Yt = X if Y is None else torch.as_tensor(Y, dtype=torch.float64, device=device)
    n, m = len(X), len(Yt)
    out = torch.empty((n, m), dtype=torch.float64, device=X.device)
    b = block or max(16, min(8192, (1 << 25) // max(m, 1)))
    yy = (Yt * Yt).sum(1) if metric == "sqeuclidean" else None
    for r0 in range(0, n, b):
        xb = X[r0 : r0 + b]
        d = out[r0 : r0 + b]
        if yy is not None:  # metric == "sqeuclidean"
            torch.mm(xb, Yt.T, out=d)
            d.mul_(-2.0).add_((xb * xb).sum(1)[:, None]).add_(yy[None, :]).clamp_(min=0.0)
            if Y is None:
                d[:, r0 : r0 + len(xb)].fill_diagonal_(0.0)
        else:
            d.copy_(torch.cdist(xb, Yt, p=1.0 if metric == "l1" else 2.0))
        if transform is not None:
            transform(d)
    return out


def pairwise(
    metric: str,
    X: Any,
    Y: Any = None,
    *,
    transform: Callable[[Any], None] | None = None,
    device: Any = None,
    block: int | None = None,
    n_jobs: int | None = None,
) -> Any:
    """Distance matrix between the rows of ``X`` and ``Y`` (or ``X`` with itself).

    Parameters
    ----------
    metric : {"l1", "l2", "sqeuclidean"}
        Manhattan, Euclidean or squared Euclidean (``|x|^2 + |y|^2 - 2 x.y``, clipped at 0).
    X : array, shape (n, d)
    Y : array, shape (m, d), optional
        None: the symmetric matrix of ``X`` (half the work).
    transform : callable, optional
        Applied in place to every block of distances (a tensor on the torch backend).
    device : str, optional
        None or ``"cpu"``: numpy/scipy; otherwise a torch device.
    block : int, optional
        Rows per block (default: about 16 MB per block on numpy).
    n_jobs : int, optional
        Threads on numpy (default: the CPUs available).

    Returns
    -------
    ndarray or torch.Tensor, float64, shape (n, m)
    """
    if metric not in ("l1", "l2", "sqeuclidean"):
        raise ValueError(f"metric must be 'l1', 'l2' or 'sqeuclidean', got {metric!r}")
    if is_torch_device(device):
        return _torch_pairwise(metric, X, Y, transform, block, device)
    return _numpy_pairwise(metric, X, Y, transform, block, n_jobs)
