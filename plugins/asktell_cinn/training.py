"""Maximum-likelihood training of the cINN and its summary network on simulated pairs
(Radev et al. 2020, eq. 8, doi:10.1109/TNNLS.2020.3042395), with the safeguards the 2019 code
lacks: held-out early stopping that keeps the best checkpoint, gradient-norm clipping, and
skipping any step whose loss or gradient is not finite (bayesflow issue #23)."""

from __future__ import annotations

import copy
import logging
import math
import time
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

__all__ = ["TrainResult", "train_flow"]

log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    """What one training call did.

    Attributes
    ----------
    epochs : int
        Epochs run.
    best_epoch : int
        Epoch of the kept checkpoint (0: the incoming weights were never beaten).
    best_loss : float
        Its held-out loss (mean ``½‖z‖² − log|det J|``).
    initial_loss : float
        Held-out loss of the incoming weights.
    skipped_steps : int
        Steps skipped for a non-finite loss or gradient.
    seconds : float
        Wall time.
    """

    epochs: int
    best_epoch: int
    best_loss: float
    initial_loss: float
    skipped_steps: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        """As a plain dict."""
        return asdict(self)


def _mean_loss(model: nn.Module, theta: torch.Tensor, x: torch.Tensor, lengths: torch.Tensor,
               chunk: int = 4096) -> float:
    total = 0.0
    with torch.no_grad():
        for k in range(0, theta.shape[0], chunk):
            total += float(model(theta[k:k + chunk], x[k:k + chunk], lengths[k:k + chunk]).sum())
    return total / max(1, theta.shape[0])


def train_flow(
    model: nn.Module,
    train: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    val: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None,
    *,
    generator: torch.Generator,
    lr: float = 1e-3,
    batch_size: int = 128,
    max_epochs: int = 300,
    patience: int = 20,
    grad_clip: float = 5.0,
    min_delta: float = 1e-4,
) -> TrainResult:
    """Train ``model`` (a module returning per-item losses from ``(theta, x, lengths)``).

    Adam with a cosine learning-rate decay over ``max_epochs``; after each epoch the held-out
    loss is measured and the best weights (the incoming ones included) are kept; training stops
    after ``patience`` epochs without an improvement of ``min_delta``. Steps with a non-finite
    loss or gradient norm are skipped and counted.

    Parameters
    ----------
    model : nn.Module
        ``model(theta, x, lengths) -> per-item loss`` (n,).
    train, val : tuple of Tensor
        ``(theta, x, lengths)`` on the model's device; ``val`` None uses ``train``.
    generator : torch.Generator
        CPU generator for shuffling (the only randomness).
    lr, batch_size, max_epochs, patience, grad_clip, min_delta
        Optimisation settings.

    Returns
    -------
    TrainResult
    """
    with torch.enable_grad():  # callers (or other libraries) may have switched grad off
        return _train(model, train, val, generator, lr, batch_size, max_epochs, patience,
                      grad_clip, min_delta)


def _train(model: nn.Module, train: tuple, val: tuple | None, generator: torch.Generator,
           lr: float, batch_size: int, max_epochs: int, patience: int, grad_clip: float,
           min_delta: float) -> TrainResult:
    t0 = time.perf_counter()
    if val is None or val[0].shape[0] == 0:
        val = train
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, max_epochs))
    model.eval()
    best = _mean_loss(model, *val)
    initial = best
    best_state = copy.deepcopy(model.state_dict())
    best_epoch, wait, skipped, epoch = 0, 0, 0, 0
    n = train[0].shape[0]
    for epoch in range(1, max_epochs + 1):
        model.train()
        perm = torch.randperm(n, generator=generator).to(train[0].device)
        for k in range(0, n, batch_size):
            idx = perm[k:k + batch_size]
            loss = model(train[0][idx], train[1][idx], train[2][idx]).mean()
            if not torch.isfinite(loss):
                skipped += 1
                continue
            opt.zero_grad(set_to_none=True)
            loss.backward()
            norm = nn.utils.clip_grad_norm_(params, grad_clip)
            if not torch.isfinite(norm):
                opt.zero_grad(set_to_none=True)
                skipped += 1
                continue
            opt.step()
        sched.step()
        model.eval()
        v = _mean_loss(model, *val)
        if math.isfinite(v) and v < best - min_delta:
            best, best_epoch, wait = v, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            wait += 1
            if wait >= patience:
                break
    model.load_state_dict(best_state)
    model.eval()
    if skipped:
        log.warning("skipped %d training steps with a non-finite loss or gradient", skipped)
    return TrainResult(epoch, best_epoch, float(best), float(initial), skipped,
                       time.perf_counter() - t0)
