"""Exponential natural evolution strategy (xNES)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.linalg
from scipy.linalg.lapack import dsyevd as _dsyevd

from asktell.boundaries import Boundaries
from asktell.numeric import PopulationOptimiser
from asktell.protocol import MINIMISE

__all__ = ["XNES"]


#: Stop when the covariance's condition number exceeds this (pycma's ``conditioncov``).
_MAX_COND = 1e14
def _expm_symmetric(m: np.ndarray) -> np.ndarray:
    """Matrix exponential of a symmetric matrix.

    Through LAPACK's symmetric eigensolver for small matrices (less call overhead than
    ``scipy.linalg.expm``, and exact for symmetric input), through ``scipy.linalg.expm`` above
    16 dimensions, where its Padé approximant is faster.
    """
    if m.shape[0] > 16:
        return scipy.linalg.expm(m)
    w, v, info = _dsyevd(m, compute_v=1)
    if info != 0:  # pragma: no cover - LAPACK failure on a finite symmetric matrix
        return scipy.linalg.expm(m)
    return (v * np.exp(w)) @ v.T


#: The condition number is checked every this many batches (an eigendecomposition costs more
#: than the rest of an iteration at small d).
_COND_EVERY = 10


class XNES(PopulationOptimiser):
    """Exponential natural evolution strategy, xNES [1]_.

    The search distribution is N(mu, A Aᵀ). Each batch draws z_k ~ N(0, I) and asks
    x_k = mu + A z_k; after ranking, with utilities u_k (Table 1 of [1]_),

    * mu ← mu + η_μ · A Σ_k u_k z_k,
    * A ← A · expm(½ η_A Σ_k u_k (z_k z_kᵀ − I)).

    Defaults are those of [1]_ and of PINTS's ``XNES``: popsize 4 + ⌊3 ln d⌋, η_μ = 1,
    η_A = 0.6 (3 + ln d) d^−1.5, u_k = max(0, ln(λ/2 + 1) − ln k) / Σ_j max(0, ...) − 1/λ.

    Parameters
    ----------
    x0 : array_like, shape (d,)
        Initial mean.
    sigma0 : float or array_like, optional
        Initial standard deviation per coordinate (A = diag(sigma0)); see
        :class:`asktell.NumericOptimiser` for the default.
    boundaries : Boundaries, optional
        **Bounds policy**: a batch always holds ``popsize`` points, all inside. A sample that
        falls outside is projected onto the boundaries (its projection is what is asked and
        evaluated), and in the update it ranks after every inside sample, ordered by its value
        and then by its distance outside. This keeps PINTS's ranking, in which outside samples
        count as worst (PINTS gives them ``inf``), so the distribution is pushed back inside;
        PINTS instead drops those samples and asks fewer points.
    popsize : int, optional
        λ, points per batch.
    eta_mu, eta_A : float, optional
        Learning rates of the mean and of A (defaults above).
    tolx : float
        Stop when every standard deviation sqrt(diag(A Aᵀ)) is below ``tolx``.
    tolfun : float
        Stop when the best values of the last 10 + ⌈30 d / λ⌉ batches, and all finite values of
        the current batch, span less than ``tolfun`` (as pycma's ``tolfun``). The covariance's
        condition number is also checked, every 10 batches, against 1e14 (``conditioncov``).
    max_iterations : int, optional
        Stop after this many batches; default 100 + 150 (d + 3)² / √λ (pycma's ``maxiter``).
    seed, direction
        See :class:`asktell.Optimiser`.

    References
    ----------
    .. [1] Glasmachers, T., Schaul, T., Sun, Y., Wierstra, D. & Schmidhuber, J. (2010).
       Exponential natural evolution strategies. *Proceedings of the 12th Annual Conference on
       Genetic and Evolutionary Computation (GECCO '10)*, 393–400.
       doi:10.1145/1830483.1830557

    Examples
    --------
    >>> import numpy as np
    >>> opt = XNES(x0=[1.0, 1.0], sigma0=0.5, seed=3)
    >>> for _ in range(200):
    ...     xs = opt.ask()
    ...     opt.tell(np.sum(xs**2, axis=1))
    >>> bool(opt.fbest() < 1e-10)
    True
    """

    name = "xnes"

    def __init__(
        self,
        x0: Sequence[float] | np.ndarray,
        sigma0: float | Sequence[float] | np.ndarray | None = None,
        boundaries: Boundaries | None = None,
        *,
        popsize: int | None = None,
        eta_mu: float = 1.0,
        eta_A: float | None = None,
        tolx: float = 1e-11,
        tolfun: float = 1e-11,
        max_iterations: int | None = None,
        seed: int | None = None,
        direction: str = MINIMISE,
    ) -> None:
        super().__init__(x0, sigma0, boundaries, popsize=popsize, seed=seed, direction=direction)
        d, n = self.n_parameters, self._popsize
        self._eta_mu = float(eta_mu)
        self._eta_A = float(0.6 * (3 + math.log(d)) * d**-1.5 if eta_A is None else eta_A)
        if self._eta_mu <= 0 or self._eta_A <= 0:
            raise ValueError(f"learning rates must be positive, got {eta_mu=}, {eta_A=}")
        us = np.maximum(0.0, math.log(n / 2 + 1) - np.log(1 + np.arange(n)))
        us /= us.sum()
        us -= 1.0 / n
        us -= us.mean()  # sum exactly 0 up to rounding, as in the paper
        us.setflags(write=False)
        self._us = us
        self._tolx = float(tolx)
        self._tolfun = float(tolfun)
        if max_iterations is None:
            max_iterations = 100 + int(150 * (d + 3) ** 2 / math.sqrt(n))
        self._max_iterations = int(max_iterations)
        self._hist_len = 10 + math.ceil(30 * d / n)
        self._mu = self._x0.copy()
        self._A = np.diag(self._sigma0)
        self._zs: np.ndarray | None = None
        self._outside = np.zeros(self._popsize)
        self._best_history: list[float] = []
        self._batch_range = np.inf
        self._ill_conditioned = False
        self._max_var = float(np.max(self._sigma0**2))

    def _ask(self) -> np.ndarray:
        z = self._rng.standard_normal((self._popsize, self.n_parameters))
        x, self._outside = self._repair(self._mu + z @ self._A.T)
        self._zs = z
        return x

    def _tell(self, losses: np.ndarray) -> None:
        order = self._rank(losses, self._outside)
        best, worst = losses[order[0]], losses[order[-1]]
        if not math.isfinite(worst) or self._outside.any():
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
        zs = self._zs[order]
        us = self._us
        self._mu = self._mu + self._eta_mu * (self._A @ (us @ zs))
        # G_M = sum_k u_k (z_k z_kᵀ − I); the −I term vanishes because the utilities sum to 0.
        gm = (zs.T * us) @ zs
        a = self._A @ _expm_symmetric((0.5 * self._eta_A) * gm)
        self._A = a
        self._max_var = float((a * a).sum(axis=1).max())  # largest variance, for tolx
        self._zs = None
        if (self._iterations + 1) % _COND_EVERY == 0:
            w = np.linalg.eigvalsh(self._A @ self._A.T)
            self._ill_conditioned = bool(w[0] <= 0 or w[-1] > _MAX_COND * w[0])

    def _stop(self) -> dict[str, Any] | None:
        reasons: dict[str, Any] = {}
        if self._iterations >= self._max_iterations:
            reasons["maxiter"] = self._max_iterations
        if self._max_var < self._tolx * self._tolx:
            reasons["tolx"] = self._tolx
        hist = self._best_history
        if (
            len(hist) >= self._hist_len
            and self._batch_range < self._tolfun
            and max(hist) - min(hist) < self._tolfun
        ):
            reasons["tolfun"] = self._tolfun
        if self._ill_conditioned:
            reasons["conditioncov"] = _MAX_COND
        return reasons or None

    # ------------------------------------------------------------------ extras

    def mean(self) -> np.ndarray:
        """Current mean of the search distribution (PINTS's ``x_guessed``)."""
        return self._mu.copy()

    def covariance(self) -> np.ndarray:
        """Current covariance A Aᵀ of the search distribution."""
        return self._A @ self._A.T

    def _get_state(self) -> dict[str, Any]:
        return {
            "mu": self._mu,
            "A": self._A,
            "zs": self._zs,
            "outside": self._outside,
            "best_history": np.array(self._best_history),
            "batch_range": self._batch_range,
            "ill_conditioned": self._ill_conditioned,
        }

    def _set_state(self, state: dict[str, Any]) -> None:
        d = self.n_parameters
        mu, a = np.asarray(state["mu"], dtype=float), np.asarray(state["A"], dtype=float)
        if mu.shape != (d,) or a.shape != (d, d):
            raise ValueError(f"state is for another dimension: mu {mu.shape}, A {a.shape}")
        self._mu = mu.copy()
        self._A = a.copy()
        self._max_var = float((a * a).sum(axis=1).max())
        self._zs = None if state["zs"] is None else np.array(state["zs"], dtype=float)
        self._outside = np.array(state["outside"], dtype=float)
        self._best_history = np.asarray(state["best_history"], dtype=float).tolist()
        self._batch_range = float(state["batch_range"])
        self._ill_conditioned = bool(state["ill_conditioned"])
