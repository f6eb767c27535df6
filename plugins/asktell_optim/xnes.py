"""Exponential natural evolution strategy (xNES)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from asktell.boundaries import Boundaries
from asktell.protocol import MINIMISE

from ._nes import NaturalEvolutionStrategy

__all__ = ["XNES"]


#: Stop when the covariance's condition number exceeds this (pycma's ``conditioncov``).
_MAX_COND = 1e14


def _expm_symmetric(m: np.ndarray) -> np.ndarray:
    """Matrix exponential of a symmetric matrix.

    Through LAPACK's symmetric eigensolver (``numpy.linalg.eigh``, ``?syevd`` on the upper
    triangle: the same call, bit for bit, as ``scipy.linalg.lapack.dsyevd`` that earlier
    versions made, so runs written by them resume identically) for up to 16 dimensions, where
    it has less call overhead than ``scipy.linalg.expm`` and is exact for symmetric input;
    through ``scipy.linalg.expm`` above, where its Padé approximant is faster. scipy.linalg is
    imported only then: it costs more start-up time than the rest of a one-batch run.
    """
    if m.shape[0] <= 16:
        try:
            w, v = np.linalg.eigh(m, UPLO="U")
        except np.linalg.LinAlgError:  # pragma: no cover - no convergence on finite input
            pass
        else:
            return (v * np.exp(w)) @ v.T
    import scipy.linalg

    return scipy.linalg.expm(m)


#: The condition number is checked every this many batches (an eigendecomposition costs more
#: than the rest of an iteration at small d).
_COND_EVERY = 10


class XNES(NaturalEvolutionStrategy):
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
        Every asked point lies inside; see :class:`NaturalEvolutionStrategy` for the policy
        (outside samples are projected and ranked last, as PINTS ranks them).
    popsize : int, optional
        λ, points per batch.
    eta_mu, eta_A : float, optional
        Learning rates of the mean and of A (defaults above).
    tolx, tolfun, max_iterations
        Stopping criteria, see :class:`NaturalEvolutionStrategy`; the covariance's condition
        number is also checked, every 10 batches, against 1e14 (``conditioncov``).
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
    state_limits: ClassVar[Mapping[str, str]] = {
        **NaturalEvolutionStrategy.state_limits, "A": "finite"}

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
        super().__init__(x0, sigma0, boundaries, popsize=popsize, tolx=tolx, tolfun=tolfun,
                         max_iterations=max_iterations, seed=seed, direction=direction)
        d = self.n_parameters
        self._eta_mu = float(eta_mu)
        self._eta_A = float(0.6 * (3 + math.log(d)) * d**-1.5 if eta_A is None else eta_A)
        if self._eta_mu <= 0 or self._eta_A <= 0:
            raise ValueError(f"learning rates must be positive, got {eta_mu=}, {eta_A=}")
        self._A = np.diag(self._sigma0)
        self._ill_conditioned = False

    def _map(self, z: np.ndarray) -> np.ndarray:
        return self._mu + z @ self._A.T

    def _express(self, x: np.ndarray) -> np.ndarray:
        return np.linalg.solve(self._A, (x - self._mu).T).T

    def _update(self, zs: np.ndarray, weights: np.ndarray | None = None) -> None:
        if weights is None:  # synchronous: zs sorted best first, the utilities
            us = self._us
            self._mu = self._mu + self._eta_mu * (self._A @ (us @ zs))
            # G_M = Σ u_k (z_k z_kᵀ − I); the −I term vanishes as the utilities sum to 0.
            gm = (zs.T * us) @ zs
        else:  # asynchronous: each sample's own weight (see NaturalEvolutionStrategy)
            self._mu = self._mu + self._eta_mu * (self._A @ (weights @ zs))
            gm = (zs.T * weights) @ zs - weights.sum() * np.eye(len(self._mu))
        self._A = self._A @ _expm_symmetric((0.5 * self._eta_A) * gm)
        if (self._iterations + 1) % _COND_EVERY == 0:
            w = np.linalg.eigvalsh(self._A @ self._A.T)
            self._ill_conditioned = bool(w[0] <= 0 or w[-1] > _MAX_COND * w[0])

    def _variances(self) -> np.ndarray:
        return (self._A * self._A).sum(axis=1)

    def _total_variance(self) -> float:
        a = self._A.ravel()
        return float(a @ a)

    def _extra_stop(self) -> dict[str, Any]:
        return {"conditioncov": _MAX_COND} if self._ill_conditioned else {}

    def covariance(self) -> np.ndarray:
        """Current covariance A Aᵀ of the search distribution."""
        return self._A @ self._A.T

    def _get_dist(self) -> dict[str, Any]:
        return {"A": self._A, "ill_conditioned": self._ill_conditioned}

    def _set_dist(self, state: dict[str, Any]) -> None:
        a = np.asarray(state["A"], dtype=float)
        d = self.n_parameters
        if a.shape != (d, d):
            raise ValueError(f"state is for another dimension: A has shape {a.shape}")
        self._A = a.copy()
        self._ill_conditioned = bool(state["ill_conditioned"])
