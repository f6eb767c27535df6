"""KRR hyper-parameters by asktell's own ask/tell optimisers (CMA-ES by default).

The optimiser proposes points ``(log10 sigma, log10 lambda)``; every point is scored by k-fold
cross-validation, one evaluation per (point, fold), so an evaluator (sequential, parallel on
worker processes, or a Dask cluster) scores all folds of a batch at once. Distances are
computed once, before the loop.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from asktell.boundaries import RectangularBoundaries
from asktell.evaluators import Evaluator, SequentialEvaluator
from asktell.plugins import create

from ._base import DistanceKernel
from .cv import fold_mae, kfold
from .krr import make_kernel

__all__ = ["CVFoldObjective", "HyperoptResult", "optimise_hyperparameters"]

log = logging.getLogger(__name__)


class CVFoldObjective:
    """Validation MAE of one fold at one point: ``f((log10_sigma, log10_lam, fold)) -> MAE``.

    Picklable (a kernel name, its parameters and arrays), so parallel evaluators can send it to
    worker processes.

    Parameters
    ----------
    distances : ndarray, shape (n, n)
        ``kernel.distances(X)`` of the training representations.
    y : ndarray, shape (n,)
    kernel : str
        Registered kernel name.
    folds : list of (train, validation) index arrays
    kernel_params : dict, optional
        Other kernel hyper-parameters (``p``).
    """

    def __init__(self, distances: np.ndarray, y: np.ndarray, kernel: str,
                 folds: Sequence[tuple[np.ndarray, np.ndarray]],
                 kernel_params: dict[str, Any] | None = None) -> None:
        self.distances = distances
        self.y = np.asarray(y, dtype=np.float64)
        self.kernel = kernel
        self.kernel_params = dict(kernel_params or {})
        self.folds = list(folds)
        self._cached: tuple[float, np.ndarray] | None = None  # last sigma's kernel matrix

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_cached"] = None
        return state

    def __call__(self, item: tuple[float, float, int]) -> float:
        """MAE of fold ``item[2]`` with ``sigma = 10**item[0]``, ``lambda = 10**item[1]``."""
        log_sigma, log_lam, fold = item
        if self._cached is None or self._cached[0] != float(log_sigma):
            kern = make_kernel(self.kernel, **self.kernel_params, n_jobs=1)
            out = None if self._cached is None else self._cached[1]
            K = kern.from_distances(self.distances, 10.0 ** float(log_sigma), out=out)
            self._cached = (float(log_sigma), K)
        K = self._cached[1]
        tr, va = self.folds[int(fold)]
        return fold_mae(K, self.y, tr, va, 10.0 ** float(log_lam))


@dataclass(frozen=True)
class HyperoptResult:
    """Outcome of :func:`optimise_hyperparameters`.

    Attributes
    ----------
    sigma, lam : float
        Best point found.
    mae : float
        Its mean validation MAE.
    n_evaluations : int
        Points scored (each over all folds).
    history : list of (log10 sigma, log10 lambda, mean MAE)
    stop : dict or None
        Why the optimiser stopped (None: the iteration budget ran out).
    """

    sigma: float
    lam: float
    mae: float
    n_evaluations: int
    history: list[tuple[float, float, float]] = field(repr=False)
    stop: dict[str, Any] | None = None


def optimise_hyperparameters(
    X: Any,
    y: Any,
    kernel: str = "wasserstein",
    *,
    x0: Sequence[float] = (1.0, -8.0),
    bounds: Sequence[Sequence[float]] = ((-2.0, 6.0), (-12.0, 0.0)),
    sigma0: float = 1.0,
    k: int = 5,
    optimiser: str = "cmaes",
    max_iterations: int = 20,
    evaluator: Callable[[CVFoldObjective], Evaluator] | None = None,
    seed: int | None = 0,
    distances: np.ndarray | None = None,
    kernel_params: dict[str, Any] | None = None,
    optimiser_options: dict[str, Any] | None = None,
) -> HyperoptResult:
    """Minimise the k-fold CV MAE of KRR over ``(log10 sigma, log10 lambda)`` by ask/tell.

    Parameters
    ----------
    X : array (n, d)
        Training representations (ignored when ``distances`` is given).
    y : array (n,)
    kernel : str
        ``"gaussian"``, ``"laplacian"`` or ``"wasserstein"``.
    x0 : (float, float)
        Starting point, ``(log10 sigma, log10 lambda)``.
    bounds : ((lo, hi), (lo, hi))
        Box for ``log10 sigma`` and ``log10 lambda``.
    sigma0 : float
        Initial step size of the optimiser, in decades.
    k : int
        Folds.
    optimiser : str
        A registered asktell optimiser (``"cmaes"``, ``"xnes"``, ...).
    max_iterations : int
        Batches asked at most.
    evaluator : callable, optional
        Builds the evaluator from the :class:`CVFoldObjective`, for example
        ``lambda f: asktell.ParallelEvaluator(f, n_workers=2)`` to score the folds of a batch
        in parallel; default :class:`asktell.SequentialEvaluator`. The evaluator is closed at
        the end. A failed fold (Cholesky failure) fails its point, which the optimiser ranks
        worst.
    seed : int, optional
        Seeds the optimiser and the fold split.
    distances : ndarray (n, n), optional
        Precomputed ``kernel.distances(X)``.
    kernel_params : dict, optional
        Other kernel hyper-parameters (``p``).
    optimiser_options : dict, optional
        More keyword arguments for the optimiser.

    Returns
    -------
    HyperoptResult

    Examples
    --------
    >>> import numpy as np
    >>> x = np.linspace(0, 1, 40)[:, None]
    >>> r = optimise_hyperparameters(x, np.sin(6 * x[:, 0]), "gaussian", x0=(0.0, -6.0),
    ...                              max_iterations=8, seed=1)
    >>> bool(r.mae < 1e-2)
    True
    """
    kp = dict(kernel_params or {})
    yv = np.asarray(y, dtype=np.float64).reshape(-1)
    if distances is None:
        kern: DistanceKernel = make_kernel(kernel, **kp)
        distances = kern.distances(X)
    folds = kfold(len(yv), k, seed)
    objective = CVFoldObjective(distances, yv, kernel, folds, kp)
    ev = (evaluator or SequentialEvaluator)(objective)
    lo, hi = np.asarray(bounds, dtype=np.float64).T
    opt = create(optimiser, x0=list(map(float, x0)), sigma0=float(sigma0),
                 boundaries=RectangularBoundaries(lo, hi), seed=seed,
                 **dict(optimiser_options or {}))
    history: list[tuple[float, float, float]] = []
    reason = None
    try:
        reason = _loop(opt, ev, k, max_iterations, history)
    finally:
        ev.close()
    best = np.asarray(opt.xbest(), dtype=np.float64)
    return HyperoptResult(sigma=float(10 ** best[0]), lam=float(10 ** best[1]),
                          mae=float(opt.fbest()), n_evaluations=len(history), history=history,
                          stop=reason or None)


def _loop(opt: Any, ev: Evaluator, k: int, max_iterations: int,
          history: list[tuple[float, float, float]]) -> dict[str, Any] | None:
    reason = None
    for _ in range(max_iterations):
        reason = opt.stop()
        if reason:
            break
        xs = np.asarray(opt.ask())
        items = [(float(x[0]), float(x[1]), f) for x in xs for f in range(k)]
        fold_values = np.asarray(ev(items), dtype=np.float64).reshape(len(xs), k)
        # A point with a failed fold fails as a whole (NaN: ranked worst by tell).
        scores = fold_values.mean(axis=1)
        opt.tell(scores)
        history.extend((float(x[0]), float(x[1]), float(s)) for x, s in zip(xs, scores))
        log.debug("batch scored: best so far %g", opt.fbest())
    return reason
