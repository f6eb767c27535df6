"""Nelder–Mead simplex search in ask/tell form."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from asktell.boundaries import Boundaries
from asktell.numeric import NumericOptimiser
from asktell.protocol import MINIMISE

__all__ = ["NelderMead"]

_STEPS = ("init", "reflect", "expand", "outside", "inside", "shrink")


class NelderMead(NumericOptimiser):
    """The Nelder–Mead simplex method [1]_ as a sequence of small batches.

    A simplex of d + 1 vertices moves by reflecting its worst vertex through the centroid x̄ of
    the others. Each step needs only the points it will look at, so ``ask()`` returns:

    * the d + 1 vertices of the initial simplex, once;
    * 1 point, the reflection x_r = x̄ + ρ (x̄ − x_worst);
    * then, depending on f(x_r), nothing more (x_r replaces the worst vertex), or 1 point: the
      expansion x̄ + ρχ (x̄ − x_worst) if x_r is the best so far, the outside contraction
      x̄ + ψρ (x̄ − x_worst) if it beats only the worst, else the inside contraction
      x̄ − ψ (x̄ − x_worst);
    * d points when a contraction fails: the shrink x_i ← x_best + σ (x_i − x_best).

    The decisions and their order are those of ``scipy.optimize.minimize(method="Nelder-Mead")``
    (Lagarias et al.'s formulation), so the two visit the same points. Coefficients: ρ = 1,
    χ = 2, ψ = ½, σ = ½; with ``adaptive`` (default for d > 2) those of Gao & Han [2]_:
    χ = 1 + 2/d, ψ = ¾ − 1/(2d), σ = 1 − 1/d, which keep the method effective in higher
    dimensions. Parallel evaluation helps only with the initial simplex and shrinks; the method
    is inherently sequential.

    Parameters
    ----------
    x0 : array_like, shape (d,)
        First vertex.
    sigma0 : float or array_like, optional
        Edge lengths of the initial simplex along each axis (vertex i + 1 is x0 + sigma0_i e_i).
        Default, as scipy: 5% of x0_i, or 0.00025 where x0_i is 0.
    boundaries : Boundaries, optional
        Every asked point is projected onto the boundaries (as scipy clips to its bounds), and
        the projection becomes the vertex.
    adaptive : bool, optional
        Gao–Han coefficients; default: True when d > 2.
    xatol, fatol : float
        Stop when every vertex lies within ``xatol`` of the best along every coordinate and
        every vertex value within ``fatol`` of the best (scipy's defaults, 1e-4).
    max_iterations, max_evaluations : int, optional
        Stop after this many reflection steps, or evaluations; default 200 d each (scipy's).
    seed, direction
        See :class:`asktell.Optimiser` (the method uses no randomness).

    References
    ----------
    .. [1] Nelder, J. A. & Mead, R. (1965). A simplex method for function minimization.
       *The Computer Journal*, 7(4), 308–313. doi:10.1093/comjnl/7.4.308
    .. [2] Gao, F. & Han, L. (2012). Implementing the Nelder–Mead simplex algorithm with
       adaptive parameters. *Computational Optimization and Applications*, 51(1), 259–277.
       doi:10.1007/s10589-010-9329-3

    Examples
    --------
    >>> import numpy as np
    >>> opt = NelderMead(x0=[-1.2, 1.0])
    >>> while opt.stop() is None:
    ...     xs = opt.ask()
    ...     opt.tell([100 * (x[1] - x[0] ** 2) ** 2 + (1 - x[0]) ** 2 for x in xs])
    >>> np.round(opt.xbest(), 3).tolist()
    [1.0, 1.0]
    """

    name = "nelder-mead"
    state_limits: ClassVar[Mapping[str, str]] = {"sim": "finite", "xr": "finite"}

    def __init__(
        self,
        x0: Sequence[float] | np.ndarray,
        sigma0: float | Sequence[float] | np.ndarray | None = None,
        boundaries: Boundaries | None = None,
        *,
        adaptive: bool | None = None,
        xatol: float = 1e-4,
        fatol: float = 1e-4,
        max_iterations: int | None = None,
        max_evaluations: int | None = None,
        seed: int | None = None,
        direction: str = MINIMISE,
    ) -> None:
        super().__init__(x0, sigma0 if sigma0 is not None else 1.0, boundaries, seed=seed,
                         direction=direction)
        d = self.n_parameters
        if sigma0 is None:
            steps = np.where(self._x0 != 0, 0.05 * self._x0, 0.00025)
        else:
            steps = self._sigma0
        if adaptive is None:
            adaptive = d > 2
        self._adaptive = bool(adaptive)
        self._rho = 1.0
        if self._adaptive:
            self._chi, self._psi, self._sigma = 1 + 2 / d, 0.75 - 1 / (2 * d), 1 - 1 / d
        else:
            self._chi, self._psi, self._sigma = 2.0, 0.5, 0.5
        self._xatol, self._fatol = float(xatol), float(fatol)
        self._max_cycles = int(max_iterations if max_iterations is not None else 200 * d)
        self._max_evals = int(max_evaluations if max_evaluations is not None else 200 * d)
        sim = np.tile(self._x0, (d + 1, 1))
        sim[np.arange(1, d + 1), np.arange(d)] += steps
        self._sim = sim
        self._fsim = np.full(d + 1, np.inf)
        self._step = "init"
        self._points: np.ndarray | None = None
        self._xr = np.zeros(d)
        self._fxr = np.inf
        self._cycles = 0

    # ------------------------------------------------------------------ the protocol

    def _centroid_and_worst(self) -> tuple[np.ndarray, np.ndarray]:
        return self._sim[:-1].mean(axis=0), self._sim[-1]

    def _ask(self) -> np.ndarray:
        step = self._step
        if step == "init":
            pts = self._sim.copy()
        elif step == "shrink":
            s0 = self._sim[0]
            pts = s0 + self._sigma * (self._sim[1:] - s0)
        else:
            xbar, worst = self._centroid_and_worst()
            rho, chi, psi = self._rho, self._chi, self._psi
            if step == "reflect":
                p = (1 + rho) * xbar - rho * worst
            elif step == "expand":
                p = (1 + rho * chi) * xbar - rho * chi * worst
            elif step == "outside":
                p = (1 + psi * rho) * xbar - psi * rho * worst
            else:  # inside
                p = (1 - psi) * xbar + psi * worst
            pts = p[None, :]
        pts = self._repair(pts)[0]
        self._points = pts
        return pts.copy()

    def _accept(self, x: np.ndarray, fx: float) -> None:
        self._sim[-1] = x
        self._fsim[-1] = fx
        self._sort()

    def _sort(self) -> None:
        order = np.argsort(self._fsim)  # as scipy: the default (unstable) sort
        self._sim = self._sim[order]
        self._fsim = self._fsim[order]
        self._step = "reflect"
        self._cycles += 1

    def _tell(self, losses: np.ndarray) -> None:
        step, pts = self._step, self._points
        self._points = None
        if step == "init":
            self._sim = pts.copy()
            self._fsim = losses.copy()
            order = np.argsort(self._fsim)
            self._sim, self._fsim = self._sim[order], self._fsim[order]
            self._step = "reflect"
            self._cycles = 1  # scipy counts the initial simplex as its first iteration
            return
        if step == "shrink":
            self._sim[1:] = pts
            self._fsim[1:] = losses
            self._sort()
            return
        x, fx = pts[0], float(losses[0])
        fsim = self._fsim
        if step == "reflect":
            self._xr, self._fxr = x.copy(), fx
            if fx < fsim[0]:
                self._step = "expand"
            elif fx < fsim[-2]:
                self._accept(x, fx)
            elif fx < fsim[-1]:
                self._step = "outside"
            else:
                self._step = "inside"
        elif step == "expand":
            if fx < self._fxr:
                self._accept(x, fx)
            else:
                self._accept(self._xr, self._fxr)
        elif step == "outside":
            if fx <= self._fxr:
                self._accept(x, fx)
            else:
                self._step = "shrink"
        else:  # inside
            if fx < fsim[-1]:
                self._accept(x, fx)
            else:
                self._step = "shrink"

    def _stop(self) -> dict[str, Any] | None:
        reasons: dict[str, Any] = {}
        if self._cycles >= self._max_cycles:
            reasons["maxiter"] = self._max_cycles
        if self._evaluations >= self._max_evals:
            reasons["maxfev"] = self._max_evals
        if self._step == "reflect" and np.isfinite(self._fsim).all():
            if (np.abs(self._sim[1:] - self._sim[0]).max() <= self._xatol
                    and np.abs(self._fsim[1:] - self._fsim[0]).max() <= self._fatol):
                reasons["xatol"] = self._xatol
                reasons["fatol"] = self._fatol
        return reasons or None

    # ------------------------------------------------------------------ extras

    def simplex(self) -> tuple[np.ndarray, np.ndarray]:
        """Current vertices (best first) and their losses (lower is better)."""
        return self._sim.copy(), self._fsim.copy()

    def _get_state(self) -> dict[str, Any]:
        return {
            "sim": self._sim, "fsim": self._fsim, "step": self._step, "points": self._points,
            "xr": self._xr, "fxr": self._fxr, "cycles": self._cycles,
        }

    def _set_state(self, state: dict[str, Any]) -> None:
        sim = np.asarray(state["sim"], dtype=float)
        if sim.shape != self._sim.shape:
            raise ValueError(f"state is for another dimension: simplex of shape {sim.shape}")
        if state["step"] not in _STEPS:
            raise ValueError(f"unknown Nelder-Mead step {state['step']!r}")
        self._sim = sim.copy()
        self._fsim = np.array(state["fsim"], dtype=float)
        self._step = state["step"]
        pts = state["points"]
        self._points = None if pts is None else np.array(pts, dtype=float)
        self._xr = np.array(state["xr"], dtype=float)
        self._fxr = float(state["fxr"])
        self._cycles = int(state["cycles"])
