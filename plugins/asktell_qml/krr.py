"""Kernel ridge regression solved by a Cholesky factorisation (numpy/scipy or torch)."""

from __future__ import annotations

import json
import logging
from typing import Any

import numpy as np
import scipy.linalg

from asktell.plugins import PluginUnavailableError, UnknownNameError, registry

from ._base import DistanceKernel
from ._pairwise import is_torch_device

__all__ = ["CholeskyError", "KernelRidge", "make_kernel", "solve_cholesky"]

log = logging.getLogger(__name__)


class CholeskyError(np.linalg.LinAlgError):
    """``K + lambda I`` is not numerically positive definite."""


def make_kernel(kernel: str | DistanceKernel, **params: Any) -> DistanceKernel:
    """A kernel object from a name and hyper-parameters (or the object itself).

    Parameters
    ----------
    kernel : str or DistanceKernel
        A name in the registry's ``kernel`` family (``"gaussian"``, ``"laplacian"``,
        ``"wasserstein"``, or one another plugin registered), or a kernel object.
    **params
        Passed to the kernel's factory (``sigma``, ``p``, ``device``, ...).

    Returns
    -------
    DistanceKernel

    Raises
    ------
    ValueError
        If no kernel is registered under that name.
    TypeError
        If the registered factory does not build a :class:`DistanceKernel`.
    """
    if isinstance(kernel, DistanceKernel):
        return kernel
    reg = registry()
    if not isinstance(kernel, str):
        raise ValueError(f"kernel must be one of {reg.names('kernel')} or a kernel object, got "
                         f"{kernel!r}")
    try:
        factory = reg.get("kernel", kernel)
    except PluginUnavailableError:
        raise
    except UnknownNameError as e:
        raise ValueError(f"kernel must be one of {reg.names('kernel')} or a kernel object, got "
                         f"{kernel!r} ({e})") from None
    made = factory(**params)
    if not isinstance(made, DistanceKernel):
        raise TypeError(f"kernel {kernel!r} must build an asktell_qml.DistanceKernel, got "
                        f"{type(made).__name__}")
    return made


def _cholesky_message(lam: float, n: int, detail: str) -> str:
    return (
        f"K + lambda I (n = {n}, lambda = {lam:g}) is not positive definite to machine "
        f"precision ({detail}); use a larger lambda (try {max(lam * 100, 1e-10):g}) or a "
        "smaller sigma. asktell never falls back to least squares silently."
    )


def solve_cholesky(K: Any, y: Any, lam: float, *, overwrite: bool = False) -> Any:
    """Solve ``(K + lam I) alpha = y`` by a Cholesky factorisation.

    Parameters
    ----------
    K : ndarray or torch.Tensor, shape (n, n)
        Symmetric kernel matrix; only its lower triangle is read.
    y : ndarray or tensor, shape (n,) or (n, k)
    lam : float
        Regulariser, >= 0.
    overwrite : bool
        Factorise ``K`` in place (saves a copy of an n x n matrix; ``K`` is destroyed).

    Returns
    -------
    ndarray or tensor
        ``alpha``, shaped like ``y``.

    Raises
    ------
    CholeskyError
        When the factorisation fails, with a suggestion for ``lam``.

    Examples
    --------
    >>> solve_cholesky(np.array([[2.0, 1.0], [1.0, 2.0]]), np.array([3.0, 3.0]), 0.0)
    array([1., 1.])
    """
    lam = float(lam)
    if not lam >= 0:
        raise ValueError(f"lam must be >= 0, got {lam!r}")
    n = K.shape[0]
    if K.shape != (n, n) or y.shape[0] != n:
        raise ValueError(
            f"K must be square and match y: got K {tuple(K.shape)}, y {tuple(y.shape)}"
        )
    if isinstance(K, np.ndarray):
        A = K if overwrite else K.copy()
        A.flat[:: n + 1] += lam
        # A C-ordered symmetric matrix is its own Fortran-ordered transpose: LAPACK factorises
        # A.T in place (its lower triangle is A's upper one), without f2py's transposing copy.
        if A.flags.c_contiguous and not A.flags.f_contiguous:
            A = A.T
        try:
            c = scipy.linalg.cho_factor(A, lower=True, overwrite_a=True, check_finite=False)
        except np.linalg.LinAlgError as e:
            raise CholeskyError(_cholesky_message(lam, n, str(e))) from None
        if not np.isfinite(c[0].diagonal()).all():
            raise CholeskyError(_cholesky_message(lam, n, "non-finite factor"))
        return scipy.linalg.cho_solve(c, np.asarray(y, dtype=np.float64), check_finite=False)
    import torch

    A = K if overwrite else K.clone()
    A.diagonal().add_(lam)
    L, info = torch.linalg.cholesky_ex(A)
    del A
    if int(info) != 0:
        raise CholeskyError(_cholesky_message(lam, n, f"leading minor {int(info)} not positive"))
    yt = torch.as_tensor(y, dtype=L.dtype, device=L.device)
    out = torch.cholesky_solve(yt.reshape(n, -1), L)
    return out.reshape(yt.shape)


