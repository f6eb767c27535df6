"""Binary restricted Boltzmann machine trained by CD-k or persistent CD, on CPU or CUDA."""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from asktell.torchstate import generator_from_state, generator_state, resolve_device

from ._binary import as_binary
from .ais import LogPartition, ais_log_partition
from .exact import MAX_EXACT_UNITS, exact_log_partition

__all__ = ["BernoulliRBM"]

log = logging.getLogger(__name__)

_STATE_KEYS = ("W", "b", "c", "vel_W", "vel_b", "vel_c")


class BernoulliRBM:
    """A restricted Boltzmann machine with binary visible and hidden units.

    Energy E(v, h) = −bᵀv − cᵀh − vᵀWh and P(v, h) = exp(−E(v, h)) / Z, so that
    P(h_j = 1 | v) = σ(c_j + vᵀW_{:,j}), P(v_i = 1 | h) = σ(b_i + W_{i,:}h) and the free energy is
    F(v) = −bᵀv − Σ_j softplus(c_j + vᵀW_{:,j}), log P(v) = −F(v) − log Z.

    The gradient of the mean log-likelihood is ⟨v hᵀ⟩_data − ⟨v hᵀ⟩_model for W (likewise
    ⟨v⟩ for b, ⟨h⟩ for c). The positive phase is exact (P(h | v) in closed form). The negative
    phase is estimated by contrastive divergence, CD-k (Hinton 2002 [1]_: k Gibbs sweeps from
    each data vector of the minibatch), or persistent CD (Tieleman 2008 [2]_: ``n_chains``
    fantasy chains kept from update to update, k sweeps each). Updates are gradient ascent with
    momentum and L2 weight decay on W (Hinton 2012 [3]_). The number of persistent chains is
    independent of the batch size.

    Quality is measured by the log-likelihood, exact (:meth:`log_partition` with
    ``method="exact"``, up to 2^25 states of the smaller layer) or estimated by annealed
    importance sampling [4]_ (``method="ais"``, labelled as an estimate with a ±3σ band).
    Pseudo-likelihood and reconstruction error are not offered as quality measures.

    Parameters
    ----------
    n_visible, n_hidden : int
        Layer sizes.
    k : int
        Gibbs sweeps per negative phase.
    persistent : bool
        Persistent CD (True) or CD-k from the data (False).
    n_chains : int, optional
        Persistent chains (default ``batch_size``); ignored without ``persistent``.
    lr : float
        Learning rate.
    momentum : float
        Momentum of the parameter updates, in [0, 1).
    weight_decay : float
        L2 penalty on W (added to the gradient as −``weight_decay`` · W).
    batch_size : int
        Minibatch size.
    epochs : int
        Passes over the data made by :meth:`fit`.
    seed : int, optional
        Seed of the model's own ``torch.Generator`` (initial weights, shuffling, sampling).
    device : str or torch.device, optional
        ``"cpu"`` (default) or ``"cuda"``; every tensor lives there.
    dtype : torch.dtype
        Precision of the parameters and sampling (the exact log Z always sums in float64).

    References
    ----------
    .. [1] G. E. Hinton (2002), "Training products of experts by minimizing contrastive
       divergence", Neural Computation 14(8), 1771-1800, doi:10.1162/089976602760128018.
    .. [2] T. Tieleman (2008), "Training restricted Boltzmann machines using approximations to
       the likelihood gradient", Proc. 25th ICML, 1064-1071, doi:10.1145/1390156.1390290.
    .. [3] G. E. Hinton (2012), "A practical guide to training restricted Boltzmann machines",
       in Neural Networks: Tricks of the Trade, LNCS 7700, 599-619,
       doi:10.1007/978-3-642-35289-8_32.
    .. [4] R. Salakhutdinov and I. Murray (2008), "On the quantitative analysis of deep belief
       networks", Proc. 25th ICML, 872-879, doi:10.1145/1390156.1390266.

    Examples
    --------
    >>> import numpy as np
    >>> data = np.tile([[1, 1, 0, 0], [0, 0, 1, 1]], (50, 1))
    >>> rbm = BernoulliRBM(4, 2, lr=0.1, epochs=50, batch_size=10, seed=0).fit(data)
    >>> ll = rbm.log_likelihood(data).mean()
    >>> bool(ll > -4 * np.log(2))        # better than the uniform distribution
    True
    """

    def __init__(
        self, n_visible: int, n_hidden: int, *, k: int = 1, persistent: bool = False,
        n_chains: int | None = None, lr: float = 0.05, momentum: float = 0.5,
        weight_decay: float = 0.0, batch_size: int = 10, epochs: int = 20,
        seed: int | None = None, device: str | torch.device | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        for name, val in (("n_visible", n_visible), ("n_hidden", n_hidden), ("k", k),
                          ("batch_size", batch_size)):
            if isinstance(val, bool) or not isinstance(val, (int, np.integer)) or val < 1:
                raise ValueError(f"{name} must be a positive integer, got {val!r}")
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
            raise ValueError(f"epochs must be a non-negative integer, got {epochs!r}")
        if n_chains is not None and (not isinstance(n_chains, (int, np.integer)) or n_chains < 1):
            raise ValueError(f"n_chains must be a positive integer or None, got {n_chains!r}")
        if not (lr > 0 and math.isfinite(lr)):
            raise ValueError(f"lr must be a positive number, got {lr!r}")
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
        if not weight_decay >= 0:
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay!r}")
        self.n_visible, self.n_hidden = int(n_visible), int(n_hidden)
        self.k, self.persistent = int(k), bool(persistent)
        self.n_chains = int(n_chains) if n_chains is not None else int(batch_size)
        self.lr, self.momentum, self.weight_decay = float(lr), float(momentum), float(weight_decay)
        self.batch_size, self.epochs = int(batch_size), int(epochs)
        self.device = resolve_device(device)
        self.dtype = dtype
        if seed is None:
            entropy = np.random.SeedSequence().entropy
            assert isinstance(entropy, int)  # drawn from the OS: one int
            seed = entropy % (2**63)
        self.seed = int(seed)
        self._gen = torch.Generator(device=self.device)
        self._gen.manual_seed(self.seed)
        self._init_parameters(None)

    # ------------------------------------------------------------------ parameters

    def _zeros(self, *shape: int) -> torch.Tensor:
        return torch.zeros(shape, device=self.device, dtype=self.dtype)

    def _init_parameters(self, data: torch.Tensor | None) -> None:
        """W ~ N(0, 0.01²); visible biases log(p/(1 − p)) of the data's base rates (Hinton 2012,
        section 8), else 0; hidden biases 0; momentum buffers and chains cleared."""
        self.W = 0.01 * torch.randn(self.n_visible, self.n_hidden, generator=self._gen,
                                    device=self.device, dtype=self.dtype)
        self.b = self._zeros(self.n_visible)
        if data is not None:
            p = data.mean(dim=0).clamp(1e-3, 1 - 1e-3)
            self.b = torch.log(p / (1 - p)).to(self.dtype)
        self.c = self._zeros(self.n_hidden)
        self.vel_W = torch.zeros_like(self.W)
        self.vel_b = torch.zeros_like(self.b)
        self.vel_c = torch.zeros_like(self.c)
        self.chains: torch.Tensor | None = None
        self.n_updates = 0
        self._base_rate: torch.Tensor | None = None if data is None else data.mean(dim=0)
        self._logz_cache: dict[str, tuple[tuple[int, ...], LogPartition]] = {}

    # ------------------------------------------------------------------ conditionals

    def _rand(self, shape: tuple[int, ...]) -> torch.Tensor:
        return torch.rand(shape, generator=self._gen, device=self.device, dtype=self.dtype)

    def _bernoulli(self, p: torch.Tensor) -> torch.Tensor:
        return (self._rand(tuple(p.shape)) < p).to(self.dtype)

    def _ph(self, v: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(torch.addmm(self.c, v, self.W))

    def _pv(self, h: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(torch.addmm(self.b, h, self.W.T))

    def _gibbs(self, v: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """k sweeps v → h → v from binary ``v``; returns the final binary v and P(h = 1 | v)."""
        ph = self._ph(v)
        for _ in range(k):
            h = self._bernoulli(ph)
            v = self._bernoulli(self._pv(h))
            ph = self._ph(v)
        return v, ph

    def _as_input(self, v: Any, name: str = "v") -> torch.Tensor:
        return as_binary(v, self.n_visible, name=name, device=self.device, dtype=self.dtype)

    # ------------------------------------------------------------------ learning

    def _grad(
        self, v0: torch.Tensor, start: torch.Tensor, k: int
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """CD estimate of the mean log-likelihood gradient: exact positive phase on ``v0``,
        negative phase from k Gibbs sweeps started at ``start``. Returns (dW, db, dc, v_k)."""
        ph0 = self._ph(v0)
        vk, phk = self._gibbs(start, k)
        n0, nk = v0.shape[0], vk.shape[0]
        dW = v0.T @ ph0 / n0 - vk.T @ phk / nk
        db = v0.mean(dim=0) - vk.mean(dim=0)
        dc = ph0.mean(dim=0) - phk.mean(dim=0)
        return dW, db, dc, vk

    def cd_gradient(self, v: Any, k: int | None = None, init: Any = None) -> dict[str, np.ndarray]:
        """The CD-k estimate of the gradient of the mean log-likelihood of ``v``.

        Parameters
        ----------
        v : array_like, shape (N, n_visible)
            Binary data (positive phase, exact).
        k : int, optional
            Gibbs sweeps of the negative phase (default the model's ``k``). With large k the
            negative phase approaches the model expectation and the estimate the true gradient.
        init : array_like, shape (M, n_visible), optional
            Starting states of the negative chains (default ``v``: contrastive divergence).

        Returns
        -------
        dict
            ``{"W": (n_visible, n_hidden), "b": (n_visible,), "c": (n_hidden,)}`` float64
            arrays of ∂ mean log P(v) / ∂θ, without weight decay.
        """
        v0 = self._as_input(v)
        start = v0 if init is None else self._as_input(init, "init")
        dW, db, dc, _ = self._grad(v0, start, self.k if k is None else int(k))
        return {"W": dW.double().cpu().numpy(), "b": db.double().cpu().numpy(),
                "c": dc.double().cpu().numpy()}

    def _update(self, v0: torch.Tensor) -> None:
        if self.persistent:
            if self.chains is None:
                self.chains = self._bernoulli(
                    torch.sigmoid(self.b).expand(self.n_chains, self.n_visible))
            start = self.chains
        else:
            start = v0
        dW, db, dc, vk = self._grad(v0, start, self.k)
        if self.persistent:
            self.chains = vk
        if self.weight_decay:
            dW.sub_(self.W, alpha=self.weight_decay)
        mom, lr = self.momentum, self.lr
        self.vel_W.mul_(mom).add_(dW, alpha=lr)
        self.vel_b.mul_(mom).add_(db, alpha=lr)
        self.vel_c.mul_(mom).add_(dc, alpha=lr)
        self.W.add_(self.vel_W)
        self.b.add_(self.vel_b)
        self.c.add_(self.vel_c)
        self.n_updates += 1

    def _epoch(self, data: torch.Tensor) -> None:
        n = data.shape[0]
        perm = torch.randperm(n, generator=self._gen, device=self.device)
        shuffled = data[perm]
        for start in range(0, n, self.batch_size):
            self._update(shuffled[start:start + self.batch_size])

    @torch.no_grad()
    def fit(self, v: Any, epochs: int | None = None) -> BernoulliRBM:
        """Initialise the parameters from ``v`` and train for ``epochs`` passes.

        Parameters
        ----------
        v : array_like or torch.Tensor, shape (N, n_visible)
            Binary training data.
        epochs : int, optional
            Passes over the data (default the constructor's ``epochs``).

        Returns
        -------
        BernoulliRBM
            ``self``.

        Raises
        ------
        ValueError
            If ``v`` is not a 2-D array of 0/1 with ``n_visible`` columns.
        """
        data = self._as_input(v)
        self._init_parameters(data)
        for _ in range(self.epochs if epochs is None else int(epochs)):
            self._epoch(data)
        return self

    @torch.no_grad()
    def partial_fit(self, v: Any, epochs: int = 1) -> BernoulliRBM:
        """Continue training from the current parameters: ``epochs`` passes over ``v``.

        Unlike :meth:`fit`, the parameters, momentum and persistent chains are kept.

        Parameters
        ----------
        v : array_like or torch.Tensor, shape (N, n_visible)
            Binary training data.
        epochs : int
            Passes over the data.

        Returns
        -------
        BernoulliRBM
            ``self``.
        """
        data = self._as_input(v)
        for _ in range(int(epochs)):
            self._epoch(data)
        return self

    # ------------------------------------------------------------------ inference

    @torch.no_grad()
    def transform(self, v: Any) -> torch.Tensor:
        """P(h = 1 | v) for each row of ``v``.

        Parameters
        ----------
        v : array_like, shape (N, n_visible)

        Returns
        -------
        torch.Tensor, shape (N, n_hidden)
        """
        return self._ph(self._as_input(v))

    @torch.no_grad()
    def free_energy(self, v: Any) -> torch.Tensor:
        """F(v) = −bᵀv − Σ_j softplus(c_j + vᵀW_{:,j}), in float64.

        Parameters
        ----------
        v : array_like, shape (N, n_visible)

        Returns
        -------
        torch.Tensor, float64, shape (N,)
        """
        x = self._as_input(v).double()
        return -(x @ self.b.double()) - F.softplus(
            torch.addmm(self.c.double(), x, self.W.double())).sum(dim=1)

    @torch.no_grad()
    def gibbs(self, v: Any, k: int = 1) -> torch.Tensor:
        """Run k Gibbs sweeps (v → h → v) from each row of ``v``.

        Parameters
        ----------
        v : array_like, shape (N, n_visible)
            Binary starting states.
        k : int
            Sweeps.

        Returns
        -------
        torch.Tensor, shape (N, n_visible)
            Binary states after k sweeps (the model's dtype, on its device).
        """
        return self._gibbs(self._as_input(v), int(k))[0]

    @torch.no_grad()
    def sample(self, n: int, k: int = 1000, init: Any = None) -> torch.Tensor:
        """Draw ``n`` visible vectors by k Gibbs sweeps.

        Parameters
        ----------
        n : int
            Number of samples.
        k : int
            Sweeps per chain.
        init : array_like, shape (n, n_visible), optional
            Starting states; default independent draws from σ(b) (the visible biases alone).

        Returns
        -------
        torch.Tensor, shape (n, n_visible)
        """
        if init is None:
            start = self._bernoulli(torch.sigmoid(self.b).expand(int(n), self.n_visible))
        else:
            start = self._as_input(init, "init")
            if start.shape[0] != n:
                raise ValueError(f"init must have n = {n} rows, got shape {tuple(start.shape)}")
        return self._gibbs(start, int(k))[0]

    @torch.no_grad()
    def log_partition(self, method: str = "exact", **ais_options: Any) -> LogPartition:
        """log Z, exact or estimated by AIS.

        Parameters
        ----------
        method : {"exact", "ais"}
            ``"exact"`` enumerates the smaller layer (float64, chunked; up to 2^25 states);
            ``"ais"`` runs :func:`asktell_rbm.ais.ais_log_partition` with a base-rate base model
            (the training data's visible marginals) and returns an estimate with a ±3σ band.
        **ais_options
            ``n_runs``, ``betas``, ``dtype`` for AIS.

        Returns
        -------
        LogPartition
            Cached until the parameters change (replaced or modified in place).
        """
        if method not in ("exact", "ais"):
            raise ValueError(f"method must be 'exact' or 'ais', got {method!r}")
        key = method + repr(sorted(ais_options.items()))
        version = self._parameter_version()
        hit = self._logz_cache.get(key)
        if hit is not None and hit[0] == version:
            return hit[1]
        if method == "exact":
            z = exact_log_partition(self.W, self.b, self.c, max_units=MAX_EXACT_UNITS)
            res = LogPartition(z, z, z, "exact", False)
        else:
            base = None
            if self._base_rate is not None:
                p = self._base_rate.double().clamp(1e-3, 1 - 1e-3)
                base = torch.log(p / (1 - p))
            res = ais_log_partition(self.W, self.b, self.c, base_bias=base,
                                    generator=self._gen, **ais_options)
            log.info("AIS log Z = %.4f [%.4f, %.4f] (estimate)", res.log_z, res.lower, res.upper)
        self._logz_cache[key] = (version, res)
        return res

    def _parameter_version(self) -> tuple[int, ...]:
        """Changes whenever W, b or c is replaced or modified in place (cache key of log Z)."""
        return tuple(x for t in (self.W, self.b, self.c) for x in (id(t), t._version))

    @torch.no_grad()
    def log_likelihood(self, v: Any, method: str = "exact", **ais_options: Any) -> np.ndarray:
        """log P(v) = −F(v) − log Z for each row of ``v``.

        Parameters
        ----------
        v : array_like, shape (N, n_visible)
        method : {"exact", "ais"}
            How log Z is obtained (see :meth:`log_partition`); with ``"ais"`` the values are
            estimates.
        **ais_options
            Passed to :meth:`log_partition`.

        Returns
        -------
        numpy.ndarray, float64, shape (N,)
            Nats per vector; ``.mean()`` is the average log-likelihood.
        """
        logz = self.log_partition(method, **ais_options).log_z
        return (-self.free_energy(v) - logz).cpu().numpy()

    # ------------------------------------------------------------------ checkpoints

    def state_dict(self) -> dict[str, Any]:
        """Parameters, momentum buffers, persistent chains and generator state as numpy arrays.

        Returns
        -------
        dict
            Plain data (see :mod:`asktell.serialization`).
        """
        out: dict[str, Any] = {key: getattr(self, key).cpu().numpy().copy() for key in _STATE_KEYS}
        out["chains"] = None if self.chains is None else self.chains.cpu().numpy().copy()
        out["base_rate"] = (None if self._base_rate is None
                            else self._base_rate.cpu().numpy().copy())
        out["generator"] = generator_state(self._gen)
        out["n_updates"] = self.n_updates
        out["shape"] = [self.n_visible, self.n_hidden]
        return out

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` output (on this model's device).

        Parameters
        ----------
        state : dict
            From a model with the same layer sizes.

        Raises
        ------
        ValueError
            If the layer sizes differ.
        """
        shape = [int(s) for s in state["shape"]]
        if shape != [self.n_visible, self.n_hidden]:
            raise ValueError(
                f"state is of a {shape[0]}x{shape[1]} RBM, this one is "
                f"{self.n_visible}x{self.n_hidden}"
            )

        def t(a: Any) -> torch.Tensor:
            return torch.as_tensor(np.asarray(a), device=self.device).to(self.dtype).clone()

        for key in _STATE_KEYS:
            setattr(self, key, t(state[key]))
        self.chains = None if state["chains"] is None else t(state["chains"])
        self._base_rate = None if state["base_rate"] is None else t(state["base_rate"])
        self._gen = generator_from_state(state["generator"], self.device)
        self.n_updates = int(state["n_updates"])
        self._logz_cache = {}

    def __getstate__(self) -> dict[str, Any]:
        d = self.__dict__.copy()
        d["_gen"] = generator_state(self._gen)
        return d

    def __setstate__(self, d: dict[str, Any]) -> None:
        d = dict(d)
        d["_gen"] = generator_from_state(d["_gen"], d["device"])
        self.__dict__.update(d)

    def __repr__(self) -> str:
        mode = f"PCD-{self.k}, {self.n_chains} chains" if self.persistent else f"CD-{self.k}"
        return (f"BernoulliRBM({self.n_visible}x{self.n_hidden}, {mode}, lr={self.lr}, "
                f"batch_size={self.batch_size}, device={str(self.device)!r})")
