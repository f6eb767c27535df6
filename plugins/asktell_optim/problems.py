"""Test problems: objective functions with known answers, for examples, tests and benchmarks."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["LogisticProblem", "Rastrigin", "Rosenbrock", "Sphere", "logistic"]

log = logging.getLogger(__name__)


def logistic(r: float, k: float, times: np.ndarray, p0: float = 2.0) -> np.ndarray:
    """Logistic growth ``k / (1 + (k / p0 - 1) exp(-r t))``, as PINTS's ``toy.LogisticModel``.

    Parameters
    ----------
    r : float
        Growth rate.
    k : float
        Carrying capacity; ``k < 0`` (or ``p0 == 0``) gives zeros, as in PINTS.
    times : ndarray
        Non-negative times.
    p0 : float
        Initial population size (PINTS's default 2).

    Returns
    -------
    ndarray
        Population at ``times``.
    """
    if p0 == 0 or k < 0:
        return np.zeros_like(times, dtype=float)
    return k / (1.0 + (k / p0 - 1.0) * np.exp(-r * times))


class LogisticProblem:
    """Sum-of-squares error of the logistic model against noisy synthetic data.

    The problem of PINTS's "Optimisation: Ask-and-tell interface" notebook: data simulated with
    ``r = 0.015``, ``K = 500`` at 1,000 times in [0, 1000], plus Gaussian noise of standard
    deviation 10; the objective is ``sum((logistic(r, K, t) - data)^2)`` over parameters
    ``(r, K)``.

    Parameters
    ----------
    r, K : float
        True parameters the data are simulated from.
    n_times : int
        Number of equally spaced times.
    t_max : float
        Last time.
    noise_sd : float
        Standard deviation of the Gaussian noise.
    p0 : float
        Initial population size of the model.
    seed : int
        Seed of the noise (the notebook uses numpy's global generator; this is reproducible).

    Examples
    --------
    >>> p = LogisticProblem(seed=1)
    >>> p.n_parameters
    2
    >>> bool(p(p.true_parameters) < p([0.02, 400]))
    True
    """

    def __init__(
        self,
        r: float = 0.015,
        K: float = 500.0,
        n_times: int = 1000,
        t_max: float = 1000.0,
        noise_sd: float = 10.0,
        p0: float = 2.0,
        seed: int = 1,
    ) -> None:
        if n_times < 1 or t_max <= 0 or noise_sd < 0:
            raise ValueError(
                f"need n_times >= 1, t_max > 0 and noise_sd >= 0, got {n_times=}, {t_max=}, "
                f"{noise_sd=}"
            )
        self.true_parameters = np.array([r, K], dtype=float)
        self.times = np.linspace(0.0, t_max, int(n_times))
        self.p0 = float(p0)
        rng = np.random.default_rng(seed)
        clean = logistic(r, K, self.times, self.p0)
        self.values = clean + rng.normal(0.0, noise_sd, clean.shape)
        self.n_parameters = 2

    def __call__(self, x: Sequence[float] | np.ndarray) -> float:
        """Sum of squared errors at parameters ``x = (r, K)``."""
        r, k = float(x[0]), float(x[1])
        e = logistic(r, k, self.times, self.p0) - self.values
        return float(e @ e)

    def write_report(self, run_dir: str | Path, result: Any = None) -> dict[str, Path]:
        """End-of-run report (the :class:`asktell.Reporter` hook): ``fit.png``, the data with
        the fitted logistic curve and the true one, as the PINTS notebook plots them.

        Parameters
        ----------
        run_dir : path-like
            The run directory.
        result : asktell.RunResult, optional
            The run's outcome; its ``xbest`` is the fitted ``(r, K)``.

        Returns
        -------
        dict
            ``{"fit": path}``, or ``{}`` without a result or without matplotlib.
        """
        if result is None or result.xbest is None:
            return {}
        from asktell.plotting import figure

        try:
            fig = figure(figsize=(6, 4), dpi=120)
        except ImportError as e:
            log.warning("no fit plot: %s", e)
            return {}
        r, k = (float(v) for v in np.asarray(result.xbest, dtype=float)[:2])
        ax = fig.subplots()
        ax.plot(self.times, self.values, ".", ms=2, alpha=0.5, color="0.4", label="data")
        ax.plot(self.times, logistic(r, k, self.times, self.p0), "-", lw=2,
                label=f"fit: r = {r:.4g}, K = {k:.4g}")
        t_r, t_k = self.true_parameters
        ax.plot(self.times, logistic(t_r, t_k, self.times, self.p0), "--", lw=1, color="k",
                label=f"true: r = {t_r:.4g}, K = {t_k:.4g}")
        ax.set_xlabel("time")
        ax.set_ylabel("population")
        ax.legend()
        fig.tight_layout()
        path = Path(run_dir) / "fit.png"
        fig.savefig(path)
        return {"fit": path}

    def batch(self, xs: np.ndarray) -> np.ndarray:
        """Values at every row of ``xs`` (n, 2), in order (the same as calling per row)."""
        return np.array([self(x) for x in np.atleast_2d(xs)], dtype=float)


class Sphere:
    """f(x) = Σ x_i², minimum 0 at the origin."""

    def __call__(self, x: Sequence[float] | np.ndarray) -> float:
        """Value at ``x``."""
        x = np.asarray(x, dtype=float)
        return float(x @ x)

    def batch(self, xs: np.ndarray) -> np.ndarray:
        """Values at every row of ``xs`` (n, d), vectorised.

        Examples
        --------
        >>> Sphere().batch(np.array([[1.0, 2.0], [0.0, 0.0]]))
        array([5., 0.])
        """
        xs = np.asarray(xs, dtype=float)
        return np.einsum("ij,ij->i", xs, xs)


class Rosenbrock:
    """f(x) = Σ 100 (x_{i+1} − x_i²)² + (1 − x_i)², minimum 0 at (1, ..., 1)."""

    def __call__(self, x: Sequence[float] | np.ndarray) -> float:
        """Value at ``x``."""
        x = np.asarray(x, dtype=float)
        return float(np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2))

    def batch(self, xs: np.ndarray) -> np.ndarray:
        """Values at every row of ``xs`` (n, d), vectorised."""
        xs = np.asarray(xs, dtype=float)
        a, b = xs[:, :-1], xs[:, 1:]
        return np.sum(100.0 * (b - a * a) ** 2 + (1.0 - a) ** 2, axis=1)


class Rastrigin:
    """f(x) = 10 d + Σ (x_i² − 10 cos 2πx_i), minimum 0 at the origin."""

    def __call__(self, x: Sequence[float] | np.ndarray) -> float:
        """Value at ``x``."""
        x = np.asarray(x, dtype=float)
        return float(10.0 * x.size + np.sum(x * x - 10.0 * np.cos(2 * np.pi * x)))

    def batch(self, xs: np.ndarray) -> np.ndarray:
        """Values at every row of ``xs`` (n, d), vectorised."""
        xs = np.asarray(xs, dtype=float)
        return 10.0 * xs.shape[1] + np.sum(xs * xs - 10.0 * np.cos(2.0 * np.pi * xs), axis=1)
