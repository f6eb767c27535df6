"""Laplacian kernel k(x, y) = exp(-|x - y|_1 / sigma)."""

from __future__ import annotations

from typing import Any

from ._base import DistanceKernel, scaled_exp_

__all__ = ["LaplacianKernel"]


class LaplacianKernel(DistanceKernel):
    """Laplacian kernel on the Manhattan (L1) distance, as used with Coulomb matrices [1]_.

    ``k(x, y) = exp(-|x - y|_1 / sigma)``; see :class:`~asktell_qml._base.DistanceKernel` for
    the parameters, blocking and devices.

    References
    ----------
    .. [1] Hansen, K. et al. (2013). Assessment and validation of machine learning methods for
       predicting molecular atomization energies. *Journal of Chemical Theory and Computation*,
       9(8), 3404–3419. doi:10.1021/ct400195d

    Examples
    --------
    >>> import numpy as np
    >>> k = LaplacianKernel(sigma=2.0)
    >>> k(np.array([[0.0, 0.0]]), np.array([[1.0, 1.0], [0.0, 0.0]]))
    array([[0.36787944, 1.        ]])
    """

    metric = "l1"

    def _apply(self, d: Any, sigma: float) -> None:
        scaled_exp_(d, -1.0 / sigma)
