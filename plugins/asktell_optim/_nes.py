"""What xNES and SNES share: rank-based utilities, the bounds policy, and stopping criteria."""

from __future__ import annotations

import abc
import functools
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


#: Asynchronous use: a result drawn more than this many updates ago is not used in the update
#: (its cohort is no longer kept). Chosen on seeds 10-14 of benchmarks/async_stragglers.py
#: (5 and 30 gave the same evaluations to target; 30 drops fewer results).
_MAX_AGE = 30


@functools.lru_cache(maxsize=64)
def _utilities(n: int) -> np.ndarray:
    """:func:`nes_utilities`, cached (read-only arrays)."""
    return nes_utilities(n)


def _position(cohort: tuple[np.ndarray, np.ndarray], loss: float, outside: float) -> int:
    """Rank (0 = best) of one sample among a cohort's, by the order of ``_rank``: inside before
    outside before failed; by loss, then distance outside; after cohort samples it ties with."""
    losses, dist = cohort

    def group(v: np.ndarray | float, o: np.ndarray | float) -> np.ndarray:
        return np.where(np.isfinite(v), np.where(np.asarray(o) > 0, 1, 0), 2)

    g, gs = group(losses, dist), group(loss, outside)
    # lexicographic (group, loss, distance) <= the sample's
    before = (g < gs) | ((g == gs) & ((losses < loss) | ((losses == loss) & (dist <= outside))))
    return int(np.count_nonzero(before))


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
    distribution they were sampled from. A result sampled before the last update (*stale*) is
    used as a delayed natural-gradient sample, as asynchronous stochastic gradient methods use
    gradients computed at older parameters [3]_. NES estimates the search gradient from λ
    samples of the current distribution as (Wierstra et al., Sect. 2 [1]_)

        ∇_θ J(θ) ≈ (1/λ) Σ_k f(z_k) ∇_θ log π(z_k | θ),

    with f(z_k) replaced by rank-based utilities u_k (fitness shaping, Table 1 of [1]_). Ranks
    estimate quantiles under the distribution the samples were drawn from: IGO's utility of x
    is w(q), q = Pr_{x' ∼ P_θ}[f(x') < f(x)], its quantile under P_θ [2]_. A stale result is
    therefore ranked among the samples of its own distribution, not among the current ones:

    * a fresh result (asked since the last update) is ranked among the generation's λ_f fresh
      results, with the utilities for λ_f;
    * a stale result asked at update t is ranked among the fresh results of update t (its
      *cohort*, kept for 30 updates), with the utilities for a population one larger, and its
      direction is its own draw z_k ~ N(0, I), not a re-expression of x in the current
      distribution.

    Each sample k weighs w_k = λ_k u_k / N (λ_k the population it was ranked in, N the samples
    in the update), and the step is taken in the current local coordinates: δ = Σ_k w_k z_k,
    G = Σ_k w_k (z_k z_kᵀ − I); xNES μ ← μ + η_μ A δ, A ← A expm(½ η_A G); SNES the diagonal
    of G. With every sample fresh, w_k = u_k: the synchronous update. Ranked against the current
    generation, a stale result would rank worse for coming from an older, worse mean, and
    z = A⁻¹(x − μ) would point back along the path taken: together they shrink the
    distribution along the direction of progress (earlier versions let stale results move the
    mean only, for that reason). A result whose cohort is no longer kept (over 30 updates old)
    counts as an evaluation and for the best point, not in the update.

    References
    ----------
    .. [1] Wierstra, D., Schaul, T., Glasmachers, T., Sun, Y., Peters, J. & Schmidhuber, J.
       (2014). Natural evolution strategies. *Journal of Machine Learning Research*, 15,
       949–980. arXiv:1106.4487, doi:10.48550/arXiv.1106.4487
    .. [2] Ollivier, Y., Arnold, L., Auger, A. & Hansen, N. (2017). Information-geometric
       optimization algorithms: a unifying picture via invariance principles. *Journal of
       Machine Learning Research*, 18, 1–65. arXiv:1106.3708, doi:10.48550/arXiv.1106.3708
    .. [3] Agarwal, A. & Duchi, J. C. (2011). Distributed delayed stochastic optimization.
       *Advances in Neural Information Processing Systems 24 (NIPS 2011)*, 873–881.
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
        #: Asynchronous use: per update, the losses and distances outside of its fresh results,
        #: against which results drawn before it are ranked (the last ``_MAX_AGE`` updates).
        self._cohorts: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._batch_range = math.inf

    # ------------------------------------------------------------------ for subclasses

    @abc.abstractmethod
    def _map(self, z: np.ndarray) -> np.ndarray:
        """Points x for standard-normal samples z (shape (n, d))."""

    @abc.abstractmethod
    def _update(self, zs: np.ndarray, weights: np.ndarray | None = None) -> None:
        """Natural-gradient step: from samples sorted best first with the utilities
        (``weights`` None), or from samples with their own weights w_k (asynchronous:
        δ = Σ w_k z_k, G = Σ w_k (z_k z_kᵀ − I))."""

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

    stale_results = ("ranked among the samples of the distribution they were drawn from (their "
                     "cohort) and used with their own draw z as delayed natural-gradient "
                     "samples; over 30 updates old, not used in the update")

    def _ask_async(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        z = self._rng.standard_normal((n, self.n_parameters))
        raw = self._map(z)
        x, outside = self._repair(raw.copy())
        # the record: the unprojected sample, its distance outside, the update it was drawn
        # after, and its draw z
        return x, np.column_stack([raw, outside, np.full(n, float(self._iterations)), z])

    def _update_async(self, candidates: np.ndarray, records: np.ndarray,
                      losses: np.ndarray) -> None:
        d, it = self.n_parameters, self._iterations
        outside = records[:, d].copy()
        born = records[:, d + 1]
        zs = records[:, d + 2:2 * d + 2].copy()
        old = np.isnan(zs).any(axis=1)
        if old.any():  # asked by an earlier version, which kept no z: re-express the sample
            zs[old] = self._express(records[old, :d])
        self._outside = outside
        self._any_outside = bool(outside.any())
        if self._record_batch(losses) is None:
            return  # failures only: the distribution is kept
        fresh = born == it
        weights = np.zeros(len(losses))
        used = fresh.copy()
        n_fresh = int(fresh.sum())
        if n_fresh:
            idx = np.flatnonzero(fresh)
            order = self._rank(losses[idx], outside[idx])
            weights[idx[order]] = n_fresh * _utilities(n_fresh)
            self._cohorts[it] = (losses[idx].copy(), outside[idx].copy())
        for i in np.flatnonzero(~fresh):
            cohort = self._cohorts.get(int(born[i]))
            if cohort is not None:
                m = len(cohort[0]) + 1
                weights[i] = m * _utilities(m)[_position(cohort, losses[i], outside[i])]
                used[i] = True
        for t in [t for t in self._cohorts if t <= it - _MAX_AGE]:
            del self._cohorts[t]
        if used.any():
            self._update(zs[used], weights[used] / used.sum())

    def _record_width(self) -> int:
        """Records: the sample, its distance outside, its update, its z (candidates asked by an
        earlier version have no z: NaN)."""
        return 2 * self.n_parameters + 2

    # ------------------------------------------------------------------ the protocol

    def _ask(self) -> np.ndarray:
        z = self._rng.standard_normal((self._popsize, self.n_parameters))
        x, self._outside = self._repair(self._map(z))
        self._any_outside = bool(self._outside.any())
        self._zs = z
        return x

    def _tell(self, losses: np.ndarray) -> None:
        zs = self._zs
        assert zs is not None  # the base refuses tell() without a pending ask()
        order = self._record_batch(losses)
        if order is not None:  # None: a batch of failures only, the distribution is kept
            self._update(zs[order])
        self._zs = None

    def _record_batch(self, losses: np.ndarray) -> np.ndarray | None:
        """The batch's order, best first, after recording its best and range for ``tolfun``;
        None if every value failed (nothing is recorded then)."""
        outside = self._any_outside
        order = self._rank(losses, self._outside) if outside else losses.argsort(kind="stable")
        best, worst = losses[order[0]], losses[order[-1]]
        if outside or not math.isfinite(worst):
            # Failures or outside samples are ranked last: take the extremes of finite values.
            finite = losses[np.isfinite(losses)]
            if finite.size == 0:
                return None
            best, worst = finite.min(), finite.max()
        self._best_history.append(float(best))
        del self._best_history[: -self._hist_len]
        self._batch_range = float(worst - best)
        return order

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
        state = {
            "mu": self._mu,
            "zs": self._zs,
            "outside": self._outside,
            "best_history": np.array(self._best_history),
            "batch_range": self._batch_range,
            **self._get_dist(),
        }
        if self._cohorts:  # asynchronous use only: synchronous states are unchanged
            ts = sorted(self._cohorts)
            state["cohorts"] = {"iterations": np.array(ts, dtype=np.int64),
                                "losses": [self._cohorts[t][0] for t in ts],
                                "outside": [self._cohorts[t][1] for t in ts]}
        return state

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
        cohorts: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        c = state.get("cohorts")
        if c is not None:
            try:
                for t, v, o in zip(c["iterations"], c["losses"], c["outside"], strict=True):
                    v, o = np.array(v, dtype=float), np.array(o, dtype=float)
                    if v.ndim != 1 or v.shape != o.shape or np.isnan(v).any() \
                            or not (o >= 0).all():
                        raise ValueError("a cohort's losses and distances do not match")
                    cohorts[int(t)] = (v, o)
            except (KeyError, TypeError, ValueError) as e:
                raise ValueError(f"state key 'cohorts' is malformed: {e}") from e
        self._set_dist(state)
        self._cohorts = cohorts
