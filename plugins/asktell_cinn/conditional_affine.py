"""A conditional affine layer: a learned, data-dependent location and scale for θ.

``v = (u - t(c)) ⊙ exp(-s(c))`` with ``s, t`` functions of the condition only (an MLP plus a
linear path, zero at initialisation). It is a coupling block whose passive half is empty — the
conditional analogue of ActNorm (Kingma & Dhariwal 2018, arXiv:1807.03039) — and lets the flow
represent a posterior whose location and scale move with the data exactly, leaving the coupling
blocks the shape. An addition to BayesFlow's architecture (Radev et al. 2020,
doi:10.1109/TNNLS.2020.3042395), not part of it.
"""

from __future__ import annotations

import torch
from torch import nn

from .coupling import _Subnet, soft_clamp

__all__ = ["ConditionalAffine"]


class ConditionalAffine(nn.Module):
    """``v = (u - t(c)) ⊙ exp(-s(c))``; ``log|det ∂v/∂u| = -Σ s(c)``.

    Parameters
    ----------
    dim : int
        Dimension of ``u``.
    cond_dim : int
        Dimension of the condition.
    hidden, n_layers : int
        Width and depth of the MLP giving ``(s, t)``.
    clamp : float
        Soft-clamp bound of ``s`` (scales within ``exp(±clamp)``).

    Examples
    --------
    >>> layer = ConditionalAffine(3, 2)
    >>> u, c = torch.randn(4, 3), torch.randn(4, 2)
    >>> v, ld = layer(u, c)
    >>> bool(torch.equal(v, u)), float(ld.detach().abs().max())
    (True, 0.0)
    """

    def __init__(self, dim: int, cond_dim: int, hidden: int = 64, n_layers: int = 2,
                 clamp: float = 5.0) -> None:
        super().__init__()
        self.clamp = float(clamp)
        self.net = _Subnet(cond_dim, 2 * dim, hidden, n_layers)

    def _st(self, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s, t = self.net(c).chunk(2, dim=-1)
        return soft_clamp(s, self.clamp), t

    def forward(self, u: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``((u - t) ⊙ exp(-s), -Σ s)``."""
        s, t = self._st(c)
        return (u - t) * torch.exp(-s), -s.sum(-1)

    def inverse(self, v: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(v ⊙ exp(s) + t, Σ s)``."""
        s, t = self._st(c)
        return v * torch.exp(s) + t, s.sum(-1)
