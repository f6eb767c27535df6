"""Shared ground of optimisers over R^d: x0, sigma0, boundaries and population size."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .boundaries import Boundaries, RectangularBoundaries
from .protocol import MINIMISE, Optimiser

__all__ = ["NumericOptimiser", "PopulationOptimiser"]

ArrayLike = Sequence[float] | np.ndarray


def _vector(name: str, x: Any) -> np.ndarray:
    try:
        v = np.array(x, dtype=float)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{name} must be a sequence of real numbers, got {x!r:.80}") from e
    if v.ndim == 0:
        v = v.reshape(1)
    if v.ndim != 1 or v.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-d sequence, got shape {v.shape}")
    if not np.all(np.isfinite(v)):
        raise ValueError(f"{name} must be finite, got {v.tolist()}")
    return v


def _zeros(n: int) -> np.ndarray:
    z = np.zeros(n)
    z.setflags(write=False)
    return z


class NumericOptimiser(Optimiser):
    """Base of optimisers that search R^d from a starting point.

    Parameters
    ----------
    x0 : array_like, shape (d,)
        Starting point; must lie inside ``boundaries``.
    sigma0 : float or array_like of shape (d,), optional
        Initial step size per coordinate. Default, as in PINTS: one sixth of the boundaries'
        range when boundaries are given, else ``|x0| / 3`` (1 where ``x0`` is 0).
    boundaries : Boundaries, optional
        Region every asked point lies in.
    seed, direction
        See :class:`asktell.Optimiser`.
    """

    def __init__(
        self,
        x0: ArrayLike,
        sigma0: float | ArrayLike | None = None,
        boundaries: Boundaries | None = None,
        *,
        seed: int | None = None,
        direction: str = MINIMISE,
    ) -> None:
        super().__init__(seed=seed, direction=direction)
        x0 = _vector("x0", x0)
        d = x0.size
        if boundaries is not None:
            if isinstance(boundaries, (tuple, list)) and len(boundaries) == 2:
                boundaries = RectangularBoundaries(*boundaries)
            if not isinstance(boundaries, Boundaries):
                raise TypeError(
                    "boundaries must be an asktell.Boundaries (e.g. RectangularBoundaries) "
                    f"or a (lower, upper) pair, got {type(boundaries).__name__}"
                )
            if boundaries.n_parameters != d:
                raise ValueError(
                    f"boundaries are {boundaries.n_parameters}-dimensional but x0 has {d} entries"
                )
            if not boundaries.check(x0):
                raise ValueError(f"x0 = {x0.tolist()} lies outside the boundaries {boundaries!r}")
        if sigma0 is None:
            try:
                s = np.asarray(boundaries.range(), dtype=float) / 6.0  # type: ignore[union-attr]
            except (AttributeError, NotImplementedError):
                s = np.abs(x0) / 3.0
                s[s == 0] = 1.0
        elif np.isscalar(sigma0):
            if isinstance(sigma0, bool) or not isinstance(sigma0, (int, float, np.number)):
                raise TypeError(f"sigma0 must be a number or a sequence, got {sigma0!r}")
            s = np.full(d, float(sigma0))
        else:
            s = _vector("sigma0", sigma0)
            if s.size != d:
                raise ValueError(f"sigma0 must be a scalar or have {d} entries, got {s.size}")
        if not np.all((s > 0) & np.isfinite(s)):
            raise ValueError(f"sigma0 must be positive and finite, got {s.tolist()}")
        x0.setflags(write=False)
        s.setflags(write=False)
        self._x0 = x0
        self._sigma0 = s
        self._boundaries = boundaries

    def settings(self) -> dict[str, Any]:
        """See :meth:`asktell.AskTell.settings`: adds ``n_parameters`` and ``boundaries``."""
        b = self._boundaries
        bounds: list[Any] | str | None = None
        if isinstance(b, RectangularBoundaries):
            bounds = [b.lower.tolist(), b.upper.tolist()]
        elif b is not None:
            bounds = type(b).__name__
        return {**super().settings(), "n_parameters": self.n_parameters, "boundaries": bounds}

    @property
    def n_parameters(self) -> int:
        """Dimension d of the search space."""
        return self._x0.size

    @property
    def x0(self) -> np.ndarray:
        """Starting point (read-only)."""
        return self._x0

    @property
    def sigma0(self) -> np.ndarray:
        """Initial step size per coordinate (read-only)."""
        return self._sigma0

    @property
    def boundaries(self) -> Boundaries | None:
        """The boundaries, or None."""
        return self._boundaries

    def _default_xbest(self) -> np.ndarray:
        return self._x0

    def _repair(self, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Project sampled points into the boundaries.

        Parameters
        ----------
        xs : ndarray, shape (n, d)
            Points as sampled (modified in place).

        Returns
        -------
        xs : ndarray
            The points, every one inside (projected with ``boundaries.clip``).
        outside : ndarray, shape (n,)
            How far outside each sample was (squared distance in units of ``sigma0``), 0 for
            points that were inside. Methods rank outside samples after inside ones (the
            death-penalty ranking of PINTS), so the search distribution is pushed back inside.
        """
        b = self._boundaries
        if b is None:
            return xs, _zeros(len(xs))
        inside = b.contains(xs)
        if inside.all():
            return xs, _zeros(len(xs))
        clipped = b.clip(xs)
        outside = np.sum(((xs - clipped) / self._sigma0) ** 2, axis=1)
        outside[inside] = 0.0
        return clipped, outside

    @staticmethod
    def _rank(losses: np.ndarray, outside: np.ndarray) -> np.ndarray:
        """Order of a batch, best first: inside before outside before failed samples.

        Inside samples are ordered by loss; outside ones by loss at their projection, then by
        distance outside; failures (``inf`` loss) last.
        """
        if not outside.any():
            return np.argsort(losses, kind="stable")
        group = np.where(np.isfinite(losses), np.where(outside > 0, 1, 0), 2)
        return np.lexsort((outside, losses, group))


