"""IPOP, BIPOP and independent restarts inside the ask/tell object, around any population
optimiser.

:func:`asktell.create` applies them to any registered optimiser, built-in or third-party:
``asktell.create(name, restarts="bipop", ...)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .boundaries import Boundaries
from .numeric import PopulationOptimiser
from .protocol import MINIMISE, Optimiser

__all__ = ["Restarts"]

SCHEDULES = ("ipop", "bipop", "independent")


class Restarts(Optimiser):
    """Restart a population optimiser when it stops, with a growing population (IPOP),
    interleaving large- and small-population runs (BIPOP), or from a fresh random point with the
    same settings (independent restarts), all inside one ask/tell object.

    ``ask()`` keeps returning batches across restarts: when the current run's own
    :meth:`~asktell.Optimiser.stop` fires, the next :meth:`ask` starts a new run (from ``x0``,
    or from a random point of ``domain`` for independent restarts).
    :meth:`stop` reports the last run's reasons with ``restarts`` (the number of restarts made)
    once the schedule is exhausted. :attr:`restart_index` tells which run asked the last batch
    (the run store records it with each batch).

    * **IPOP** [1]_: run k has population ⌊λ₀ · 2^k⌋ and the initial step size σ₀, with
      λ₀ = 4 + 3 ln d unrounded (pycma's ``fmin``), or the ``popsize`` given.
    * **BIPOP** [2]_, as in pycma's ``fmin(..., bipop=True)``: after the first run, a run with a
      *large* population (λ₀ · 2^j, σ₀, j counting large runs) alternates with runs with a
      *small* population λ₀ · (λ_large/λ₀)^(U²) and step size σ₀ · 10^(−2U) (U ~ U(0, 1)),
      limited to half the evaluations of the large runs so far; a small run is chosen whenever
      the small runs have used fewer evaluations than the large ones. Small runs do not count
      toward ``max_restarts``.
    * **independent**, as COCO's experimental set-up suggests for stochastic solvers [3]_: every
      run has the first run's settings (population size, ``sigma0``, iteration limit) and a new
      seed, and starts from a point drawn uniformly in ``domain``; the first run starts from
      ``x0``.

    Parameters
    ----------
    factory : callable
        Builds the inner optimiser: ``factory(**kwargs, popsize=..., sigma0=..., seed=...,
        direction="minimise", max_iterations=...)`` must return a
        :class:`asktell.PopulationOptimiser` (XNES, SNES, CMA-ES, PSO).
    kwargs : dict
        Arguments of the first run (``x0``, ``sigma0``, ``boundaries``, ...).
    schedule : {"ipop", "bipop", "independent"}
        The restart schedule.
    max_restarts : int
        Restarts after the first run (small BIPOP runs excluded); pycma's default 9.
    incpopsize : float
        Population growth factor between large runs (2, as pycma).
    domain : Boundaries, optional
        Where independent restarts draw their starting points (``domain.sample``); default the
        ``boundaries`` in ``kwargs``. Only for ``schedule="independent"``, which needs one of the
        two. Giving a domain without boundaries restarts inside it while the search itself stays
        unbounded (as on COCO's ``bbob`` suite, whose optima lie in [-5, 5]^d).
    seed, direction
        See :class:`asktell.Optimiser`; each run's seed (and each independent restart's
        starting point) is drawn from this optimiser's generator, so the first run differs from
        the plain optimiser's with the same seed.

    References
    ----------
    .. [1] Auger, A. & Hansen, N. (2005). A restart CMA evolution strategy with increasing
       population size. *2005 IEEE Congress on Evolutionary Computation*, 2, 1769–1776.
       doi:10.1109/CEC.2005.1554902
    .. [2] Hansen, N. (2009). Benchmarking a BI-population CMA-ES on the BBOB-2009 function
       testbed. *GECCO '09 Companion*, 2389–2396. doi:10.1145/1570256.1570333
    .. [3] Hansen, N., Auger, A., Ros, R., Mersmann, O., Tušar, T. & Brockhoff, D. (2021).
       COCO: a platform for comparing continuous optimizers in a black-box setting.
       *Optimization Methods and Software*, 36(1), 114–144. doi:10.1080/10556788.2020.1808977

    Examples
    --------
    >>> import numpy as np, asktell
    >>> opt = asktell.create("cmaes", x0=np.full(3, 2.0), sigma0=2.0, restarts="ipop",
    ...                      max_restarts=2, seed=1)
    >>> while opt.stop() is None:
    ...     xs = opt.ask()
    ...     opt.tell(10 * 3 + np.sum(xs**2 - 10 * np.cos(2 * np.pi * xs), axis=1))
    >>> opt.stop()["restarts"], opt.restart_index
    (2, 2)

    Independent restarts draw each new starting point inside the boundaries:

    >>> box = asktell.RectangularBoundaries([-5, -5], [5, 5])
    >>> opt = asktell.create("xnes", x0=[4.0, 4.0], sigma0=1.0, boundaries=box,
    ...                      restarts="independent", max_restarts=1, seed=1)
    >>> while opt.stop() is None:
    ...     opt.tell(np.sum(opt.ask()**2, axis=1))
    >>> bool(box.check(opt.inner.x0)), opt.inner.x0.tolist() != [4.0, 4.0]
    (True, True)
    """

    def __init__(
        self,
        factory: Callable[..., PopulationOptimiser],
        kwargs: dict[str, Any],
        *,
        schedule: str = "ipop",
        max_restarts: int = 9,
        incpopsize: float = 2.0,
        domain: Boundaries | None = None,
        seed: int | None = None,
        direction: str = MINIMISE,
    ) -> None:
        super().__init__(seed=seed, direction=direction)
        if schedule not in SCHEDULES:
            raise ValueError(f"restarts must be None, 'ipop' or 'bipop' (growing populations) "
                             f"or 'independent', got {schedule!r}")
        if isinstance(max_restarts, bool) or not isinstance(max_restarts, int) \
                or max_restarts < 0:
            raise ValueError(f"max_restarts must be a non-negative int, got {max_restarts!r}")
        if not incpopsize > 1:
            raise ValueError(f"incpopsize must be > 1, got {incpopsize}")
        kwargs = {k: v for k, v in kwargs.items() if k not in ("seed", "direction")}
        self._factory = factory
        self._kwargs = kwargs
        self._schedule = schedule
        self._max_restarts = max_restarts
        self._incpopsize = float(incpopsize)
        first_kw = {"seed": self._draw_seed()}
        inner = self._build(first_kw)
        if not isinstance(inner, PopulationOptimiser):
            raise TypeError(f"restarts need a population optimiser, got {type(inner).__name__}")
        self._domain = self._check_domain(domain, inner, schedule)
        self.name = f"{inner.name}+{schedule}"
        # As pycma's fmin: populations grow from the unrounded default 4 + 3 ln d (10.9 for
        # d = 10, giving 21, 43, 87, ...), not from the first run's rounded 10. On Rastrigin
        # (d = 10) this took BIPOP from 9/30 to 20/30 solved runs (optim_convergence.py).
        given = kwargs.get("popsize")
        self._popsize0 = float(given) if given else 4 + 3 * math.log(inner.n_parameters)
        self._sigma0 = inner.sigma0.copy()
        self._maxiter0 = getattr(inner, "max_iterations", None)
        self._inner = inner
        self._inner_kw = first_kw
        self._restart = 0
        self._runs_with_small = 0
        self._poptype = "small"  # pycma accounts the first run's budget as small
        self._small_evals: list[int] = []
        self._large_evals: list[int] = []
        self._run_evals = 0

    # ------------------------------------------------------------------ runs

    @staticmethod
    def _check_domain(domain: Boundaries | None, inner: PopulationOptimiser,
                      schedule: str) -> Boundaries | None:
        if schedule != "independent":
            if domain is not None:
                raise ValueError(f"domain is only for restarts='independent', not {schedule!r}")
            return None
        domain = inner.boundaries if domain is None else domain
        if domain is None:
            raise ValueError("restarts='independent' draws each restart's x0 inside a region: "
                             "give boundaries (or domain=)")
        if not isinstance(domain, Boundaries):
            raise TypeError(f"domain must be an asktell.Boundaries, got {type(domain).__name__}")
        if domain.n_parameters != inner.n_parameters:
            raise ValueError(f"domain is {domain.n_parameters}-dimensional but x0 has "
                             f"{inner.n_parameters} entries")
        return domain

    def _draw_seed(self) -> int:
        return int(self._rng.integers(2**63 - 1))

    def _build(self, kw: dict[str, Any]) -> PopulationOptimiser:
        args = {**self._kwargs, **kw, "direction": MINIMISE}
        if "sigma0" in kw and kw["sigma0"] is not None:
            args["sigma0"] = np.asarray(kw["sigma0"], dtype=float)
        return self._factory(**args)

    def _exhausted(self) -> bool:
        return self._restart + 1 - self._runs_with_small > self._max_restarts

    def _next_run(self) -> None:
        (self._small_evals if self._poptype == "small" else self._large_evals).append(
            self._run_evals)
        self._restart += 1
        self._run_evals = 0
        if self._domain is not None:  # independent: the first run's settings, a fresh start
            kw_ind: dict[str, Any] = {"seed": self._draw_seed(),
                                      "x0": self._domain.sample(1, self._rng)[0].tolist()}
            self._inner = self._build(kw_ind)
            self._inner_kw = kw_ind
            return
        sigma = self._sigma0
        maxiter = None
        if self._schedule == "ipop":
            popsize = int(self._popsize0 * self._incpopsize ** self._restart)
        elif sum(self._small_evals) < max(1, sum(self._large_evals)):
            self._poptype = "small"
            self._runs_with_small += 1
            u1, u2 = self._rng.uniform(size=2)
            sigma = sigma * 0.01**u1
            mult = self._incpopsize ** (self._restart - self._runs_with_small)
            popsize = max(2, int(self._popsize0 * mult ** (u2**2)))
            budget = 0.5 * sum(self._large_evals) / popsize
            maxiter = max(1, int(min(self._maxiter0 or budget, budget)))
        else:
            self._poptype = "large"
            mult = self._incpopsize ** (self._restart - self._runs_with_small)
            popsize = int(self._popsize0 * mult)
            maxiter = self._maxiter0  # pycma keeps the first run's iteration limit
        kw: dict[str, Any] = {"seed": self._draw_seed(), "popsize": popsize, "sigma0": sigma}
        if maxiter is not None:
            kw["max_iterations"] = maxiter
        self._inner = self._build(kw)
        self._inner_kw = kw

    @property
    def restart_index(self) -> int:
        """Which run (0 for the first) asked the last batch."""
        return self._restart

    @property
    def inner(self) -> PopulationOptimiser:
        """The current run's optimiser (read it; do not ask or tell it)."""
        return self._inner

    # ------------------------------------------------------------------ the protocol

    def _ask(self) -> np.ndarray:
        if self._inner.stop() is not None and not self._exhausted():
            self._next_run()
        batch: np.ndarray = self._inner.ask()
        return batch

    def _tell(self, losses: np.ndarray) -> None:
        self._inner.tell(losses)
        self._run_evals += losses.size

    def _batch_extras(self) -> dict[str, float]:
        return {"restart": self._restart}

    def _stop(self) -> dict[str, Any] | None:
        reasons = self._inner.stop()
        if reasons is None or not self._exhausted():
            return None
        return {**reasons, "restarts": self._restart}

    def _default_xbest(self) -> Any:
        return self._inner.xbest()

    def _get_state(self) -> dict[str, Any]:
        return {
            "restart": self._restart,
            "runs_with_small": self._runs_with_small,
            "poptype": self._poptype,
            "small_evals": self._small_evals,
            "large_evals": self._large_evals,
            "run_evals": self._run_evals,
            "inner_kw": self._inner_kw,
            "inner": self._inner.state_dict(),
        }

    def _set_state(self, state: dict[str, Any]) -> None:
        self._restart = int(state["restart"])
        self._runs_with_small = int(state["runs_with_small"])
        self._poptype = str(state["poptype"])
        self._small_evals = [int(v) for v in state["small_evals"]]
        self._large_evals = [int(v) for v in state["large_evals"]]
        self._run_evals = int(state["run_evals"])
        self._inner_kw = dict(state["inner_kw"])
        inner = self._build(self._inner_kw)
        inner.load_state_dict(state["inner"])
        self._inner = inner
