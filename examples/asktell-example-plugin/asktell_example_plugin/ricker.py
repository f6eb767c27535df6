"""A simulator for asktell_cinn's posterior estimator: Ricker's population model.

Wood, S. N. (2010). Statistical inference for noisy nonlinear ecological dynamic systems.
*Nature* 466, 1102–1104. doi:10.1038/nature09319
"""

from __future__ import annotations

import numpy as np

from asktell_cinn.priors import BoxUniform
from asktell_cinn.simulators import Simulator

__all__ = ["Ricker"]


class Ricker(Simulator):
    """Ricker map with Poisson observations: θ = (log r, φ).

    ``N_{t+1} = r N_t exp(−N_t + σ e_t)``, ``e_t ~ N(0, 1)``, ``y_t ~ Poisson(φ N_t)``, from
    ``N_0 = 1`` over ``n_steps`` steps; data sets are arrays (n_steps, 1) of counts, scaled by
    1/φ_max so the network sees values of order one. Prior: log r ~ U(3, 5), φ ~ U(4, 16).

    Parameters
    ----------
    n_steps : int
        Observed time steps.
    sigma : float
        Process noise sd.
    seed : int
        Base seed of ``__call__`` (see :class:`asktell_cinn.simulators.Simulator`).

    Examples
    --------
    >>> Ricker(n_steps=20)(np.array([3.8, 10.0])).shape
    (20, 1)
    """

    name = "example-ricker"

    def __init__(self, n_steps: int = 30, sigma: float = 0.3, seed: int = 0) -> None:
        super().__init__(seed)
        if n_steps < 1 or not sigma >= 0:
            raise ValueError(f"need n_steps >= 1 and sigma >= 0, got {n_steps}, {sigma}")
        self.n_steps, self.sigma = int(n_steps), float(sigma)
        self.prior = BoxUniform([3.0, 4.0], [5.0, 16.0])

    def simulate(self, theta: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Counts (n, n_steps, 1), one series per row of θ."""
        theta = np.atleast_2d(theta)
        r, phi = np.exp(theta[:, 0]), theta[:, 1]
        n_pop = np.ones(theta.shape[0])
        out = np.empty((theta.shape[0], self.n_steps, 1))
        for t in range(self.n_steps):
            n_pop = r * n_pop * np.exp(-n_pop + self.sigma * rng.standard_normal(n_pop.shape))
            out[:, t, 0] = rng.poisson(phi * n_pop)
        return out / 16.0
