"""Wasserstein kernel k(x, y) = exp(-W_p(x, y) / sigma) on representations seen as 1-D
distributions of their entries.

For two vectors of the same length m, each read as the empirical distribution of its entries,
the 1-Wasserstein distance is the area between their CDFs, which equals the mean absolute
difference of the sorted vectors:

    W1(u, v) = ∫ |U(t) - V(t)| dt = (1/m) Σ_i |u_(i) - v_(i)|.

So each representation is sorted once and the kernel matrix is one blocked L1 distance
computation (:func:`asktell_qml._pairwise.pairwise`), with no loop over pairs. W1 does not depend
on the order of the entries, hence not on the atom order of a Coulomb matrix. For p = 2 the same
holds with the Euclidean distance: W2 = |sort(u) - sort(v)|_2 / sqrt(m). Distributions of
unequal length go through :func:`wasserstein_distance` (quantile functions, one pair at a time).

References
----------
.. [1] Çaylak, O., von Lilienfeld, O. A. & Baumeier, B. (2020). Wasserstein metric for improved
   quantum machine learning with adjacency matrix representations. *Machine Learning: Science
   and Technology*, 1(3), 03LT01. doi:10.1088/2632-2153/aba048 (arXiv:2001.11005)
.. [2] Villani, C. (2009). *Optimal Transport: Old and New*. Springer. doi:10.1007/978-3-540-71050-9
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._base import DistanceKernel, scaled_exp_
from ._pairwise import is_torch_device

__all__ = ["WassersteinKernel", "pairwise_wasserstein", "wasserstein_distance"]


def wasserstein_distance(u: Any, v: Any, p: float = 1.0) -> float:
    """p-Wasserstein distance between the empirical distributions of two samples.

    The samples may differ in length. Computed from the quantile functions,
    ``W_p^p = ∫_0^1 |U^-1(t) - V^-1(t)|^p dt``, which are step functions: the integral is a sum
    over the merged steps (breakpoints ``i/m`` and ``j/n``, merged exactly in integers).

    Parameters
    ----------
    u, v : array_like, 1-D
        Samples (equal weights).
    p : float
        Order, >= 1.

    Returns
    -------
    float

    Examples
    --------
    >>> wasserstein_distance([0.0, 1.0, 3.0], [5.0, 6.0])
    4.166666666666666
    >>> from scipy.stats import wasserstein_distance as scipy_w1
    >>> float(scipy_w1([0.0, 1.0, 3.0], [5.0, 6.0]))
    4.166666666666666
    >>> wasserstein_distance([0.0, 1.0, 3.0], [5.0, 6.0], p=2)
    4.262237284181474
    """
    a = np.sort(np.asarray(u, dtype=np.float64).reshape(-1))
    b = np.sort(np.asarray(v, dtype=np.float64).reshape(-1))
    if a.size == 0 or b.size == 0:
        raise ValueError("both samples must hold at least one value")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("samples contain NaN or inf")
    p = float(p)
    if not p >= 1:
        raise ValueError(f"p must be >= 1, got {p}")
    m, n = a.size, b.size
    s = np.union1d(np.arange(1, m + 1, dtype=np.int64) * n, np.arange(1, n + 1, dtype=np.int64) * m)
    width = np.diff(s, prepend=0) / (m * n)
    diff = np.abs(a[(s - 1) // n] - b[(s - 1) // m])
    if p == 1:
        return float(width @ diff)
    return float((width @ diff**p) ** (1 / p))


def pairwise_wasserstein(X: Sequence[Any], Y: Sequence[Any] | None = None, p: float = 1.0
                         ) -> np.ndarray:
    """W_p between every pair of samples of (possibly) unequal lengths.

    One :func:`wasserstein_distance` per pair: use :class:`WassersteinKernel` on padded
    representations of equal length where possible (thousands of times faster).

    Parameters
    ----------
    X : sequence of 1-D arrays
    Y : sequence of 1-D arrays, optional
        None: the symmetric matrix of ``X``.
    p : float

    Returns
    -------
    ndarray, shape (len(X), len(Y))
    """
    sym = Y is None
    Ys = X if Y is None else Y
    out = np.zeros((len(X), len(Ys)))
    for i, u in enumerate(X):
        for j in range(i if sym else 0, len(Ys)):
            if sym and i == j:
                continue
            out[i, j] = wasserstein_distance(u, Ys[j], p)
            if sym:
                out[j, i] = out[i, j]
    return out


def _ragged(X: Any) -> bool:
    if isinstance(X, np.ndarray) or hasattr(X, "dim"):
        return False
    lengths = {len(x) for x in X}
    return len(lengths) > 1


class WassersteinKernel(DistanceKernel):
    """Wasserstein kernel ``k(x, y) = exp(-W_p(x, y) / sigma)`` of Çaylak et al. [1]_.

    Each representation (a flattened Coulomb matrix, say) is read as a 1-D distribution of its
    entries. The paper writes ``exp(-alpha W1)``: ``alpha = 1 / sigma``.

    Parameters
    ----------
    sigma : float
        Length scale (in the units of the representation's entries).
    p : {1, 2}
        Order of the Wasserstein distance on the fast, equal-length path. Ragged inputs (lists
        of 1-D arrays of different lengths) take any p >= 1 through
        :func:`pairwise_wasserstein`, on numpy only.
    device, block, n_jobs
        See :class:`~asktell_qml._base.DistanceKernel`.

    References
    ----------
    .. [1] Çaylak, O., von Lilienfeld, O. A. & Baumeier, B. (2020). Wasserstein metric for
       improved quantum machine learning with adjacency matrix representations. *Machine
       Learning: Science and Technology*, 1(3), 03LT01. doi:10.1088/2632-2153/aba048

    Examples
    --------
    W1 ignores the order of the entries:

    >>> import numpy as np
    >>> k = WassersteinKernel(sigma=1.0)
    >>> k.distances(np.array([[3.0, 1.0, 2.0]]), np.array([[1.0, 2.0, 3.0], [2.0, 3.0, 4.0]]))
    array([[0., 1.]])
    """

    def __init__(
        self,
        sigma: float = 1.0,
        *,
        p: float = 1,
        device: Any = None,
        block: int | None = None,
        n_jobs: int | None = None,
    ) -> None:
        super().__init__(sigma, device=device, block=block, n_jobs=n_jobs)
        self.p = float(p)
        if not self.p >= 1:
            raise ValueError(f"p must be >= 1, got {p!r}")
        self._m = 1

    @property
    def metric(self) -> str:  # type: ignore[override]
        """L1 distance of sorted vectors for p = 1, L2 for p = 2."""
        if self.p == 1:
            return "l1"
        if self.p == 2:
            return "l2"
        raise ValueError(
            f"the equal-length fast path supports p = 1 or 2, got p = {self.p:g}; pass ragged "
            "inputs (lists of 1-D arrays) or use pairwise_wasserstein"
        )

    def prepare(self, X: Any) -> Any:
        """Sort each row once (ascending)."""
        A = self._check(X)
        self._m = A.shape[1]
        if isinstance(A, np.ndarray):
            return np.sort(A, axis=1)
        return A.sort(dim=1).values

    def _scale(self, d: Any) -> None:
        d *= 1.0 / (self._m if self.p == 1 else np.sqrt(self._m))

    def _apply(self, d: Any, sigma: float) -> None:
        scaled_exp_(d, -1.0 / sigma)

    def distances(self, X: Any, Y: Any = None) -> Any:
        """W_p between rows (see :meth:`DistanceKernel.distances`); ragged inputs allowed."""
        if _ragged(X) or (Y is not None and _ragged(Y)) or (
            Y is not None and not _ragged(X) and len(X) and len(Y) and len(X[0]) != len(Y[0])
        ):
            if is_torch_device(self.device):
                raise ValueError("ragged inputs are supported on numpy only")
            return pairwise_wasserstein(X, Y, self.p)
        return super().distances(X, Y)

    def __call__(self, X: Any, Y: Any = None) -> Any:
        """Kernel matrix (see :meth:`DistanceKernel.__call__`); ragged inputs allowed."""
        if _ragged(X) or (Y is not None and _ragged(Y)) or (
            Y is not None and not _ragged(X) and len(X) and len(Y) and len(X[0]) != len(Y[0])
        ):
            return self.from_distances(self.distances(X, Y))
        return super().__call__(X, Y)

    def get_params(self) -> dict[str, Any]:
        """Hyper-parameters as plain data."""
        return {"sigma": self.sigma, "p": self.p}