class KernelRidge:
    """Kernel ridge regression ``P(x) = Σ_i β_i k(x, x_i)``, ``β = (K + λI)^-1 y`` [1]_ [2]_.

    The linear system is solved by a Cholesky factorisation (``scipy.linalg.cho_factor`` in
    float64, or ``torch.linalg.cholesky`` on a torch device). A factorisation that fails raises
    :class:`CholeskyError` suggesting a larger λ: there is no silent switch to least squares
    (scikit-learn's ``KernelRidge`` does that, scikit-learn issue #3942).

    Parameters
    ----------
    kernel : str or DistanceKernel
        The kernel (a name in the registry's ``kernel`` family is built with ``sigma`` and
        ``device``; ``kernel_params`` go to it).
    sigma : float
        Length scale of a kernel given by name.
    lam : float
        λ, the regulariser added to the diagonal.
    device : str, optional
        None/"cpu": numpy; "cuda" (or a ``torch.device``): torch.
    center : bool
        Fit ``y - mean(y)`` and add the mean back (the paper fits y as it is: False).
    kernel_params : dict, optional
        More keyword arguments of the kernel (``p`` of the Wasserstein kernel, ``n_jobs``).

    Attributes
    ----------
    X_train_ : ndarray or tensor
        The training representations.
    alpha_ : ndarray or tensor
        β.
    y_offset_ : float

    References
    ----------
    .. [1] Rupp, M., Tkatchenko, A., Müller, K.-R. & von Lilienfeld, O. A. (2012). Fast and
       accurate modeling of molecular atomization energies with machine learning. *Physical
       Review Letters*, 108, 058301. doi:10.1103/PhysRevLett.108.058301
    .. [2] Çaylak, O., von Lilienfeld, O. A. & Baumeier, B. (2020). Wasserstein metric for
       improved quantum machine learning with adjacency matrix representations. *Machine
       Learning: Science and Technology*, 1(3), 03LT01. doi:10.1088/2632-2153/aba048

    Examples
    --------
    >>> import numpy as np
    >>> x = np.linspace(0, 1, 20)[:, None]
    >>> model = KernelRidge("gaussian", sigma=0.2, lam=1e-10).fit(x, np.sin(6 * x[:, 0]))
    >>> float(np.abs(model.predict([[0.525]]) - np.sin(6 * 0.525))[0]) < 1e-4
    True
    """

    def __init__(
        self,
        kernel: str | DistanceKernel = "wasserstein",
        sigma: float = 1.0,
        lam: float = 1e-8,
        *,
        device: Any = None,
        center: bool = False,
        kernel_params: dict[str, Any] | None = None,
    ) -> None:
        params = dict(kernel_params or {})
        if isinstance(kernel, str):
            params.setdefault("sigma", sigma)
            params.setdefault("device", device)
        self.kernel = make_kernel(kernel, **params)
        self.kernel_name = kernel if isinstance(kernel, str) else _name_of(self.kernel)
        self.lam = float(lam)
        if not self.lam >= 0:
            raise ValueError(f"lam must be >= 0, got {lam!r}")
        self.center = bool(center)
        self.X_train_: Any = None
        self.alpha_: Any = None
        self.y_offset_ = 0.0

    @property
    def device(self) -> Any:
        """The kernel's device."""
        return self.kernel.device

    def fit(self, X: Any, y: Any) -> KernelRidge:
        """Fit to representations ``X`` (n, d) and targets ``y`` (n,).

        Returns
        -------
        KernelRidge
            self.

        Raises
        ------
        CholeskyError
            ``K + λI`` not positive definite: increase ``lam``.
        """
        y = np.asarray(y, dtype=np.float64).reshape(-1)
        n = len(y)
        if len(X) != n:
            raise ValueError(f"X has {len(X)} rows and y has {n} values")
        if not np.isfinite(y).all():
            raise ValueError("y contains NaN or inf")
        self.y_offset_ = float(y.mean()) if self.center else 0.0
        K = self.kernel(X)
        yc = y - self.y_offset_
        if is_torch_device(self.device):
            import torch

            yc = torch.as_tensor(yc, dtype=torch.float64, device=K.device)
        self.alpha_ = solve_cholesky(K, yc, self.lam, overwrite=True)
        del K
        self.X_train_ = self.kernel._check(X)
        return self

    def predict(self, X: Any, *, block: int = 4096) -> np.ndarray:
        """Predictions for representations ``X`` (m, d), as a numpy array.

        Parameters
        ----------
        X : array (m, d)
        block : int
            Test rows per kernel block (memory: ``block x n_train`` floats).

        Returns
        -------
        ndarray of float64, shape (m,)
        """
        if self.alpha_ is None:
            raise RuntimeError("KernelRidge.predict before fit: call fit(X, y) first")
        out = np.empty(len(X))
        for a in range(0, len(X), block):
            k = self.kernel(X[a : a + block], self.X_train_)
            p = k @ self.alpha_
            out[a : a + block] = p if isinstance(p, np.ndarray) else p.cpu().numpy()
        return out + self.y_offset_

    # -- checkpoints -------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Plain data and numpy arrays: the kernel, its hyper-parameters, the fit."""

        def arr(a: Any) -> Any:
            if a is None:
                return None
            return a if isinstance(a, np.ndarray) else a.detach().cpu().numpy()

        return {
            "kernel": self.kernel_name,
            "kernel_params": self.kernel.get_params(),
            "lam": self.lam,
            "center": self.center,
            "y_offset": self.y_offset_,
            "X_train": arr(self.X_train_),
            "alpha": arr(self.alpha_),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` (onto this model's device)."""
        missing = {"kernel", "kernel_params", "lam", "X_train", "alpha"} - set(state)
        if missing:
            raise ValueError(f"not a KernelRidge state: missing {sorted(missing)}")
        self.kernel = make_kernel(state["kernel"], **state["kernel_params"], device=self.device,
                                  n_jobs=self.kernel.n_jobs)
        self.kernel_name = state["kernel"]
        self.lam = float(state["lam"])
        self.center = bool(state.get("center", False))
        self.y_offset_ = float(state.get("y_offset", 0.0))
        if state["alpha"] is None:
            self.X_train_ = self.alpha_ = None
            return
        self.X_train_ = self.kernel._check(state["X_train"])
        alpha = np.asarray(state["alpha"], dtype=np.float64)
        if is_torch_device(self.device):
            import torch

            self.alpha_ = torch.as_tensor(alpha, device=self.X_train_.device)
        else:
            self.alpha_ = alpha.copy()

    def save(self, path: str) -> None:
        """Write :meth:`state_dict` to an ``.npz`` file (no pickles)."""
        s = self.state_dict()
        np.savez_compressed(
            path, kernel=np.array(s["kernel"]), sigma=s["kernel_params"]["sigma"],
            p=s["kernel_params"].get("p", 1.0), lam=s["lam"], center=s["center"],
            y_offset=s["y_offset"], X_train=s["X_train"], alpha=s["alpha"],
            kernel_params=np.array(json.dumps(s["kernel_params"])),
        )

    @classmethod
    def load(cls, path: str, *, device: Any = None) -> KernelRidge:
        """Read a model written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as f:
            name = str(f["kernel"])
            params: dict[str, Any] = {"sigma": float(f["sigma"])}
            if "kernel_params" in f.files:  # any registered kernel's hyper-parameters
                params = json.loads(str(f["kernel_params"]))
            elif name == "wasserstein":
                params["p"] = float(f["p"])
            model = cls(name, device=device, kernel_params=params)
            model.load_state_dict({
                "kernel": name, "kernel_params": params, "lam": float(f["lam"]),
                "center": bool(f["center"]), "y_offset": float(f["y_offset"]),
                "X_train": f["X_train"], "alpha": f["alpha"],
            })
        return model


def _name_of(kernel: DistanceKernel) -> str:
    name = registry().name_of("kernel", type(kernel))
    if name is None:
        raise ValueError(f"kernel class {type(kernel).__name__} is not registered in the kernel "
                         f"family; register it (see docs/plugin-guide.md) or give its name")
    return name
