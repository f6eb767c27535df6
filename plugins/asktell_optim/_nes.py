"""What xNES and SNES share: rank-based utilities, the bounds policy, and stopping criteria."""

from __future__ import annotations

import abc
import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from asktell.boundaries import Boundaries
from asktell.numeric import PopulationOptimiser
from asktell.protocol import MINIMISE, AsyncAskTell

__all__ = ["NaturalEvolutionStrategy", "nes_utilities"]


def nes_utilities(n: int) -> np.ndarray:
    """Fitness-shaping utilities of Wierstra et al. (2014), Table 1 of Glasmachers et al. (2010).

    u_k = max(0, ln(λ/2 + 1) − ln k) / Σ_j max(0, ln(λ/2 + 1) − ln j) − 1/λ, for ranks k = 1..λ.

    Parameters
    ----------
    n : int
        Population size λ.

    Returns
    -------
    ndarray, shape (n,)
        Read-only utilities, best rank first; they sum to 0.
    """
    us = np.maximum(0.0, math.log(n / 2 + 1) - np.log(1 + np.arange(n)))
    us /= us.sum()
    us -= 1.0 / n
    us -= us.mean()  # exactly zero-sum up to rounding, as in the paper
    us.setflags(write=False)
    return us


class NaturalEvolutionStrategy(AsyncAskTell, PopulationOptimiser):
    """Base of xNES and SNES: sample z ~ N(0, I), map to x, rank, update.

    Subclasses implement ``_map(z) -> x``, ``_update(zs_ranked)`` (the natural-gradient step on
    samples sorted best first), ``_variances() -> ndarray`` (per-coordinate variances, for
    ``tolx``), and ``_get_dist()`` / ``_set_dist()`` for their distribution's state.

    Parameters
    ----------
    x0, sigma0, boundaries, popsize, seed, direction
        See :class:`asktell.PopulationOptimiser`. The bounds policy: a batch always holds
        ``popsize`` points, all inside; a sample that falls outside is projected onto the
        boundaries (its projection is what is asked and evaluated) and ranks after every inside
        sample, by its value and then its distance outside. This keeps PINTS's ranking, in which
        outside samples count as worst (PINTS gives them ``inf`` and asks fewer points), so the
        distribution is pushed back inside.
    tolx : float
        Stop when every standard deviation of the search distribution is below ``tolx``.
    tolfun : float
        Stop when the best values of the last 10 + ⌈30 d / λ⌉ batches, and all finite values of
        the current batch, span less than ``tolfun`` (as pycma's ``tolfun``).
    max_iterations : int, optional
        Stop after this many batches; default 100 + 150 (d + 3)² / √λ (pycma's ``maxiter``).

    Notes
    -----
    **Asynchronous use** (:class:`asktell.AsyncAskTell`): ``ask_async(n)`` samples n points
    from the current distribution; an update is made from the first λ results told, whatever
    distribution they were sampled from. Each told point is re-expressed in the current
    distribution (z = A⁻¹(x − μ) for xNES, (x − μ)/σ for SNES, from the unprojected sample),
    as pycma does for solutions it did not sample, so a stale result pulls the mean towards
    its point with the weight of its rank; the length of a stale z is clipped to
    √d + 2d/(d + 2), pycma's bound for such solutions. Stale samples move the mean only: the
    shape's update (A or σ) uses the fresh samples of the generation, as stale ones, ranked
    worse on average, would shrink the distribution along the direction of progress. With a
    few candidates in flight per λ (as with nevergrad's ``num_workers``) most results are at
    most one update old.
    """

    state_limits: ClassVar[Mapping[str, str]] = {
        "mu": "finite", "zs": "finite", "outside": "nonnegative"}

    def __init__(
        self,
        x0: Sequence[float] | np.ndarray,
        sigma0: float | Sequence[float] | np.ndarray | None = None,
        boundaries: Boundaries | None = None,
        *,
        popsize: int | None = None,
        tolx: float = 1e-11,
        tolfun: float = 1e-11,
        max_iterations: int | None = None,
        seed: int | None = None,
        direction: str = MINIMISE,
    ) -> None:
        super().__init__(x0, sigma0, boundaries, popsize=popsize, seed=seed, direction=direction)
        d, n = self.n_parameters, self._popsize
        self._us = nes_utilities(n)
        if not (tolx >= 0 and tolfun >= 0):
            raise ValueError(f"tolx and tolfun must be non-negative, got {tolx=}, {tolfun=}")
        self._tolx = float(tolx)
        self._tolfun = float(tolfun)
        if max_iterations is None:
            max_iterations = self.default_max_iterations(d, n)
        if max_iterations < 1:
            raise ValueError(f"max_iterations must be positive, got {max_iterations}")
        self._max_iterations = int(max_iterations)
        self._hist_len = 10 + math.ceil(30 * d / n)
        self._mu = self._x0.copy()
        self._zs: np.ndarray | None = None
        self._outside = np.zeros(n)
        self._any_outside = False
        self._best_history: list[float] = []
        self._stale: np.ndarray | None = None
        #: Utilities of the shape update when they differ from the mean's (async: stale
        #: samples get 0), best first; None: the same.
        self._cov_us: np.ndarray | None = None
        self._batch_range = math.inf

    # ------------------------------------------------------------------ for subclasses

    @abc.abstractmethod
    def _map(self, z: np.ndarray) -> np.ndarray:
        """Points x for standard-normal samples z (shape (n, d))."""

    @abc.abstractmethod
    def _update(self, zs: np.ndarray) -> None:
        """Natural-gradient step from samples sorted best first."""

    @abc.abstractmethod
    def _variances(self) -> np.ndarray:
        """Per-coordinate variances of the search distribution."""

    @abc.abstractmethod
    def _total_variance(self) -> float:
        """Sum of the per-coordinate variances (the trace of the covariance)."""

    @abc.abstractmethod
    def _get_dist(self) -> dict[str, Any]:
        """The distribution's parameters as plain data."""

    @abc.abstractmethod
    def _set_dist(self, state: dict[str, Any]) -> None:
        """Restore :meth:`_get_dist`."""

    def _extra_stop(self) -> dict[str, Any]:
        return {}

    @abc.abstractmethod
    def _express(self, x: np.ndarray) -> np.ndarray:
        """Standard-normal coordinates z of points x (shape (n, d)) in the current
        distribution (the inverse of :meth:`_map`)."""

    # ------------------------------------------------------------------ asynchronous

    stale_results = ("re-expressed in the current distribution (z from the unprojected "
                     "sample, its length clipped as pycma clips solutions it did not sample), "
                     "ranked with the generation they complete; they move the mean, not the "
                     "shape")

    def _ask_async(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        z = self._rng.standard_normal((n, self.n_parameters))
        raw = self._map(z)
        x, outside = self._repair(raw.copy())
        return x, np.column_stack([raw, outside, np.full(n, float(self._iterations))])

    def _update_async(self, candidates: np.ndarray, records: np.ndarray,
                      losses: np.ndarray) -> None:
        d = self.n_parameters
        zs = self._express(records[:, :d])
        # A stale sample can lie far out in the current distribution: its length is clipped
        # to pycma's bound for solutions it did not sample (``repair_genotype``), so that one
        # result cannot collapse or blow up the step sizes.
        stale = records[:, d + 1] < self._iterations
        if stale.any():
            upper = math.sqrt(d) + 2 * d / (d + 2)
            norms = np.linalg.norm(zs[stale], axis=1)
            zs[stale] /= np.maximum(1.0, norms / upper)[:, None]
            self._stale = stale
        self._zs = zs
        self._outside = records[:, d].copy()
        self._any_outside = bool(self._outside.any())
        self._tell(losses)

    # ------------------------------------------------------------------ the protocol

    def _ask(self) -> np.ndarray:
        z = self._rng.standard_normal((self._popsize, self.n_parameters))
        x, self._outside = self._repair(self._map(z))
        self._any_outside = bool(self._outside.any())
        self._zs = z
        return x

    def _tell(self, losses: np.ndarray) -> None:
        outside = self._any_outside
        order = self._rank(losses, self._outside) if outside else losses.argsort(kind="stable")
        best, worst = losses[order[0]], losses[order[-1]]
        if outside or not math.isfinite(worst):
            # Failures or outside samples are ranked last: take the extremes of finite values.
            finite = losses[np.isfinite(losses)]
            if finite.size == 0:
                # A batch of failures only carries no information: the distribution is kept.
                self._zs = None
                return
            best, worst = finite.min(), finite.max()
        self._best_history.append(float(best))
        del self._best_history[: -self._hist_len]
        self._batch_range = float(worst - best)
        stale, self._stale = self._stale, None
        self._cov_us = None
        if stale is not None:
            # Stale samples move the mean but not the shape: ranked worse on average (they
            # come from an older, worse mean), they would shrink the distribution along the
            # direction of progress. The shape's gradient Σ u_k (z_k z_kᵀ − I) runs over
            # fresh samples only.
            self._cov_us = np.where(stale[order], 0.0, self._us)
        self._update(self._zs[order])
        self._zs = None

    def _stop(self) -> dict[str, Any] | None:
        reasons: dict[str, Any] = {}
        if self._iterations >= self._max_iterations:
            reasons["maxiter"] = self._max_iterations
        # tolx: every variance below tolx². Their sum (one dot product) settles it unless it
        # lies between tolx² and d·tolx².
        tol2 = self._tolx * self._tolx
        total = self._total_variance()
        if total < tol2 or (total < self.n_parameters * tol2
                            and self._variances().max() < tol2):
            reasons["tolx"] = self._tolx
        hist = self._best_history
        if (
            len(hist) >= self._hist_len
            and self._batch_range < self._tolfun
            and max(hist) - min(hist) < self._tolfun
        ):
            reasons["tolfun"] = self._tolfun
        reasons.update(self._extra_stop())
        return reasons or None

    @property
    def max_iterations(self) -> int:
        """The iteration limit of :meth:`stop` (``maxiter``)."""
        return self._max_iterations

    def mean(self) -> np.ndarray:
        """Current mean of the search distribution (PINTS's ``x_guessed``)."""
        return self._mu.copy()

    def _get_state(self) -> dict[str, Any]:
        return {
            "mu": self._mu,
            "zs": self._zs,
            "outside": self._outside,
            "best_history": np.array(self._best_history),
            "batch_range": self._batch_range,
            **self._get_dist(),
        }

    def _set_state(self, state: dict[str, Any]) -> None:
        mu = np.asarray(state["mu"], dtype=float)
        if mu.shape != (self.n_parameters,):
            raise ValueError(f"state is for another dimension: mu has shape {mu.shape}")
        self._mu = mu.copy()
        self._zs = None if state["zs"] is None else np.array(state["zs"], dtype=float)
        self._outside = np.array(state["outside"], dtype=float)
        self._any_outside = bool(self._outside.any())
        self._best_history = np.asarray(state["best_history"], dtype=float).tolist()
        self._batch_range = float(state["batch_range"])
        self._set_dist(state)
