"""A kernel for asktell_qml's kernel ridge regression: the Cauchy (rational quadratic, α = 1)
kernel k(x, y) = 1 / (1 + |x − y|² / σ²)."""

from __future__ import annotations

from typing import Any

from asktell_qml import DistanceKernel

__all__ = ["CauchyKernel"]


class CauchyKernel(DistanceKernel):
    """Cauchy kernel ``k(x, y) = 1 / (1 + |x - y|² / sigma²)``, heavy-tailed in the distance.

    See :class:`asktell_qml.DistanceKernel` for ``sigma``, ``device``, ``block`` and ``n_jobs``.

    Examples
    --------
    >>> import numpy as np
    >>> CauchyKernel(sigma=1.0)(np.array([[0.0]]), np.array([[1.0], [0.0]]))
    array([[0.5, 1. ]])
    """

    metric = "sqeuclidean"

    def _apply(self, d: Any, sigma: float) -> None:
        # in place, for a numpy array or a torch tensor alike
        d *= 1.0 / (sigma * sigma)
        d += 1.0
        if hasattr(d, "reciprocal_"):
            d.reciprocal_()
        else:
            d **= -1.0
