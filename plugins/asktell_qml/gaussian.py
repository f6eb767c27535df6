"""Gaussian kernel k(x, y) = exp(-|x - y|_2^2 / (2 sigma^2))."""

from __future__ import annotations

from typing import Any

from ._base import DistanceKernel, scaled_exp_

__all__ = ["GaussianKernel"]


class GaussianKernel(DistanceKernel):
    """Gaussian (RBF) kernel on the squared Euclidean distance [1]_.

    ``k(x, y) = exp(-|x - y|^2 / (2 sigma^2))``. Squared distances are computed as
    ``|x|^2 + |y|^2 - 2 x.y`` (one matrix product per block, as scikit-learn's ``rbf_kernel``),
    clipped at 0; :meth:`distances` returns these squared distances. See
    :class:`~asktell_qml._base.DistanceKernel` for the parameters, blocking and devices.

    References
    ----------
    .. [1] Rupp, M., Tkatchenko, A., Müller, K.-R. & von Lilienfeld, O. A. (2012). Fast and
       accurate modeling of molecular atomization energies with machine learning. *Physical
       Review Letters*, 108, 058301. doi:10.1103/PhysRevLett.108.058301

    Examples
    --------
    >>> import numpy as np
    >>> k = GaussianKernel(sigma=1.0)
    >>> k(np.array([[0.0, 0.0], [1.0, 1.0]]))
    array([[1.        , 0.36787944],
           [0.36787944, 1.        ]])
    """

    metric = "sqeuclidean"

    def _apply(self, d: Any, sigma: float) -> None:
        scaled_exp_(d, -0.5 / sigma**2)
