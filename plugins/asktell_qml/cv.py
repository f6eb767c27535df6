"""k-fold cross-validation of kernel ridge regression over a grid of (sigma, lambda).

The distances between all training representations are computed once; each sigma re-applies
the kernel function to them (one ``exp`` per matrix element), and each fold and lambda costs one
Cholesky factorisation of a sub-matrix. Nothing is recomputed from the representations.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._base import DistanceKernel
from .krr import CholeskyError, make_kernel, solve_cholesky

__all__ = ["CVResult", "fold_mae", "grid_search_cv", "kfold"]

log = logging.getLogger(__name__)


def kfold(n: int, k: int = 5, seed: int | None = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Shuffled k-fold splits of ``range(n)``.

    Parameters
    ----------
    n : int
        Number of samples.
    k : int
        Number of folds, 2 <= k <= n.
    seed : int, optional

    Returns
    -------
    list of (train indices, validation indices)
        Every index is validated exactly once; fold sizes differ by at most one.

    Examples
    --------
    >>> [len(v) for _, v in kfold(11, 5)]
    [3, 2, 2, 2, 2]
    """
    if not 2 <= k <= n:
        raise ValueError(f"need 2 <= k <= n, got k = {k}, n = {n}")
    perm = np.random.default_rng(seed).permutation(n)
    folds = np.array_split(perm, k)
    return [(np.sort(np.concatenate(folds[:i] + folds[i + 1 :])), np.sort(f))
            for i, f in enumerate(folds)]


def fold_mae(K: Any, y: Any, train: Any, val: Any, lam: float) -> float:
    """Validation MAE of KRR fitted on ``train`` rows of a full kernel matrix ``K``.

    Parameters
    ----------
    K : ndarray or torch.Tensor, shape (n, n)
        Kernel matrix of all samples of the cross-validation.
    y : ndarray or tensor, shape (n,)
    train, val : ndarray of int (or index tensors on ``K``'s device)
    lam : float

    Returns
    -------
    float
        Mean absolute error on ``val``; NaN when the Cholesky factorisation fails.
    """
    if isinstance(K, np.ndarray):
        Ktr = K[np.ix_(train, train)]
        try:
            alpha = solve_cholesky(Ktr, y[train], lam, overwrite=True)
        except CholeskyError:
            return float("nan")
        pred = K[np.ix_(val, train)] @ alpha
        return float(np.mean(np.abs(pred - y[val])))
    Ktr = K[train[:, None], train[None, :]]  # one gather on the device
    try:
        alpha = solve_cholesky(Ktr, y[train], lam, overwrite=True)
    except CholeskyError:
        return float("nan")
    del Ktr
    pred = K[val[:, None], train[None, :]] @ alpha
    return float((pred - y[val]).abs().mean())


@dataclass(frozen=True)
class CVResult:
    """Outcome of :func:`grid_search_cv`.

    Attributes
    ----------
    sigma, lam : float
        The best pair (lowest mean validation MAE).
    mae : float
        Its mean validation MAE.
    sigmas, lams : ndarray
        The grid.
    scores : ndarray, shape (len(sigmas), len(lams))
        Mean validation MAE per pair (NaN where a Cholesky factorisation failed).
    """

    sigma: float
    lam: float
    mae: float
    sigmas: np.ndarray
    lams: np.ndarray
    scores: np.ndarray


def grid_search_cv(
    X: Any,
    y: Any,
    kernel: str | DistanceKernel,
    sigmas: Sequence[float],
    lams: Sequence[float] = (1e-8,),
    *,
    k: int = 5,
    seed: int | None = 0,
    distances: np.ndarray | None = None,
    n_jobs: int | None = None,
    progress: bool | None = False,
) -> CVResult:
    """Choose ``sigma`` and ``lambda`` of KRR by k-fold cross-validation on a grid.

    Parameters
    ----------
    X : array (n, d)
        Training representations (ignored when ``distances`` is given).
    y : array (n,)
    kernel : {"gaussian", "laplacian", "wasserstein"} or DistanceKernel
    sigmas, lams : sequences of float
        The grid.
    k : int
        Folds.
    seed : int, optional
        Seed of the fold split.
    distances : ndarray or torch.Tensor (n, n), optional
        ``kernel.distances(X)`` if already computed (a learning curve reuses one matrix). With
        a kernel on a torch device, everything stays on that device.
    n_jobs : int, optional
        Threads for the distance computation.
    progress : bool or None
        A tqdm bar over the (sigma, lambda, fold) fits; None shows it only on a terminal.

    Returns
    -------
    CVResult

    Raises
    ------
    CholeskyError
        When every grid point failed to factorise.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.linspace(0, 1, 40)[:, None]
    >>> r = grid_search_cv(x, np.sin(6 * x[:, 0]), "gaussian", [0.01, 0.2, 5.0], [1e-8])
    >>> r.sigma
    0.2
    """
    kern = make_kernel(kernel, n_jobs=n_jobs) if isinstance(kernel, str) else kernel
    yv = np.asarray(y, dtype=np.float64).reshape(-1)
    D = kern.distances(X) if distances is None else distances
    if tuple(D.shape) != (len(yv), len(yv)):
        raise ValueError(f"distances must be ({len(yv)}, {len(yv)}), got {tuple(D.shape)}")
    sig = np.asarray(sigmas, dtype=np.float64)
    lam = np.asarray(lams, dtype=np.float64)
    folds: list[tuple[Any, Any]] = kfold(len(yv), k, seed)
    scores = np.full((len(sig), len(lam)), np.nan)
    ys: Any = yv
    K: Any  # an ndarray or a torch tensor, as D
    if isinstance(D, np.ndarray):
        K = np.empty_like(D)
    else:  # a torch tensor (the kernel's device is a torch device)
        import torch

        K = torch.empty_like(D)
        ys = torch.as_tensor(yv, device=D.device)
        folds = [(torch.as_tensor(tr, device=D.device), torch.as_tensor(va, device=D.device))
                 for tr, va in folds]
    from tqdm.auto import tqdm

    bar = tqdm(total=len(sig) * len(lam) * k, desc=f"{k}-fold CV", unit="fit",
               disable=None if progress is None else not progress)
    try:
        for i, s in enumerate(sig):
            kern.from_distances(D, float(s), out=K)
            for j, lm in enumerate(lam):
                maes = []
                for tr, va in folds:
                    maes.append(fold_mae(K, ys, tr, va, float(lm)))
                    bar.update()
                scores[i, j] = np.mean(maes)
                bar.set_postfix(best=f"{np.nanmin(scores):.3g}" if np.isfinite(scores).any()
                                else "n/a")
                log.debug("sigma %g lambda %g: CV MAE %g", s, lm, scores[i, j])
    finally:
        bar.close()
    if np.isnan(scores).all():
        raise CholeskyError("every (sigma, lambda) of the grid failed to factorise: use larger "
                            "lambdas")
    bi, bj = np.unravel_index(np.nanargmin(scores), scores.shape)
    return CVResult(sigma=float(sig[bi]), lam=float(lam[bj]), mae=float(scores[bi, bj]),
                    sigmas=sig, lams=lam, scores=scores)
