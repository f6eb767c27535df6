"""Activation normalisation: a learned per-feature affine map (Kingma & Dhariwal 2018, "Glow:
Generative flow with invertible 1x1 convolutions", NeurIPS, arXiv:1807.03039)."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["ActNorm"]


class ActNorm(nn.Module):
    """``v = u ⊙ exp(log_scale) + bias``; ``log|det J| = Σ log_scale``.

    Starts as the identity (the parameters are zero) rather than with Glow's data-dependent
    initialisation: asktell_cinn standardises θ before the flow, so the identity is already the
    right start and a fresh network stays an exact identity.

    Parameters
    ----------
    dim : int
        Number of features.

    Examples
    --------
    >>> a = ActNorm(3)
    >>> x = torch.randn(4, 3)
    >>> bool(torch.equal(a(x)[0], x))
    True
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.log_scale = nn.Parameter(torch.zeros(dim))
        self.bias = nn.Parameter(torch.zeros(dim))

    def forward(
        self, u: torch.Tensor, c: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(u ⊙ exp(log_scale) + bias, Σ log_scale)``."""
        v = u * torch.exp(self.log_scale) + self.bias
        return v, self.log_scale.sum().expand(u.shape[:-1])

    def inverse(
        self, v: torch.Tensor, c: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``((v - bias) ⊙ exp(-log_scale), -Σ log_scale)``."""
        u = (v - self.bias) * torch.exp(-self.log_scale)
        return u, (-self.log_scale.sum()).expand(v.shape[:-1])
