"""Particle swarm optimisation (PSO)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from asktell.boundaries import Boundaries
from asktell.numeric import PopulationOptimiser
from asktell.protocol import MINIMISE, AsyncAskTell

__all__ = ["PSO"]

#: φ = φ_local + φ_global = 4.1, as in PINTS and Clerc & Kennedy (2002).
_PHI = 4.1


def constriction(phi: float = _PHI) -> float:
    """Clerc & Kennedy's constriction coefficient χ = 2 / |2 − φ − sqrt(φ² − 4φ)| (φ > 4)."""
    return 2.0 / abs(2.0 - phi - math.sqrt(phi * phi - 4.0 * phi))


class PSO(AsyncAskTell, PopulationOptimiser):
    """Particle swarm optimisation [1]_, vectorised over the swarm.

    Each particle i has a position x_i, a velocity v_i and its best position p_i; g is the
    swarm's best. After a batch is told, personal and global bests are updated, then

    v_i ← χ (v_i + U(0, φ_l) ⊙ (p_i − x_i) + U(0, φ_g) ⊙ (g − x_i)),   x_i ← x_i + v_i,

    with φ_l = r φ, φ_g = (1 − r) φ, φ = 4.1 and r the local–global balance (PINTS's
    ``set_local_global_balance``, default 0.5). The constriction χ defaults to Clerc &
    Kennedy's 0.7298 [2]_, which keeps the swarm from diverging; ``chi=1`` gives PINTS's
    update (without constriction). ``ask()`` returns the positions to evaluate.

    Initialisation follows PINTS: the first particle at ``x0``, the others uniform inside the
    boundaries (or N(x0, sigma0²) without them), velocities 0.1 σ0 U(0, 1).

    **Asynchronous use** (:class:`asktell.AsyncAskTell`): asynchronous PSO, in which each
    particle moves as soon as its own result arrives: ``ask_async(n)`` hands out the positions
    of n idle particles (at most ``popsize`` particles are in flight); when a particle's result
    is told, its personal best and the swarm's best are updated at once, then its velocity and
    position, with the global best as it stands. Results are never stale: a particle is not
    asked again before it is told. One iteration is counted per ``popsize`` results.

    Parameters
    ----------
    x0 : array_like, shape (d,)
        Position of the first particle.
    sigma0 : float or array_like, optional
        Spread of the initial swarm; see :class:`asktell.NumericOptimiser` for the default.
    boundaries : Boundaries, optional
        **Bounds policy**: a particle whose move would leave the box has its velocity halved
        (as PINTS does) and, if still outside, its position projected onto the box, with the
        velocity set to the move actually made; every asked point lies inside.
    popsize : int, optional
        Number of particles; default 4 + ⌊3 ln d⌋.
    local_global_balance : float
        r in [0, 1]: 1 is a fully local search, 0 fully global.
    chi : float, optional
        Constriction coefficient (default 0.7298).
    tolx : float
        Stop when the swarm spans less than ``tolx`` along every coordinate and every speed
        is below ``tolx``.
    max_iterations : int, optional
        Stop after this many batches; default 100 + 150 (d + 3)² / √λ.
    seed, direction
        See :class:`asktell.Optimiser`.

    References
    ----------
    .. [1] Kennedy, J. & Eberhart, R. (1995). Particle swarm optimization. *Proceedings of
       ICNN'95 International Conference on Neural Networks*, 4, 1942–1948.
       doi:10.1109/ICNN.1995.488968
    .. [2] Clerc, M. & Kennedy, J. (2002). The particle swarm — explosion, stability, and
       convergence in a multidimensional complex space. *IEEE Transactions on Evolutionary
       Computation*, 6(1), 58–73. doi:10.1109/4235.985692

    Examples
    --------
    >>> import numpy as np
    >>> opt = PSO(x0=[2.0, 2.0], sigma0=1.0, popsize=20, seed=0)
    >>> for _ in range(200):
    ...     xs = opt.ask()
    ...     opt.tell(np.sum(xs**2, axis=1))
    >>> bool(opt.fbest() < 1e-8)
    True
    """

    name = "pso"
    state_limits: ClassVar[Mapping[str, str]] = {
        "xs": "finite", "vs": "finite", "pl": "finite", "pg": "finite"}

    def __init__(
        self,
        x0: Sequence[float] | np.ndarray,
        sigma0: float | Sequence[float] | np.ndarray | None = None,
        boundaries: Boundaries | None = None,
        *,
        popsize: int | None = None,
        local_global_balance: float = 0.5,
        chi: float | None = None,
        tolx: float = 1e-11,
        max_iterations: int | None = None,
        seed: int | None = None,
        direction: str = MINIMISE,
    ) -> None:
        super().__init__(x0, sigma0, boundaries, popsize=popsize, seed=seed, direction=direction)
        r = float(local_global_balance)
        if not 0.0 <= r <= 1.0:
            raise ValueError(f"local_global_balance must be in [0, 1], got {r}")
        self._phi_l, self._phi_g = r * _PHI, (1.0 - r) * _PHI
        self._chi = constriction() if chi is None else float(chi)
        if not self._chi > 0:
            raise ValueError(f"chi must be positive, got {chi}")
        self._tolx = float(tolx)
        d, n = self.n_parameters, self._popsize
        if max_iterations is None:
            max_iterations = self.default_max_iterations(d, n)
        self._max_iterations = int(max_iterations)
        rng = self._rng
        xs = np.empty((n, d))
        xs[0] = self._x0
        if boundaries is not None:
            try:
                xs[1:] = boundaries.sample(n - 1, rng)
            except NotImplementedError:
                xs[1:] = self._repair(rng.normal(self._x0, self._sigma0, (n - 1, d)))[0]
        else:
            xs[1:] = rng.normal(self._x0, self._sigma0, (n - 1, d))
        self._xs = xs
        self._vs = 0.1 * self._sigma0 * rng.uniform(0.0, 1.0, (n, d))
        self._pl = xs.copy()
        self._fl = np.full(n, np.inf)
        self._pg = xs[0].copy()
        self._fg = math.inf
        self._n_told = 0
        self._told_at = np.zeros(n)

    @property
    def max_iterations(self) -> int:
        """The iteration limit of :meth:`stop` (``maxiter``)."""
        return self._max_iterations

    def _ask(self) -> np.ndarray:
        return self._xs.copy()

    # ------------------------------------------------------------------ asynchronous

    stale_results = "never stale: each particle moves when its own result arrives"

    @property
    def max_in_flight(self) -> int:
        """One candidate per particle."""
        return self._popsize

    def _ask_async(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        busy = {int(r[0]) for _, r in self._asked.values()}
        idle = [i for i in self._idle_order() if i not in busy][:n]
        return self._xs[idle].copy(), np.array(idle, dtype=float)[:, None]

    def _idle_order(self) -> list[int]:
        """Particles, longest idle first (the order their results were told)."""
        n = self._popsize
        return sorted(range(n), key=lambda i: (self._told_at[i], i))

    def _tell_one(self, record: np.ndarray, loss: float) -> None:
        i = int(record[0])
        self._n_told += 1
        self._told_at[i] = self._n_told
        if loss < self._fl[i]:
            self._fl[i] = loss
            self._pl[i] = self._xs[i]
            if loss < self._fg:
                self._fg = loss
                self._pg = self._xs[i].copy()
        d = self.n_parameters
        u = self._rng.uniform(0.0, 1.0, (2, d))
        x = self._xs[i]
        v = self._chi * (self._vs[i] + (self._phi_l * u[0]) * (self._pl[i] - x)
                         + (self._phi_g * u[1]) * (self._pg - x))
        b = self._boundaries
        if b is not None and not b.contains((x + v)[None])[0]:
            v = 0.5 * v
            new = self._repair((x + v)[None])[0][0]
            v = new - x
        self._xs[i] = x + v
        self._vs[i] = v

    def _update_async(self, candidates: np.ndarray, records: np.ndarray,
                      losses: np.ndarray) -> None:
        """Nothing more: each particle moved when its result was told."""

    def _tell(self, losses: np.ndarray) -> None:
        better = losses < self._fl
        self._fl = np.where(better, losses, self._fl)
        self._pl[better] = self._xs[better]
        i = int(np.argmin(self._fl))
        if self._fl[i] < self._fg:
            self._fg = float(self._fl[i])
            self._pg = self._pl[i].copy()
        n, d = self._xs.shape
        u = self._rng.uniform(0.0, 1.0, (2, n, d))
        vs = self._chi * (
            self._vs
            + (self._phi_l * u[0]) * (self._pl - self._xs)
            + (self._phi_g * u[1]) * (self._pg - self._xs)
        )
        b = self._boundaries
        if b is not None:
            out = ~b.contains(self._xs + vs)
            if out.any():
                vs[out] *= 0.5
                new = self._repair(self._xs + vs)[0]
                vs = new - self._xs
                self._xs = new
                self._vs = vs
                return
        self._xs = self._xs + vs
        self._vs = vs

    def _stop(self) -> dict[str, Any] | None:
        reasons: dict[str, Any] = {}
        if self._iterations >= self._max_iterations:
            reasons["maxiter"] = self._max_iterations
        if (np.ptp(self._xs, axis=0).max() < self._tolx
                and np.abs(self._vs).max() < self._tolx):
            reasons["tolx"] = self._tolx
        return reasons or None

    def _get_state(self) -> dict[str, Any]:
        return {"xs": self._xs, "vs": self._vs, "pl": self._pl, "fl": self._fl,
                "pg": self._pg, "fg": self._fg, "n_told": self._n_told,
                "told_at": self._told_at}

    def _set_state(self, state: dict[str, Any]) -> None:
        xs = np.asarray(state["xs"], dtype=float)
        if xs.shape != self._xs.shape:
            raise ValueError(f"state is for another swarm: xs has shape {xs.shape}")
        self._xs = xs.copy()
        self._vs = np.array(state["vs"], dtype=float)
        self._pl = np.array(state["pl"], dtype=float)
        self._fl = np.array(state["fl"], dtype=float)
        self._pg = np.array(state["pg"], dtype=float)
        self._fg = float(state["fg"])
        self._n_told = int(state.get("n_told", 0))
        self._told_at = np.array(state.get("told_at", np.zeros(len(xs))), dtype=float)