class PopulationOptimiser(NumericOptimiser):
    """A :class:`NumericOptimiser` that asks ``popsize`` points at a time.

    Parameters
    ----------
    popsize : int, optional
        Points per batch; default from :meth:`default_popsize`.
    """

    def __init__(
        self,
        x0: ArrayLike,
        sigma0: float | ArrayLike | None = None,
        boundaries: Boundaries | None = None,
        *,
        popsize: int | None = None,
        seed: int | None = None,
        direction: str = MINIMISE,
    ) -> None:
        super().__init__(x0, sigma0, boundaries, seed=seed, direction=direction)
        if popsize is None:
            popsize = self.default_popsize(self.n_parameters)
        if isinstance(popsize, bool) or not isinstance(popsize, (int, np.integer)):
            raise TypeError(f"popsize must be an int, got {popsize!r}")
        if popsize < 2:
            raise ValueError(f"popsize must be at least 2, got {popsize}")
        self._popsize = int(popsize)

    def settings(self) -> dict[str, Any]:
        """See :meth:`asktell.AskTell.settings`: adds ``popsize``."""
        return {**super().settings(), "popsize": self._popsize}

    @staticmethod
    def default_popsize(d: int) -> int:
        """Default population size ``4 + floor(3 ln d)`` (Hansen's rule, used by PINTS)."""
        return 4 + int(3 * np.log(d))

    @staticmethod
    def default_max_iterations(d: int, popsize: int) -> int:
        """Default iteration limit 100 + 150 (d + 3)² / √λ (pycma's ``maxiter``)."""
        return 100 + int(150 * (d + 3) ** 2 / popsize**0.5)

    @property
    def popsize(self) -> int:
        """Points per batch."""
        return self._popsize
