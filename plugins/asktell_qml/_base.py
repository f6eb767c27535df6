"""Common machinery of the distance-based kernels k(x, y) = f(d(x, y) / sigma)."""

from __future__ import annotations

import abc
from typing import Any

import numpy as np

from ._pairwise import is_torch_device, pairwise

__all__ = ["DistanceKernel", "scaled_exp_"]


def scaled_exp_(d: Any, factor: float) -> None:
    """``d ← exp(factor · d)`` in place, for a numpy array or a torch tensor."""
    if isinstance(d, np.ndarray):
        d *= factor
        np.exp(d, out=d)
    else:
        d.mul_(factor).exp_()


class DistanceKernel(abc.ABC):
    """A kernel that is a function of one distance and one length scale ``sigma``.

    Subclasses set :attr:`metric` (what :func:`pairwise` computes), :meth:`prepare` (a per-row
    transform of the representation, done once per row) and :meth:`_apply` (distance to kernel,
    in place). :meth:`distances` and :meth:`from_distances` split a kernel evaluation in two, so
    a hyper-parameter search computes distances once and re-exponentiates them per ``sigma``.

    Parameters
    ----------
    sigma : float
        Length scale, > 0.
    device : str or torch.device, optional
        None/``"cpu"``: numpy and scipy (threads); ``"cuda"`` or a ``torch.device``: torch,
        whose results are float64 tensors on that device.
    block : int, optional
        Rows per block (see :func:`asktell_qml._pairwise.pairwise`).
    n_jobs : int, optional
        Threads on the numpy backend (default: the CPUs available).
    """

    #: pairwise metric: "l1", "l2" or "sqeuclidean"
    metric: str = "l1"

    def __init__(
        self,
        sigma: float = 1.0,
        *,
        device: Any = None,
        block: int | None = None,
        n_jobs: int | None = None,
    ) -> None:
        self.sigma = _check_sigma(sigma)
        self.device = device
        self.block = block
        self.n_jobs = n_jobs

    # -- to override -------------------------------------------------------------------------

    def prepare(self, X: Any) -> Any:
        """Representation as the distance sees it (default: as float64, checked)."""
        return self._check(X)

    @abc.abstractmethod
    def _apply(self, d: Any, sigma: float) -> None:
        """Turn a block of distances into kernel values, in place."""

    def _scale(self, d: Any) -> None:  # noqa: B027 - optional hook
        """Finish a block of raw distances (default: nothing)."""

    # -- public ------------------------------------------------------------------------------

    def distances(self, X: Any, Y: Any = None) -> Any:
        """The distance matrix the kernel is a function of.

        Parameters
        ----------
        X : array (n, d)
        Y : array (m, d), optional
            None: the symmetric matrix of ``X``.

        Returns
        -------
        ndarray or tensor, float64, shape (n, m)
        """
        Xp = self.prepare(X)
        Yp = None if Y is None else self.prepare(Y)
        self._check_pair(Xp, Yp)
        return pairwise(self.metric, Xp, Yp, transform=self._scale, device=self.device,
                        block=self.block, n_jobs=self.n_jobs)

    def from_distances(self, D: Any, sigma: float | None = None, *, out: Any = None) -> Any:
        """Kernel values from :meth:`distances` (a copy, or written into ``out``).

        Parameters
        ----------
        D : ndarray or tensor
        sigma : float, optional
            Default: :attr:`sigma`.
        out : ndarray or tensor, optional
            Same shape as ``D`` (may be ``D`` itself).

        Returns
        -------
        ndarray or tensor
        """
        s = self.sigma if sigma is None else _check_sigma(sigma)
        if out is None:
            out = D.clone() if hasattr(D, "clone") else np.array(D, dtype=np.float64)
        elif out is not D:
            out[...] = D
        self._apply(out, s)
        return out

    def __call__(self, X: Any, Y: Any = None) -> Any:
        """Kernel matrix ``K[i, j] = k(X[i], Y[j])``, or the symmetric ``K(X)``.

        Parameters
        ----------
        X : array (n, d)
        Y : array (m, d), optional

        Returns
        -------
        ndarray or tensor, float64, shape (n, m)
        """
        Xp = self.prepare(X)
        Yp = None if Y is None else self.prepare(Y)
        self._check_pair(Xp, Yp)
        s = self.sigma

        def transform(d: Any) -> None:
            self._scale(d)
            self._apply(d, s)

        return pairwise(self.metric, Xp, Yp, transform=transform, device=self.device,
                        block=self.block, n_jobs=self.n_jobs)

    def get_params(self) -> dict[str, Any]:
        """Hyper-parameters as plain data (what :class:`~asktell_qml.krr.KernelRidge` saves)."""
        return {"sigma": self.sigma}

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"

    # -- helpers -----------------------------------------------------------------------------

    def _check(self, X: Any) -> Any:
        if is_torch_device(self.device):
            import torch

            t = torch.as_tensor(X, dtype=torch.float64, device=self.device)
            if t.ndim != 2:
                raise ValueError(f"expected a 2-D array (n, d) of representations, got {t.ndim}-D")
            if not torch.isfinite(t).all():
                raise ValueError("representations contain NaN or inf")
            return t
        a = np.asarray(X, dtype=np.float64)
        if a.ndim != 2:
            raise ValueError(f"expected a 2-D array (n, d) of representations, got {a.ndim}-D")
        if not np.isfinite(a).all():
            raise ValueError("representations contain NaN or inf")
        return a

    @staticmethod
    def _check_pair(X: Any, Y: Any) -> None:
        if Y is not None and X.shape[1] != Y.shape[1]:
            raise ValueError(
                f"X and Y must have as many features: got {X.shape[1]} and {Y.shape[1]}"
            )


def _check_sigma(sigma: float) -> float:
    try:
        s = float(sigma)
    except (TypeError, ValueError):
        raise TypeError(f"sigma must be a positive number, got {sigma!r}") from None
    if not (s > 0 and np.isfinite(s)):
        raise ValueError(f"sigma must be a positive finite number, got {sigma!r}")
    return s
