"""``fmin``: minimise a function in one call, on top of the controller."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from .boundaries import Boundaries
from .controller import Callback, Controller, RunResult
from .evaluators import SequentialEvaluator
from .parallel import ParallelEvaluator
from .plugins import registry

__all__ = ["fmin"]


def fmin(
    f: Callable[[np.ndarray], float],
    x0: Sequence[float] | np.ndarray,
    sigma0: float | Sequence[float] | np.ndarray | None = None,
    *,
    method: str = "cmaes",
    boundaries: Boundaries | None = None,
    restarts: str | None = None,
    max_restarts: int = 9,
    seed: int | None = None,
    n_workers: int | None = None,
    max_evaluations: int | None = None,
    max_iterations: int | None = None,
    target: float | None = None,
    direction: str = "minimise",
    callbacks: Iterable[Callback] = (),
    progress: bool | None = False,
    **options: Any,
) -> RunResult:
    """Minimise (or maximise) ``f`` from ``x0`` with a registered optimiser.

    Like ``pints.fmin`` and ``cma.fmin2``: builds the optimiser, an evaluator and a
    :class:`asktell.Controller`, and runs to a stop.

    Parameters
    ----------
    f : callable
        ``f(x) -> float`` for one point ``x`` (a read-only array); NaN, inf or an exception
        marks a failed evaluation.
    x0 : array_like, shape (d,)
        Starting point.
    sigma0 : float or array_like, optional
        Initial step size(s).
    method : str
        A registered optimiser: ``"cmaes"``, ``"xnes"``, ``"snes"``, ``"pso"``,
        ``"nelder-mead"`` or a plugin's.
    boundaries : Boundaries, optional
        Search region.
    restarts : {None, "ipop", "bipop"}
        Restart schedule (population optimisers only).
    max_restarts : int
        Restarts allowed by the schedule.
    seed : int, optional
        Seed of the optimiser.
    n_workers : int, optional
        Evaluate each batch on this many processes (a :class:`asktell.ParallelEvaluator`);
        default: in this process.
    max_evaluations, max_iterations, target : optional
        Stopping rules of the controller (see :class:`asktell.StoppingRules`); the optimiser's
        own criteria apply too.
    direction : {"minimise", "maximise"}
        Whether to minimise or maximise ``f``.
    callbacks : iterable of callables
        Called after every batch with an :class:`asktell.IterationInfo`.
    progress : bool or None
        Progress bar (None: on a terminal only).
    **options
        Further keyword arguments of the optimiser (``popsize``, ``tolfun``, ...).

    Returns
    -------
    RunResult
        ``xbest``, ``fbest``, ``evaluations``, ``stop_reason``, ...

    Examples
    --------
    >>> import numpy as np
    >>> r = fmin(lambda x: float(np.sum((x - 1.0) ** 2)), [0.0, 0.0], 0.5, seed=1)
    >>> np.round(r.xbest, 6).tolist(), sorted(r.stop_reason)[0]
    ([1.0, 1.0], 'tolfun')
    """
    kwargs: dict[str, Any] = dict(options)
    kwargs.update(x0=x0, sigma0=sigma0, boundaries=boundaries, seed=seed, direction=direction)
    if restarts is not None:
        kwargs.update(restarts=restarts, max_restarts=max_restarts)
    opt = registry().create(method, **kwargs)
    evaluate = SequentialEvaluator(f) if n_workers in (None, 1) else ParallelEvaluator(
        f, n_workers=n_workers)
    stop = {"max_evaluations": max_evaluations, "max_iterations": max_iterations,
            "target": target}
    ctl = Controller(opt, evaluate, stop={k: v for k, v in stop.items() if v is not None},
                     callbacks=callbacks, progress=progress)
    try:
        return ctl.run()
    finally:
        evaluate.close()
