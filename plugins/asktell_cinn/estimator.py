"""The cINN posterior estimator as an ask/tell estimator (BayesFlow's amortised inference).

Radev, S. T., Mertens, U. K., Voss, A., Ardizzone, L. & Köthe, U. (2020). "BayesFlow: Learning
complex stochastic models with invertible neural networks." IEEE TNNLS 33(4), 1452-1466.
doi:10.1109/TNNLS.2020.3042395 (arXiv:2003.06281).

``ask()`` returns parameter vectors θ drawn from the prior (or, with ``truncate=True`` and an
observation ``x_obs``, from the prior truncated to the current posterior's highest-density
region, as in TSNPE: Deistler, Goncalves & Macke 2022, "Truncated proposals for scalable and
hassle-free simulation-based inference", NeurIPS, arXiv:2210.04815); the user simulates one data
set per θ; ``tell(data_sets)`` appends the pairs to a replay buffer and trains the summary
network and the invertible network jointly by maximum likelihood, warm-started from the last
round, with a fixed held-out split, early stopping and the best checkpoint kept.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from asktell.protocol import AsyncAskTell, Estimator
from asktell.torchstate import load_module, module_state, resolve_device

from .data import as_dataset, pad_datasets
from .network import InvertibleNetwork
from .priors import Prior, make_prior
from .simulators import Simulator
from .simulators import simulator as make_simulator
from .summary import check_summary, make_summary
from .training import train_flow

__all__ = ["CINN"]

log = logging.getLogger(__name__)


class _Amortizer(nn.Module):
    """Summary network and invertible network; ``forward`` gives the per-item loss."""

    def __init__(self, summary: nn.Module, flow: InvertibleNetwork) -> None:
        super().__init__()
        self.summary, self.flow = summary, flow

    def forward(self, theta: torch.Tensor, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.flow.nll(theta, self.summary(x, lengths))


class CINN(AsyncAskTell, Estimator):
    """Amortised posterior estimation with a conditional invertible network (BayesFlow).

    Parameters
    ----------
    prior : Prior or dict, optional
        ``{"normal": [mean, sd]}`` or ``{"uniform": [low, high]}``; default the simulator's.
    simulator : str or Simulator, optional
        A simulator (a name in the registry's ``simulator`` family, or an object): gives the
        default prior and the simulator that :meth:`write_report` runs its diagnostics with.
        The estimator never simulates in ``ask`` or ``tell``: the caller does.
    x_obs : array-like, optional
        The observed data set, for truncated proposals and the run report.
    batch_size : int
        θ per ``ask``.
    summary : str
        Summary network, by its name in the registry's ``summary`` family: ``"identity"`` (the
        flattened data), ``"deepset"`` (iid rows, any number of them), ``"lstm"`` or
        ``"conv1d"`` (time steps), or one another plugin registered.
    summary_dim, summary_hidden : int
        Summary size and width (deepset, lstm).
    n_blocks, hidden, n_layers, clamp : int, int, int, float
        Coupling blocks, subnetwork width and depth, soft-clamp α (1.9 as in the original code).
    conditional_affine : bool
        Begin the flow with a data-dependent affine layer
        (:class:`~asktell_cinn.conditional_affine.ConditionalAffine`; not in BayesFlow).
    subnets : {2, 4}
        Subnetworks per coupling block: two, each giving (s, t), or the paper's four
        (s1, t1, s2, t2) (:class:`~asktell_cinn.coupling.ConditionalAffineCoupling`).
    lr, train_batch_size, max_epochs, patience, grad_clip : float, int, int, int, float
        Adam learning rate (cosine decay over ``max_epochs``), minibatch size, epochs per
        ``tell`` at most, early-stopping patience (epochs), gradient-norm bound.
    warm_lr : float, optional
        Learning rate of warm-started rounds (default ``lr / 3``).
    warm_max_epochs : int, optional
        Epochs at most of warm-started rounds (default ``max(5, max_epochs // 5)``); the cosine
        decay runs over these.
    validation_fraction : float
        Share of simulations held out (each simulation's role is drawn once, when told).
    truncate : bool
        Ask from the truncated prior once trained (needs ``x_obs``).
    truncation_quantile : float
        The HPR excludes this posterior mass (1e-4 in Deistler et al. 2022).
    max_simulations : int, optional
        ``stop()`` once this many simulations were told.
    device : str
        ``"cpu"`` or ``"cuda"``: moves networks and training.
    seed : int, optional
        See :class:`asktell.Estimator`.

    Notes
    -----
    An :class:`asktell.Estimator`: ``tell`` takes one data set per asked θ, a numeric array
    (m, features), a real number (one observation of one feature), or ``None``/non-finite for a
    failed simulation (dropped, counted as a failure). The value recorded for each told item
    (:attr:`recorded`, in :attr:`last_told` and what a run store keeps) is
    the prequential loss ``-log q(θ_i | x_i)`` under the network before this round's training:
    lower is better. Each round's training (epochs, best held-out loss, seconds) is kept as
    per-batch extras.

    **Asynchronous use** (:class:`asktell.AsyncAskTell`): ``ask_async(n)`` draws n θ from the
    current proposal (the prior, or the truncated prior); simulations told with
    ``tell_async`` are buffered as they arrive, in any order, and a training round runs once
    ``batch_size`` of them have arrived, on them and every earlier simulation. The prior does
    not change between rounds, so results are never stale without truncation; with it, a θ
    drawn before the last round comes from an earlier, wider truncated prior (still a valid
    proposal for TSNPE, which only needs one that covers the HPR).

    Beyond the 2019 code: identity initialisation of each block, θ standardised by the prior's
    moments and data by the first round's moments, ActNorm layers, gradient clipping, and
    non-finite steps skipped.

    Examples
    --------
    >>> from asktell_cinn.simulators import GaussianMean
    >>> sim = GaussianMean(dim=2, n_obs=5)
    >>> est = CINN(simulator=sim, summary="deepset", batch_size=64, max_epochs=2, hidden=16,
    ...            n_blocks=2, seed=0)
    >>> theta = est.ask()
    >>> est.tell(list(sim.simulate(np.asarray(theta), np.random.default_rng(0))))
    >>> est.last_told.values.shape, est.last_told.n_failed
    ((64,), 0)
    >>> est.sample(sim(np.zeros(2)), 100).shape
    (100, 2)
    """

    name = "cinn"
    recorded = "neg_log_prob"

    def __init__(
        self,
        prior: Prior | dict | None = None,
        *,
        simulator: str | Simulator | None = None,
        x_obs: Any = None,
        batch_size: int = 1000,
        summary: str = "identity",
        summary_dim: int = 16,
        summary_hidden: int = 64,
        n_blocks: int = 6,
        hidden: int = 128,
        n_layers: int = 2,
        clamp: float = 1.9,
        conditional_affine: bool = True,
        subnets: int = 2,
        lr: float = 1e-3,
        warm_lr: float | None = None,
        warm_max_epochs: int | None = None,
        train_batch_size: int = 128,
        max_epochs: int = 300,
        patience: int = 20,
        grad_clip: float = 5.0,
        validation_fraction: float = 0.1,
        truncate: bool = False,
        truncation_quantile: float = 1e-4,
        max_simulations: int | None = None,
        device: str = "cpu",
        seed: int | None = None,
    ) -> None:
        super().__init__(seed=seed)
        if isinstance(simulator, str):
            simulator = make_simulator(simulator)
        if simulator is not None and not isinstance(simulator, Simulator):
            raise TypeError(f"simulator must be a name or an asktell_cinn Simulator, got "
                            f"{type(simulator).__name__}")
        self.simulator = simulator
        if prior is None:
            if simulator is None:
                raise ValueError("give a prior ({'normal': [mean, sd]} or {'uniform': [low, "
                                 "high]}) or a simulator that has one")
            prior = simulator.prior
        self.prior = make_prior(prior)
        if self.prior.dim < 2:
            raise ValueError(
                f"the cINN needs at least 2 parameters, the prior has {self.prior.dim}")
        check_summary(summary)
        for key, val in (("batch_size", batch_size), ("train_batch_size", train_batch_size),
                         ("max_epochs", max_epochs), ("patience", patience),
                         ("n_blocks", n_blocks), ("hidden", hidden)):
            if not isinstance(val, (int, np.integer)) or val < 1:
                raise ValueError(f"{key} must be a positive integer, got {val!r}")
        if not 0.0 <= validation_fraction < 1.0:
            raise ValueError(f"validation_fraction must be in [0, 1), got {validation_fraction}")
        if subnets not in (2, 4):
            raise ValueError(f"subnets must be 2 or 4, got {subnets!r}")
        if truncate and x_obs is None:
            raise ValueError("truncate=True needs x_obs, the observed data set")
        self.summary_kind = summary
        self.options = dict(
            summary_dim=int(summary_dim), summary_hidden=int(summary_hidden),
            n_blocks=int(n_blocks), hidden=int(hidden), n_layers=int(n_layers),
            clamp=float(clamp), conditional_affine=bool(conditional_affine),
            subnets=int(subnets),
        )
        self.batch_size = int(batch_size)
        self.lr = float(lr)
        self.warm_lr = float(lr / 3 if warm_lr is None else warm_lr)
        self.warm_max_epochs = int(max(5, max_epochs // 5) if warm_max_epochs is None
                                   else warm_max_epochs)
        self.train_batch_size, self.max_epochs = int(train_batch_size), int(max_epochs)
        self.patience, self.grad_clip = int(patience), float(grad_clip)
        self.validation_fraction = float(validation_fraction)
        self.truncate, self.truncation_quantile = bool(truncate), float(truncation_quantile)
        self.max_simulations = max_simulations
        self.device = resolve_device(device)
        self.x_obs = None if x_obs is None else as_dataset(np.asarray(x_obs, dtype=float), 0)
        dim = self.prior.dim
        self._theta = np.zeros((0, dim))
        self._x: np.ndarray | None = None  # (N, M, F) float32, zero-padded
        self._lengths = np.zeros(0, dtype=np.int64)
        self._is_val = np.zeros(0, dtype=bool)
        self._theta_mean = self.prior.mean()
        self._theta_std = self.prior.std()
        self._x_mean: np.ndarray | None = None
        self._x_std: np.ndarray | None = None
        self._model: _Amortizer | None = None
        self._arch: dict[str, int] | None = None
        self._history: list[dict[str, Any]] = []
        self._truncation: dict[str, Any] | None = None
        self._sample_rng = np.random.default_rng([self.seed, 1])
        self._round: dict[str, Any] = {}  # the last tell's training round (per-batch extras)

    # ------------------------------------------------------------------ ask / tell

    def _ask(self) -> np.ndarray:
        return self._draw(self.batch_size)

    def _draw(self, n: int) -> np.ndarray:
        if self._truncation is None:
            return self.prior.sample(n, self._rng)
        return self._ask_truncated(n)

    def _ask_truncated(self, n: int) -> np.ndarray:
        """Rejection from the prior restricted to a box around the HPR (Deistler et al. 2022)."""
        tr = self._truncation
        assert tr is not None
        lower, upper, tau = tr["lower"], tr["upper"], tr["threshold"]
        kept: list[np.ndarray] = []
        n_kept, tries = 0, 0
        while n_kept < n and tries < 50:
            cand = self.prior.sample_box(4 * n, lower, upper, self._rng)
            ok = self.log_prob(cand, self.x_obs) >= tau
            kept.append(cand[ok])
            n_kept += int(ok.sum())
            tries += 1
        if n_kept < n:
            log.warning("truncated proposal: only %d of %d θ accepted after %d tries; the rest "
                        "come from the prior restricted to the box", n_kept, n, tries)
            kept.append(self.prior.sample_box(n - n_kept, lower, upper, self._rng))
        return np.concatenate(kept)[:n]

    # ------------------------------------------------------------------ asynchronous

    stale_results = ("used as they are: simulations join the training set when a round's "
                     "worth (batch_size) has arrived; with truncation, a θ drawn before the "
                     "last round comes from an earlier, wider truncated prior")

    def _generation_size(self) -> int:
        return self.batch_size

    def _ask_async(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        theta = self._draw(n)
        return theta, theta

    def _update_async(self, candidates: np.ndarray, records: np.ndarray,
                      told: Any) -> np.ndarray:
        return self._tell_theta(np.asarray(records, dtype=np.float64), list(told))

    def _told_from_state(self, told: Any) -> Any:
        return None if told is None else np.asarray(told)

    def _parse_result(self, index: int, result: Any) -> np.ndarray | None:
        return as_dataset(result, index)

    def _check_batch(self, parsed: list[np.ndarray | None]) -> None:
        ok = [d for d in parsed if d is not None]
        if not ok:
            return
        feats = {d.shape[1] for d in ok}
        if self._x is not None:
            feats.add(self._x.shape[2])
        if len(feats) > 1:
            raise ValueError(f"data sets must all have the same number of features (columns); "
                             f"got {sorted(feats)}")
        if self.summary_kind == "identity":
            rows = {d.shape[0] for d in ok}
            if self._x is not None:
                rows.add(self._x.shape[1])
            if len(rows) > 1:
                raise ValueError(f"the identity summary needs data sets of one size; got "
                                 f"{sorted(rows)} rows: use summary='deepset' or 'lstm'")

    def _tell(self, parsed: list[np.ndarray | None]) -> np.ndarray:
        return self._tell_theta(np.asarray(self._pending_batch, dtype=np.float64), parsed)

    def _tell_theta(self, theta_all: np.ndarray, parsed: list[np.ndarray | None]) -> np.ndarray:
        recorded = np.full(len(parsed), np.nan)
        self._round = {}
        good = [i for i, d in enumerate(parsed) if d is not None]
        if not good:
            log.warning("%s: every simulation of this batch failed; nothing to train on", self.name)
            return recorded
        recorded[good] = -self._log_prob_pairs(theta_all[good], [parsed[i] for i in good])
        self._append(theta_all[good], [parsed[i] for i in good])
        self._fit()
        self._round = self._history[-1]
        if self.truncate and self.x_obs is not None:
            self._update_truncation()
        return recorded

    def _batch_extras(self) -> dict[str, float]:
        h = self._round
        if not h:
            return {}
        return {"simulations": float(h["simulations"]), "epochs": float(h["epochs"]),
                "train_loss": float(h["best_loss"]), "train_seconds": float(h["seconds"])}

    def write_report(self, run_dir: str | Path, result: Any = None,
                     **kwargs: Any) -> dict[str, Path]:
        """Write SBC and recovery plots and the diagnostics into ``run_dir`` (see
        :func:`asktell_cinn.report.write_report`; ``asktell run`` calls it at the end through
        the :class:`asktell.Reporter` hook).

        Returns
        -------
        dict
            Name → path of each file written.
        """
        from .report import write_report

        return write_report(self, run_dir, **kwargs)

    def _stop(self) -> dict[str, Any] | None:
        if self.max_simulations is not None and self._theta.shape[0] >= self.max_simulations:
            return {"max_simulations": self.max_simulations}
        return None

    # ------------------------------------------------------------------ buffer and training

    def _append(self, theta: np.ndarray, data: list[np.ndarray]) -> None:
        rows = max(d.shape[0] for d in data)
        if self._x is not None:
            rows = max(rows, self._x.shape[1])
        x, lengths = pad_datasets(data, rows)
        if self._x is None:
            self._x = x
        else:
            if self._x.shape[1] < rows:
                grown = np.zeros((self._x.shape[0], rows, self._x.shape[2]), dtype=np.float32)
                grown[:, : self._x.shape[1]] = self._x
                self._x = grown
            self._x = np.concatenate((self._x, x))
        self._theta = np.concatenate((self._theta, theta))
        self._lengths = np.concatenate((self._lengths, lengths))
        val = self._rng.random(len(data)) < self.validation_fraction
        self._is_val = np.concatenate((self._is_val, val))

    def _build(self) -> None:
        assert self._x is not None
        n_rows, n_feat = self._x.shape[1], self._x.shape[2]
        mask = np.arange(n_rows)[None, :] < self._lengths[:, None]
        rows = self._x[mask].astype(np.float64)
        self._x_mean = rows.mean(0)
        sd = rows.std(0)
        self._x_std = np.where(sd > 0, sd, 1.0)
        self._arch = {"n_rows": int(n_rows), "n_features": int(n_feat),
                      "perm_seed": int(self._rng.integers(2**31)),
                      "init_seed": int(self._rng.integers(2**63))}
        self._model = self._make_model()

    def _make_model(self) -> _Amortizer:
        assert self._arch is not None
        o, a = self.options, self._arch
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(a["init_seed"])
            summary = make_summary(self.summary_kind, a["n_rows"], a["n_features"],
                                   o["summary_dim"], o["summary_hidden"])
            flow = InvertibleNetwork(self.prior.dim, summary.out_dim, n_blocks=o["n_blocks"],
                                     hidden=o["hidden"], n_layers=o["n_layers"],
                                     clamp=o["clamp"], seed=a["perm_seed"],
                                     conditional_affine=o["conditional_affine"],
                                     subnets=o["subnets"])
        return _Amortizer(summary, flow).to(self.device)

    def _tensors(self, theta: np.ndarray | None, x: np.ndarray, lengths: np.ndarray) -> tuple:
        assert self._x_mean is not None and self._x_std is not None
        dev = self.device
        m = x.shape[1]
        mask = np.arange(m)[None, :] < lengths[:, None]
        xs = ((x - self._x_mean) / self._x_std * mask[..., None]).astype(np.float32)
        tx = torch.from_numpy(xs).to(dev)
        tl = torch.from_numpy(np.asarray(lengths, dtype=np.int64)).to(dev)
        if theta is None:
            return None, tx, tl
        ts = ((theta - self._theta_mean) / self._theta_std).astype(np.float32)
        return torch.from_numpy(ts).to(dev), tx, tl

    def _fit(self) -> None:
        warm = self._model is not None
        if not warm:
            self._build()
        assert self._model is not None and self._x is not None
        val = self._is_val
        if val.all() or not val.any():
            tr_idx = va_idx = np.arange(self._theta.shape[0])
        else:
            tr_idx, va_idx = np.flatnonzero(~val), np.flatnonzero(val)
        train = self._tensors(self._theta[tr_idx], self._x[tr_idx], self._lengths[tr_idx])
        valid = self._tensors(self._theta[va_idx], self._x[va_idx], self._lengths[va_idx])
        gen = torch.Generator(device="cpu")  # all torch randomness on the CPU: device-independent
        gen.manual_seed(int(self._rng.integers(2**63)))
        result = train_flow(
            self._model, train, valid, generator=gen, lr=self.warm_lr if warm else self.lr,
            batch_size=self.train_batch_size,
            max_epochs=self.warm_max_epochs if warm else self.max_epochs,
            patience=self.patience, grad_clip=self.grad_clip,
        )
        entry = result.to_dict()
        entry.update(round=len(self._history) + 1, simulations=int(self._theta.shape[0]),
                     warm_start=warm)
        self._history.append(entry)
        log.info("round %d: %d simulations, %d epochs, held-out loss %.4f (best epoch %d), "
                 "%.1f s", entry["round"], entry["simulations"], result.epochs,
                 result.best_loss, result.best_epoch, result.seconds)

    def _update_truncation(self, n: int = 20000) -> None:
        draws = self.sample(self.x_obs, n, seed=int(self._rng.integers(2**63)))
        lp = self.log_prob(draws, self.x_obs)
        tau = float(np.quantile(lp, self.truncation_quantile))
        span = draws.max(0) - draws.min(0)
        lower, upper = draws.min(0) - 0.1 * span, draws.max(0) + 0.1 * span
        if hasattr(self.prior, "low"):
            lower = np.maximum(lower, self.prior.low)
            upper = np.minimum(upper, self.prior.high)
        self._truncation = {"lower": lower, "upper": upper, "threshold": tau}

    # ------------------------------------------------------------------ inference

    @property
    def trained(self) -> bool:
        """Whether the networks have been trained at least once."""
        return self._model is not None

    @property
    def history(self) -> list[dict[str, Any]]:
        """One dict per training round (epochs, losses, skipped steps, seconds)."""
        return [dict(h) for h in self._history]

    @property
    def n_simulations(self) -> int:
        """Simulations in the replay buffer."""
        return int(self._theta.shape[0])

    def _require_model(self) -> _Amortizer:
        if self._model is None:
            raise RuntimeError(f"{self.name} is not trained yet: tell() it simulations first")
        return self._model

    def _datasets(self, x: Any, batched: bool) -> tuple[np.ndarray, np.ndarray]:
        items = list(x) if batched else [x]
        data = []
        for i, v in enumerate(items):
            d = as_dataset(np.asarray(v, dtype=float), i)
            if d is None:
                raise ValueError(f"data set {i} has non-finite entries")
            data.append(d)
        assert self._x is not None
        if data[0].shape[1] != self._x.shape[2]:
            raise ValueError(f"data sets have {self._x.shape[2]} features, got {data[0].shape[1]}")
        rows = self._x.shape[1] if self.summary_kind == "identity" else None
        return pad_datasets(data, rows)

    def _conditions(self, x: np.ndarray, lengths: np.ndarray) -> torch.Tensor:
        model = self._require_model()
        _, tx, tl = self._tensors(None, x, lengths)
        with torch.no_grad():
            return model.summary(tx, tl)

    def summarise(self, x: Any, *, batched: bool = False) -> np.ndarray:
        """The learned summary h_ψ(x) of one data set (or, ``batched``, of each).

        Returns
        -------
        ndarray, shape (summary_dim,) or (B, summary_dim)
        """
        c = self._conditions(*self._datasets(x, batched)).cpu().numpy()
        return c if batched else c[0]

    def sample(
        self, x_obs: Any, n: int, *, batched: bool = False, seed: int | None = None,
        chunk: int = 262144,
    ) -> np.ndarray:
        """Posterior samples θ = f⁻¹(z; h(x_obs)), z ~ N(0, I).

        Parameters
        ----------
        x_obs : array-like or sequence of arrays
            One data set, or (``batched=True``) a sequence of B data sets.
        n : int
            Draws per data set.
        batched : bool
            Treat the first axis of ``x_obs`` as data sets: all draws go through one batched
            inverse pass (in chunks of ``chunk`` rows).
        seed : int, optional
            Seed of the latent draws; default the estimator's own sampling generator (saved in
            :meth:`state_dict`, separate from the one ``ask`` uses).

        Returns
        -------
        ndarray, shape (n, dim) or (B, n, dim)
        """
        model = self._require_model()
        c = self._conditions(*self._datasets(x_obs, batched))
        b, d = c.shape[0], self.prior.dim
        rng = self._sample_rng if seed is None else np.random.default_rng(seed)
        z = torch.from_numpy(rng.standard_normal((b * int(n), d)).astype(np.float32))
        out = np.empty((b * int(n), d))
        with torch.no_grad():
            for k in range(0, b * int(n), chunk):
                zk = z[k:k + chunk].to(self.device)
                rows = torch.arange(k, k + zk.shape[0], device=self.device) // int(n)
                th, _ = model.flow.inverse(zk, c[rows])
                out[k:k + zk.shape[0]] = th.double().cpu().numpy()
        out = out * self._theta_std + self._theta_mean
        out = out.reshape(b, int(n), d)
        return out if batched else out[0]

    def log_prob(self, theta: Any, x_obs: Any, *, batched: bool = False) -> np.ndarray:
        """``log q(θ | x_obs)`` of each θ.

        Parameters
        ----------
        theta : array-like, shape (n, dim), or (B, n, dim) when ``batched``
        x_obs : one data set, or a sequence of B when ``batched``

        Returns
        -------
        ndarray, shape (n,) or (B, n)
        """
        model = self._require_model()
        c = self._conditions(*self._datasets(x_obs, batched))
        th = np.asarray(theta, dtype=np.float64)
        th = th.reshape(c.shape[0], -1, self.prior.dim)
        n = th.shape[1]
        ts = torch.from_numpy(((th - self._theta_mean) / self._theta_std)
                              .reshape(-1, self.prior.dim).astype(np.float32)).to(self.device)
        rows = torch.arange(ts.shape[0], device=self.device) // n
        with torch.no_grad():
            lp = model.flow.log_prob(ts, c[rows]).double().cpu().numpy()
        lp = lp.reshape(c.shape[0], n) - np.log(self._theta_std).sum()
        return lp if batched else lp[0]

    def _log_prob_pairs(self, theta: np.ndarray, data: list[np.ndarray]) -> np.ndarray:
        """``log q(θ_i | x_i)`` per pair (the prior's density before any training)."""
        if self._model is None:
            return self.prior.log_prob(theta)
        rows = self._x.shape[1] if self.summary_kind == "identity" else None  # type: ignore
        x, lengths = pad_datasets(data, rows)
        _, tx, tl = self._tensors(None, x, lengths)
        ts = torch.from_numpy(((theta - self._theta_mean) / self._theta_std)
                              .astype(np.float32)).to(self.device)
        with torch.no_grad():
            lp = self._model.flow.log_prob(ts, self._model.summary(tx, tl))
        return lp.double().cpu().numpy() - np.log(self._theta_std).sum()

    # ------------------------------------------------------------------ state

    def _get_state(self) -> dict[str, Any]:
        return {
            "theta": self._theta,
            "x": self._x,
            "lengths": self._lengths,
            "is_val": self._is_val,
            "x_mean": self._x_mean,
            "x_std": self._x_std,
            "arch": self._arch,
            "weights": None if self._model is None else module_state(self._model),
            "history": self._history,
            "truncation": self._truncation,
            "sample_rng": self._sample_rng.bit_generator.state,
        }

    def _set_state(self, state: dict[str, Any]) -> None:
        self._theta = np.asarray(state["theta"], dtype=np.float64).reshape(-1, self.prior.dim)
        self._x = None if state["x"] is None else np.asarray(state["x"], dtype=np.float32)
        self._lengths = np.asarray(state["lengths"], dtype=np.int64)
        self._is_val = np.asarray(state["is_val"], dtype=bool)
        self._x_mean = None if state["x_mean"] is None else np.asarray(state["x_mean"])
        self._x_std = None if state["x_std"] is None else np.asarray(state["x_std"])
        self._arch = None if state["arch"] is None else {k: int(v) for k, v in
                                                         state["arch"].items()}
        if state["weights"] is None:
            self._model = None
        else:
            self._model = self._make_model()
            load_module(self._model, state["weights"])
            self._model.eval()
        self._history = [dict(h) for h in state["history"]]
        tr = state["truncation"]
        self._truncation = None if tr is None else {
            "lower": np.asarray(tr["lower"]), "upper": np.asarray(tr["upper"]),
            "threshold": float(tr["threshold"])}
        rng = np.random.default_rng()
        rng.bit_generator.state = state["sample_rng"]
        self._sample_rng = rng
