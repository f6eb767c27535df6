"""Toy simulators for likelihood-free inference, in pure numpy (the ``simulator`` family).

Each simulator has a ``prior`` (:class:`~asktell_cinn.priors.Prior`), a vectorised
``simulate(theta, rng)`` for a batch of θ, and ``__call__(theta)`` for one θ, seeded from
``seed`` and the bytes of θ: the same θ gives the same data set in any process, so the core's
parallel evaluators and resumed runs reproduce simulations exactly.

Data sets are arrays of shape (m, features): m iid observations or time steps.

* :class:`GaussianMean`: conjugate Gaussian mean model with its analytic posterior.
* :class:`TwoMoons`, :class:`SLCP`: sbibm tasks (Lueckmann et al. 2021, "Benchmarking
  simulation-based inference", AISTATS, arXiv:2101.04653).
* :class:`SIR`: a stochastic (chain-binomial) SIR epidemic observed as a time series.
* :class:`Ricker`: the stochastic Ricker population model with Poisson counts (Wood 2010), a
  population-dynamics time series of the kind Radev et al. (2020) apply BayesFlow to.
* :class:`GaussianIID`: normal observations with unknown mean and scale, a variable number of
  them per data set (for the DeepSet summary).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .priors import BoxUniform, DiagNormal, Prior

__all__ = ["SIR", "SLCP", "GaussianIID", "GaussianMean", "Ricker", "Simulator", "TwoMoons",
           "simulator"]


class Simulator:
    """Base class of the toy simulators (see the module docstring).

    Parameters
    ----------
    seed : int
        Base seed of per-θ simulations made through ``__call__``.
    """

    name = "simulator"
    prior: Prior
    #: Whether data sets have a variable number of rows.
    variable_size = False

    def __init__(self, seed: int = 0) -> None:
        self.seed = int(seed)

    @property
    def dim(self) -> int:
        """Dimension of θ."""
        return self.prior.dim

    def simulate(self, theta: np.ndarray, rng: np.random.Generator) -> Any:
        """Simulate one data set per row of ``theta`` (n, dim): an array (n, m, features), or a
        list of (m_i, features) arrays when sizes vary."""
        raise NotImplementedError  # pragma: no cover

    def _rng_for(self, theta: np.ndarray) -> np.random.Generator:
        words = np.frombuffer(np.ascontiguousarray(theta, dtype=np.float64).tobytes(),
                              dtype=np.uint32)
        return np.random.default_rng([self.seed, *words.tolist()])

    def __call__(self, theta: Any) -> np.ndarray:
        """Simulate one data set for one θ (seeded from ``seed`` and θ).

        Parameters
        ----------
        theta : array-like, shape (dim,)

        Returns
        -------
        ndarray, shape (m, features)
        """
        t = np.asarray(theta, dtype=np.float64)
        if t.shape != (self.dim,):
            raise ValueError(f"{self.name} takes θ of shape ({self.dim},), got {t.shape}")
        x = self.simulate(t[None, :], self._rng_for(t))
        return np.asarray(x[0])

    def sample_joint(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, Any]:
        """Draw θ from the prior and simulate: ``(theta (n, dim), data sets)``."""
        theta = self.prior.sample(n, rng)
        return theta, self.simulate(theta, rng)


class GaussianMean(Simulator):
    """Conjugate Gaussian mean model: θ ∈ R^d, θ ~ N(0, I), ``n_obs`` iid x_i ~ N(θ, σ² I).

    The posterior is ``N(x̄·n/(n + σ²), σ²/(n + σ²)·I)``; with d = 5, n = 10, σ = 0.1 that is
    ``N((1000/1001)·x̄, (1/1001)·I)``.

    Parameters
    ----------
    dim : int
        Dimension of θ (5).
    n_obs : int
        Observations per data set (10).
    sigma : float
        Observation noise sd (0.1).
    seed : int
        Base seed of ``__call__``.

    Examples
    --------
    >>> sim = GaussianMean()
    >>> sim(np.zeros(5)).shape
    (10, 5)
    >>> mean, sd = sim.posterior(np.ones((10, 5)))
    >>> round(float(mean[0]), 6), round(float(sd[0] ** 2 * 1001), 6)
    (0.999001, 1.0)
    """

    name = "gaussian-mean"

    def __init__(self, dim: int = 5, n_obs: int = 10, sigma: float = 0.1, seed: int = 0) -> None:
        super().__init__(seed)
        self.n_obs, self.sigma = int(n_obs), float(sigma)
        self.prior = DiagNormal(np.zeros(dim), np.ones(dim))

    def simulate(self, theta: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """x (n, n_obs, dim) = θ + σ·ε."""
        theta = np.atleast_2d(theta)
        eps = rng.standard_normal((theta.shape[0], self.n_obs, theta.shape[1]))
        return theta[:, None, :] + self.sigma * eps

    def posterior(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Analytic posterior mean and sd for one data set (m, dim) or a batch (B, m, dim)."""
        x = np.asarray(x, dtype=float)
        n = x.shape[-2]
        prec = 1.0 + n / self.sigma**2
        mean = x.sum(-2) / self.sigma**2 / prec
        return mean, np.full_like(mean, 1.0 / np.sqrt(prec))

    def reference_samples(self, x: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
        """Exact posterior samples for one data set."""
        mean, sd = self.posterior(x)
        return mean + sd * rng.standard_normal((int(n), mean.size))


class TwoMoons(Simulator):
    """The two-moons task of sbibm (Greenberg et al. 2019; Lueckmann et al. 2021).

    θ ~ U(-1, 1)², a ~ U(-π/2, π/2), r ~ N(0.1, 0.01²),
    ``x = (r cos a + 0.25, r sin a) + (-|θ1 + θ2|/√2, (-θ1 + θ2)/√2)``; one observation (1, 2).

    Examples
    --------
    >>> TwoMoons()(np.zeros(2)).shape
    (1, 2)
    """

    name = "two-moons"

    def __init__(self, seed: int = 0) -> None:
        super().__init__(seed)
        self.prior = BoxUniform([-1.0, -1.0], [1.0, 1.0])

    def simulate(self, theta: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """x (n, 1, 2)."""
        theta = np.atleast_2d(theta)
        n = theta.shape[0]
        a = rng.uniform(-np.pi / 2, np.pi / 2, n)
        r = 0.1 + 0.01 * rng.standard_normal(n)
        p = np.stack((r * np.cos(a) + 0.25, r * np.sin(a)), axis=-1)
        s = np.stack((-np.abs(theta[:, 0] + theta[:, 1]) / np.sqrt(2),
                      (-theta[:, 0] + theta[:, 1]) / np.sqrt(2)), axis=-1)
        return (p + s)[:, None, :]


class SLCP(Simulator):
    """Simple likelihood, complex posterior (Papamakarios et al. 2019, "Sequential neural
    likelihood", AISTATS, arXiv:1805.07226; sbibm's ``slcp``).

    θ ~ U(-3, 3)^5; four iid 2-d normal observations with mean (θ1, θ2), sds θ3², θ4² and
    correlation tanh(θ5); x has shape (4, 2).

    Examples
    --------
    >>> SLCP()(np.zeros(5) + 0.5).shape
    (4, 2)
    """

    name = "slcp"

    def __init__(self, seed: int = 0) -> None:
        super().__init__(seed)
        self.prior = BoxUniform(-3.0 * np.ones(5), 3.0 * np.ones(5))

    def simulate(self, theta: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """x (n, 4, 2)."""
        theta = np.atleast_2d(theta)
        n = theta.shape[0]
        s1, s2 = theta[:, 2] ** 2, theta[:, 3] ** 2
        rho = np.tanh(theta[:, 4])
        e = rng.standard_normal((n, 4, 2))
        x1 = s1[:, None] * e[..., 0]
        x2 = s2[:, None] * (rho[:, None] * e[..., 0] + np.sqrt(1 - rho**2)[:, None] * e[..., 1])
        return np.stack((x1 + theta[:, 0, None], x2 + theta[:, 1, None]), axis=-1)


class SIR(Simulator):
    """A stochastic SIR epidemic (chain-binomial, daily steps) observed as a time series.

    θ = (log β, log γ) with the sbibm SIR prior, β ~ LogNormal(log 0.4, 0.5),
    γ ~ LogNormal(log 1/8, 0.2). A population of ``population`` starts with one infected; each
    day every susceptible is infected with probability ``1 - exp(-β I/N)`` and every infected
    recovers with probability ``1 - exp(-γ)``. The data set is the infected fraction every
    ``every`` days over ``days`` days, shape (days/every, 1).

    Examples
    --------
    >>> SIR()(np.log([0.4, 0.125])).shape
    (16, 1)
    """

    name = "sir"

    def __init__(self, population: int = 1000, days: int = 160, every: int = 10,
                 seed: int = 0) -> None:
        super().__init__(seed)
        self.population, self.days, self.every = int(population), int(days), int(every)
        self.prior = DiagNormal([np.log(0.4), np.log(1 / 8)], [0.5, 0.2])

    def simulate(self, theta: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """x (n, days/every, 1): infected fractions."""
        theta = np.atleast_2d(theta)
        n, pop = theta.shape[0], self.population
        beta, gamma = np.exp(theta[:, 0]), np.exp(theta[:, 1])
        s = np.full(n, pop - 1, dtype=np.int64)
        i = np.ones(n, dtype=np.int64)
        p_rec = -np.expm1(-gamma)
        out = []
        for day in range(1, self.days + 1):
            p_inf = -np.expm1(-beta * i / pop)
            new_i = rng.binomial(s, p_inf)
            new_r = rng.binomial(i, p_rec)
            s, i = s - new_i, i + new_i - new_r
            if day % self.every == 0:
                out.append(i / pop)
        return np.stack(out, axis=1)[..., None]


class Ricker(Simulator):
    """The stochastic Ricker population model, observed through Poisson counts.

    Wood, S. N. (2010). Statistical inference for noisy nonlinear ecological dynamic systems.
    *Nature* 466, 1102-1104. doi:10.1038/nature09319:
    N_{t+1} = r·N_t·exp(−N_t + e_t), e_t ~ N(0, σ²), y_t ~ Poisson(φ·N_t), t = 1 ... T, N_0 = 1.
    θ = (log r, σ, φ) with a uniform prior on [3, 5] × [0.05, 0.6] × [4, 15] (Wood's values
    log r = 3.8, σ = 0.3, φ = 10 inside it); ``burn_in`` unobserved steps come first. The data
    set is the count series y_1 ... y_T, shape (T, 1).

    Examples
    --------
    >>> Ricker()(np.array([3.8, 0.3, 10.0])).shape
    (50, 1)
    """

    name = "ricker"

    def __init__(self, steps: int = 50, burn_in: int = 50, seed: int = 0) -> None:
        super().__init__(seed)
        if steps < 1 or burn_in < 0:
            raise ValueError(f"need steps >= 1 and burn_in >= 0, got {steps}, {burn_in}")
        self.steps, self.burn_in = int(steps), int(burn_in)
        self.prior = BoxUniform([3.0, 0.05, 4.0], [5.0, 0.6, 15.0])

    def simulate(self, theta: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """x (n, steps, 1): Poisson counts."""
        theta = np.atleast_2d(theta)
        n = theta.shape[0]
        log_r, sigma, phi = theta[:, 0], theta[:, 1], theta[:, 2]
        log_n = np.zeros(n)  # log N_0 = 0
        out = np.empty((n, self.steps))
        for t in range(self.burn_in + self.steps):
            # log N_{t+1} = log r + log N_t − N_t + e_t (in logs: no overflow)
            log_n = log_r + log_n - np.exp(log_n) + sigma * rng.standard_normal(n)
            if t >= self.burn_in:
                out[:, t - self.burn_in] = rng.poisson(phi * np.exp(log_n))
        return out[..., None]


class GaussianIID(Simulator):
    """Normal observations with unknown mean and scale, a variable number per data set.

    θ = (μ, log σ) ~ N(0, 1) × N(0, 0.5²); m ~ U{m_min, ..., m_max}; x_i ~ N(μ, σ²), i ≤ m.
    Data sets have shape (m, 1), m varying: use ``summary="deepset"``.

    Examples
    --------
    >>> sim = GaussianIID()
    >>> xs = sim.simulate(np.zeros((3, 2)), np.random.default_rng(0))
    >>> [x.shape[1] for x in xs]
    [1, 1, 1]
    """

    name = "gaussian-iid"
    variable_size = True

    def __init__(self, m_min: int = 5, m_max: int = 50, seed: int = 0) -> None:
        super().__init__(seed)
        if not 1 <= m_min <= m_max:
            raise ValueError(f"need 1 <= m_min <= m_max, got {m_min}, {m_max}")
        self.m_min, self.m_max = int(m_min), int(m_max)
        self.prior = DiagNormal([0.0, 0.0], [1.0, 0.5])

    def simulate(self, theta: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
        """A list of (m_i, 1) arrays."""
        theta = np.atleast_2d(theta)
        n = int(theta.shape[0])
        m = rng.integers(self.m_min, self.m_max + 1, n)
        e = rng.standard_normal((n, self.m_max))
        x = theta[:, :1] + np.exp(theta[:, 1:2]) * e
        return [x[k, : m[k], None] for k in range(n)]


def simulator(simulator: str = "gaussian-mean", **options: Any) -> Simulator:
    """Build a simulator by its name in the registry's ``simulator`` family (what a run
    configuration's ``[problem]`` can call).

    Parameters
    ----------
    simulator : str
        ``gaussian-mean``, ``two-moons``, ``slcp``, ``sir``, ``gaussian-iid``, ``ricker``, or a
        name another plugin registered.
    **options
        Passed to the simulator's factory (``seed``, ...).

    Returns
    -------
    Simulator

    Raises
    ------
    ValueError
        If no simulator is registered under that name.

    Examples
    --------
    >>> simulator("two-moons", seed=3).seed
    3
    """
    from asktell.plugins import PluginUnavailableError, UnknownNameError, registry

    try:
        factory = registry().get("simulator", simulator)
    except PluginUnavailableError:
        raise
    except UnknownNameError as e:
        raise ValueError(f"unknown simulator {simulator!r}: {e}") from None
    made: Simulator = factory(**options)
    return made
