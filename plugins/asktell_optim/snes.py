"""Separable natural evolution strategy (SNES)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from asktell.boundaries import Boundaries
from asktell.protocol import MINIMISE

from ._nes import NaturalEvolutionStrategy

__all__ = ["SNES"]


class SNES(NaturalEvolutionStrategy):
    """Separable natural evolution strategy, SNES [1]_.

    The search distribution is N(mu, diag(sigma²)): one step size per coordinate, so an
    iteration costs O(λ d) and SNES scales to thousands of dimensions. Each batch draws
    z_k ~ N(0, I) and asks x_k = mu + sigma ⊙ z_k; after ranking, with the utilities u_k of xNES,

    * mu ← mu + η_μ · sigma ⊙ Σ_k u_k z_k,
    * sigma ← sigma ⊙ exp(½ η_σ Σ_k u_k (z_k² − 1)).

    Defaults are those of [1]_ and PINTS's ``SNES``: popsize 4 + ⌊3 ln d⌋, η_μ = 1,
    η_σ = 0.2 (3 + ln d) / √d.

    Parameters
    ----------
    x0 : array_like, shape (d,)
        Initial mean.
    sigma0 : float or array_like, optional
        Initial standard deviations; see :class:`asktell.NumericOptimiser` for the default.
    boundaries : Boundaries, optional
        Every asked point lies inside; see :class:`NaturalEvolutionStrategy` for the policy.
    popsize : int, optional
        λ, points per batch.
    eta_mu, eta_sigma : float, optional
        Learning rates of the mean and of the step sizes (defaults above).
    tolx, tolfun, max_iterations
        Stopping criteria, see :class:`NaturalEvolutionStrategy`.
    seed, direction
        See :class:`asktell.Optimiser`.

    References
    ----------
    .. [1] Schaul, T., Glasmachers, T. & Schmidhuber, J. (2011). High dimensions and heavy tails
       for natural evolution strategies. *Proceedings of the 13th Annual Conference on Genetic
       and Evolutionary Computation (GECCO '11)*, 845–852. doi:10.1145/2001576.2001692

    Examples
    --------
    >>> import numpy as np
    >>> opt = SNES(x0=np.ones(20), sigma0=0.5, seed=1)
    >>> while opt.stop() is None:
    ...     xs = opt.ask()
    ...     opt.tell(np.sum(xs**2, axis=1))
    >>> bool(opt.fbest() < 1e-10)
    True
    """

    name = "snes"
    state_limits: ClassVar[Mapping[str, str]] = {
        **NaturalEvolutionStrategy.state_limits, "sigmas": "positive"}

    def __init__(
        self,
        x0: Sequence[float] | np.ndarray,
        sigma0: float | Sequence[float] | np.ndarray | None = None,
        boundaries: Boundaries | None = None,
        *,
        popsize: int | None = None,
        eta_mu: float = 1.0,
        eta_sigma: float | None = None,
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
        self._eta_sigma = float(
            0.2 * (3 + math.log(d)) / math.sqrt(d) if eta_sigma is None else eta_sigma
        )
        if self._eta_mu <= 0 or self._eta_sigma <= 0:
            raise ValueError(f"learning rates must be positive, got {eta_mu=}, {eta_sigma=}")
        self._sigmas = self._sigma0.copy()

    def _map(self, z: np.ndarray) -> np.ndarray:
        return self._mu + self._sigmas * z

    def _express(self, x: np.ndarray) -> np.ndarray:
        return (x - self._mu) / self._sigmas

    def _update(self, zs: np.ndarray, weights: np.ndarray | None = None) -> None:
        if weights is None:  # synchronous: zs sorted best first, the utilities
            us = self._us
            self._mu = self._mu + self._eta_mu * self._sigmas * (us @ zs)
            # Σ u_k (z_k² − 1) = Σ u_k z_k² because the utilities sum to 0.
            g = us @ (zs * zs)
        else:  # asynchronous: each sample's own weight (see NaturalEvolutionStrategy)
            self._mu = self._mu + self._eta_mu * self._sigmas * (weights @ zs)
            g = weights @ (zs * zs) - weights.sum()
        self._sigmas = self._sigmas * np.exp((0.5 * self._eta_sigma) * g)

    def _variances(self) -> np.ndarray:
        return self._sigmas * self._sigmas

    def _total_variance(self) -> float:
        return float(self._sigmas @ self._sigmas)

    def stds(self) -> np.ndarray:
        """Current standard deviations of the search distribution."""
        return self._sigmas.copy()

    def _get_dist(self) -> dict[str, Any]:
        return {"sigmas": self._sigmas}

    def _set_dist(self, state: dict[str, Any]) -> None:
        s = np.asarray(state["sigmas"], dtype=float)
        if s.shape != (self.n_parameters,):
            raise ValueError(f"state is for another dimension: sigmas has shape {s.shape}")
        self._sigmas = s.copy()
