"""Boundaries on a numeric search space."""

from __future__ import annotations

import abc
from collections.abc import Sequence

import numpy as np

__all__ = ["Boundaries", "RectangularBoundaries"]


class Boundaries(abc.ABC):
    """A region of R^d that numeric optimisers keep their candidates in.

    Subclasses implement :meth:`contains` (vectorised) and :attr:`n_parameters`; :meth:`sample`
    and :meth:`range` are optional.
    """

    @property
    @abc.abstractmethod
    def n_parameters(self) -> int:
        """Dimension d of the space the boundaries are defined on."""

    @abc.abstractmethod
    def contains(self, xs: np.ndarray) -> np.ndarray:
        """Whether each row of ``xs`` lies inside.

        Parameters
        ----------
        xs : ndarray, shape (n, d)
            Points.

        Returns
        -------
        ndarray of bool, shape (n,)
        """

    def check(self, x: Sequence[float] | np.ndarray) -> bool:
        """Whether one point lies inside.

        Parameters
        ----------
        x : array_like, shape (d,)
            A point.

        Returns
        -------
        bool
        """
        return bool(self.contains(np.asarray(x, dtype=float).reshape(1, -1))[0])

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Draw ``n`` points inside the boundaries.

        Parameters
        ----------
        n : int
            Number of points.
        rng : numpy.random.Generator
            Source of randomness (asktell never uses a global RNG).

        Returns
        -------
        ndarray, shape (n, d)
        """
        raise NotImplementedError(f"{type(self).__name__} does not support sampling")

    def range(self) -> np.ndarray:
        """Width of the region along each axis (used to guess ``sigma0``)."""
        raise NotImplementedError(f"{type(self).__name__} has no range")

    def clip(self, xs: np.ndarray) -> np.ndarray:
        """Project points to the nearest point inside (numeric optimisers need this).

        Parameters
        ----------
        xs : ndarray, shape (n, d)

        Returns
        -------
        ndarray, shape (n, d)
        """
        raise NotImplementedError(f"{type(self).__name__} does not support projection (clip)")


class RectangularBoundaries(Boundaries):
    """Lower and upper bounds per coordinate: ``lower <= x < upper``.

    The half-open convention follows PINTS's ``RectangularBoundaries``.

    Parameters
    ----------
    lower, upper : array_like, shape (d,)
        Bounds; every ``lower[i] < upper[i]`` and both finite.

    Examples
    --------
    >>> b = RectangularBoundaries([0, 200], [1, 1000])
    >>> b.check([0.015, 500])
    True
    >>> b.range().tolist()
    [1.0, 800.0]
    """

    def __init__(self, lower: Sequence[float] | np.ndarray, upper: Sequence[float] | np.ndarray):
        lo = np.array(lower, dtype=float).reshape(-1)
        hi = np.array(upper, dtype=float).reshape(-1)
        if lo.size == 0:
            raise ValueError("RectangularBoundaries needs at least one dimension")
        if lo.shape != hi.shape:
            raise ValueError(
                f"lower and upper must have the same length, got {lo.size} and {hi.size}"
            )
        if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
            raise ValueError("bounds must be finite numbers")
        bad = np.flatnonzero(lo >= hi)
        if bad.size:
            i = int(bad[0])
            raise ValueError(
                f"lower must be strictly below upper in every coordinate; "
                f"coordinate {i} has lower={lo[i]!r} >= upper={hi[i]!r}"
            )
        lo.setflags(write=False)
        hi.setflags(write=False)
        self._lower = lo
        self._upper = hi
        # Largest representable value still inside the half-open box, for projection.
        self._upper_in = np.nextafter(hi, -np.inf)

    @property
    def n_parameters(self) -> int:
        """Dimension d."""
        return self._lower.size

    @property
    def lower(self) -> np.ndarray:
        """Lower bounds (read-only)."""
        return self._lower

    @property
    def upper(self) -> np.ndarray:
        """Upper bounds (read-only)."""
        return self._upper

    def contains(self, xs: np.ndarray) -> np.ndarray:
        """See :meth:`Boundaries.contains`."""
        xs = np.asarray(xs, dtype=float)
        inside: np.ndarray = np.all((xs >= self._lower) & (xs < self._upper), axis=-1)
        return inside

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """See :meth:`Boundaries.sample`."""
        return rng.uniform(self._lower, self._upper, size=(n, self.n_parameters))

    def range(self) -> np.ndarray:
        """See :meth:`Boundaries.range`."""
        span: np.ndarray = self._upper - self._lower
        return span

    def clip(self, xs: np.ndarray) -> np.ndarray:
        """Project points onto the box (nearest point inside, per coordinate).

        Parameters
        ----------
        xs : ndarray, shape (n, d) or (d,)

        Returns
        -------
        ndarray
            A new array, every row inside.
        """
        clipped: np.ndarray = np.clip(xs, self._lower, self._upper_in)
        return clipped

    def __repr__(self) -> str:
        return f"RectangularBoundaries({self._lower.tolist()}, {self._upper.tolist()})"
