"""Priors over θ with independent components: sampling, densities and sampling restricted to a
box (used by the truncated-prior proposals of :mod:`asktell_cinn.estimator`)."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special

__all__ = ["BoxUniform", "DiagNormal", "Prior", "make_prior"]


class Prior:
    """Base class: a product of independent one-dimensional distributions.

    Subclasses define ``_cdf``, ``_icdf`` (per component, vectorised) and ``log_prob``.
    """

    kind = "prior"

    def __init__(self, dim: int) -> None:
        self.dim = int(dim)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Draw ``n`` samples, shape (n, dim), by inversion of uniforms from ``rng``."""
        return self._icdf(rng.random((int(n), self.dim)))

    def sample_box(
        self, n: int, lower: np.ndarray, upper: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """Draw ``n`` samples of the prior restricted to the box ``[lower, upper]`` (exactly,
        by inverting the CDF between the box's CDF values)."""
        lo, hi = self._cdf(np.asarray(lower, float)), self._cdf(np.asarray(upper, float))
        u = lo + (hi - lo) * rng.random((int(n), self.dim))
        return np.clip(self._icdf(u), lower, upper)

    def log_prob(self, theta: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        """Log density of each row of ``theta``."""
        raise NotImplementedError

    def mean(self) -> np.ndarray:  # pragma: no cover - abstract
        """The prior mean."""
        raise NotImplementedError

    def std(self) -> np.ndarray:  # pragma: no cover - abstract
        """The prior standard deviations."""
        raise NotImplementedError

    def _cdf(self, x: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _icdf(self, u: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:  # pragma: no cover - abstract
        """The prior as plain data (what :func:`make_prior` accepts)."""
        raise NotImplementedError


class BoxUniform(Prior):
    """Independent uniform components on ``[low, high]``.

    Examples
    --------
    >>> p = BoxUniform([-1, -1], [1, 1])
    >>> p.sample(3, np.random.default_rng(0)).shape
    (3, 2)
    >>> float(p.log_prob(np.zeros((1, 2)))[0])
    -1.3862943611198906
    """

    kind = "uniform"

    def __init__(self, low: Any, high: Any) -> None:
        self.low = np.atleast_1d(np.asarray(low, dtype=float))
        self.high = np.atleast_1d(np.asarray(high, dtype=float))
        if self.low.shape != self.high.shape or not np.all(self.high > self.low):
            raise ValueError(f"uniform prior needs low < high of equal length, got "
                             f"{self.low.tolist()} and {self.high.tolist()}")
        super().__init__(self.low.size)

    def log_prob(self, theta: np.ndarray) -> np.ndarray:
        """``-Σ log(high - low)`` inside the box, ``-inf`` outside."""
        theta = np.atleast_2d(theta)
        inside = np.all((theta >= self.low) & (theta <= self.high), axis=-1)
        return np.where(inside, -np.log(self.high - self.low).sum(), -np.inf)

    def mean(self) -> np.ndarray:
        """``(low + high) / 2``."""
        return 0.5 * (self.low + self.high)

    def std(self) -> np.ndarray:
        """``(high - low) / √12``."""
        return (self.high - self.low) / np.sqrt(12.0)

    def _cdf(self, x: np.ndarray) -> np.ndarray:
        return np.clip((x - self.low) / (self.high - self.low), 0.0, 1.0)

    def _icdf(self, u: np.ndarray) -> np.ndarray:
        return self.low + u * (self.high - self.low)

    def to_dict(self) -> dict[str, Any]:
        """``{"uniform": [low, high]}``."""
        return {"uniform": [self.low.tolist(), self.high.tolist()]}


class DiagNormal(Prior):
    """Independent normal components ``N(mean_i, sd_i²)``.

    Examples
    --------
    >>> p = DiagNormal(np.zeros(2), np.ones(2))
    >>> round(float(p.log_prob(np.zeros((1, 2)))[0]), 6)
    -1.837877
    """

    kind = "normal"

    def __init__(self, mean: Any, sd: Any) -> None:
        self.loc = np.atleast_1d(np.asarray(mean, dtype=float))
        self.scale = np.atleast_1d(np.asarray(sd, dtype=float)) * np.ones_like(self.loc)
        if not np.all(self.scale > 0):
            raise ValueError(f"normal prior needs sd > 0, got {self.scale.tolist()}")
        super().__init__(self.loc.size)

    def log_prob(self, theta: np.ndarray) -> np.ndarray:
        """Sum of the normal log densities."""
        z = (np.atleast_2d(theta) - self.loc) / self.scale
        return (-0.5 * z * z - np.log(self.scale) - 0.5 * np.log(2 * np.pi)).sum(-1)

    def mean(self) -> np.ndarray:
        """The means."""
        return self.loc.copy()

    def std(self) -> np.ndarray:
        """The standard deviations."""
        return self.scale.copy()

    def _cdf(self, x: np.ndarray) -> np.ndarray:
        return special.ndtr((x - self.loc) / self.scale)

    def _icdf(self, u: np.ndarray) -> np.ndarray:
        return self.loc + self.scale * special.ndtri(np.clip(u, 1e-300, 1 - 1e-16))

    def to_dict(self) -> dict[str, Any]:
        """``{"normal": [mean, sd]}``."""
        return {"normal": [self.loc.tolist(), self.scale.tolist()]}


def make_prior(spec: Any) -> Prior:
    """A prior from a :class:`Prior` or plain data.

    Parameters
    ----------
    spec : Prior or dict
        ``{"uniform": [low, high]}`` or ``{"normal": [mean, sd]}`` (lists or numbers).

    Returns
    -------
    Prior

    Examples
    --------
    >>> make_prior({"normal": [[0, 0], 1]}).dim
    2
    """
    if isinstance(spec, Prior):
        return spec
    if isinstance(spec, dict) and len(spec) == 1:
        (kind, args), = spec.items()
        if kind in ("uniform", "normal") and isinstance(args, (list, tuple)) and len(args) == 2:
            return BoxUniform(*args) if kind == "uniform" else DiagNormal(*args)
    raise ValueError(
        "prior must be an asktell_cinn Prior or {'uniform': [low, high]} / "
        f"{{'normal': [mean, sd]}}, got {spec!r:.80}"
    )
