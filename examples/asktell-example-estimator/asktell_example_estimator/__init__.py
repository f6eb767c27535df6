"""An example third-party asktell *estimator*, written from the plugin guide alone.

``linear-gaussian`` learns a Gaussian approximation of the posterior p(θ | x) from simulations,
the regression adjustment of Beaumont, Zhang & Balding (2002), "Approximate Bayesian computation
in population genetics", Genetics 162(4), 2025-2035, doi:10.1093/genetics/162.4.2025: θ is
regressed linearly on a summary s(x) (the column means of the data set) over every simulation
told so far, and q(θ | x) = N(W s(x) + b, Σ) with Σ the residual covariance. The state is a set
of sufficient statistics of fixed size, so it does not grow with the simulations.

Install it with ``pip install -e examples/asktell-example-estimator``; then::

    est = asktell.create("linear-gaussian", prior_mean=[0, 0], prior_sd=[1, 1], seed=0)
    theta = est.ask()
    est.tell([simulate(t) for t in theta])     # one data set (array (m, F)) per θ
    est.sample(x_obs, 1000)
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import linalg

import asktell
from asktell.plugins import FamilyRegistry

__all__ = ["LinearGaussian"]


class LinearGaussian(asktell.Estimator):
    """Regression-adjusted Gaussian posterior estimation as an ask/tell estimator.

    Parameters
    ----------
    prior_mean, prior_sd : array_like, shape (d,)
        The independent normal prior that ``ask`` samples θ from.
    batch_size : int
        θ per ``ask``.
    ridge : float
        Ridge penalty of the regression (on standardised-free summaries; small).
    seed : int, optional
        See :class:`asktell.Estimator`.

    Notes
    -----
    ``tell`` takes one data set per θ: a finite numeric array (m, F) or (F,), or None for a
    failed simulation. The recorded value of each item (:attr:`recorded`) is
    ``-log q(θ_i | x_i)`` under the estimate before that batch was added (the prior before
    any), lower is better.
    """

    name = "linear-gaussian"
    recorded = "neg_log_prob"

    def __init__(self, prior_mean: Any, prior_sd: Any, *, batch_size: int = 200,
                 ridge: float = 1e-6, seed: int | None = None) -> None:
        super().__init__(seed=seed)
        self.prior_mean = np.asarray(prior_mean, dtype=float).reshape(-1)
        self.prior_sd = np.asarray(prior_sd, dtype=float).reshape(-1)
        if self.prior_mean.shape != self.prior_sd.shape or not np.all(self.prior_sd > 0):
            raise ValueError("prior_mean and prior_sd must have one entry per parameter, "
                             "prior_sd positive")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 2:
            raise ValueError(f"batch_size must be an int >= 2, got {batch_size!r}")
        self.batch_size = batch_size
        self.ridge = float(ridge)
        self._n_features: int | None = None
        self._zz = self._zt = self._tt = None  # sufficient statistics, sized at the first tell
        self._n = 0

    # ---------------------------------------------------------------- the estimator's hooks

    def _ask(self) -> np.ndarray:
        d = self.prior_mean.size
        return self.prior_mean + self.prior_sd * self._rng.standard_normal((self.batch_size, d))

    def _parse_result(self, index: int, result: Any) -> np.ndarray | None:
        if isinstance(result, (str, bytes, bool, dict)) or not isinstance(
                result, (np.ndarray, list, tuple, int, float)):
            raise TypeError(f"result {index} must be a numeric data set, got "
                            f"{type(result).__name__}")
        x = np.asarray(result)
        if x.dtype.kind not in "fiu":
            raise TypeError(f"result {index} must be numeric, got dtype {x.dtype}")
        x = np.atleast_2d(x.astype(float))
        return x if np.isfinite(x).all() else None

    def _check_batch(self, parsed: list[np.ndarray | None]) -> None:
        feats = {x.shape[1] for x in parsed if x is not None}
        if self._n_features is not None:
            feats.add(self._n_features)
        if len(feats) > 1:
            raise ValueError(f"every data set must have the same number of columns, got "
                             f"{sorted(feats)}")

    def _tell(self, parsed: list[np.ndarray | None]) -> np.ndarray:
        theta = np.asarray(self.pending, dtype=float)
        ok = [i for i, x in enumerate(parsed) if x is not None]
        recorded = np.full(len(parsed), np.nan)
        if not ok:
            return recorded
        z = np.array([self._features(parsed[i]) for i in ok])
        recorded[ok] = -self._log_q(theta[ok], z)
        if self._zz is None:
            k, d = z.shape[1], theta.shape[1]
            self._n_features = z.shape[1] - 1
            self._zz, self._zt, self._tt = np.zeros((k, k)), np.zeros((k, d)), np.zeros((d, d))
        self._zz += z.T @ z
        self._zt += z.T @ theta[ok]
        self._tt += theta[ok].T @ theta[ok]
        self._n += len(ok)
        return recorded

    def _get_state(self) -> dict[str, Any]:
        return {"n": self._n, "n_features": self._n_features, "zz": self._zz, "zt": self._zt,
                "tt": self._tt}

    def _set_state(self, state: dict[str, Any]) -> None:
        self._n = int(state["n"])
        self._n_features = state["n_features"]
        self._zz, self._zt, self._tt = state["zz"], state["zt"], state["tt"]

    # ---------------------------------------------------------------- the posterior

    @staticmethod
    def _features(x: np.ndarray) -> np.ndarray:
        return np.append(x.mean(axis=0), 1.0)

    def _fit(self) -> tuple[np.ndarray, np.ndarray]:
        """Regression weights W (k, d) and residual covariance Σ (d, d)."""
        assert self._zz is not None and self._zt is not None and self._tt is not None
        k = self._zz.shape[0]
        w = linalg.solve(self._zz + self.ridge * np.eye(k), self._zt, assume_a="pos")
        resid = (self._tt - self._zt.T @ w - w.T @ self._zt + w.T @ self._zz @ w) / self._n
        d = resid.shape[0]
        return w, (resid + resid.T) / 2 + 1e-9 * np.eye(d)

    def _log_q(self, theta: np.ndarray, z: np.ndarray) -> np.ndarray:
        if self._n < 2 * (z.shape[1] + theta.shape[1]):  # too few simulations: the prior
            r = (theta - self.prior_mean) / self.prior_sd
            return -0.5 * (r**2).sum(1) - np.log(self.prior_sd).sum() \
                - 0.5 * theta.shape[1] * np.log(2 * np.pi)
        w, cov = self._fit()
        c = linalg.cho_factor(cov)
        r = theta - z @ w
        maha = (r * linalg.cho_solve(c, r.T).T).sum(1)
        logdet = 2 * np.log(np.diag(c[0])).sum()
        return -0.5 * (maha + logdet + theta.shape[1] * np.log(2 * np.pi))

    def sample(self, x_obs: Any, n: int, *, seed: int | None = None) -> np.ndarray:
        """Draw ``n`` samples of θ from q(θ | x_obs).

        Parameters
        ----------
        x_obs : array_like, shape (m, F)
            The observed data set.
        n : int
            Number of draws.
        seed : int, optional
            Seed of the draws (they do not touch the estimator's own generator).

        Returns
        -------
        ndarray, shape (n, d)
        """
        if self._n == 0:
            raise RuntimeError("nothing told yet: tell() some simulations first")
        w, cov = self._fit()
        mean = self._features(np.atleast_2d(np.asarray(x_obs, dtype=float))) @ w
        return np.random.default_rng(seed).multivariate_normal(mean, cov, size=n)


@asktell.hookimpl
def asktell_add_optimisers(registry: FamilyRegistry) -> None:
    """Register ``linear-gaussian``."""
    registry.add("linear-gaussian", LinearGaussian)
