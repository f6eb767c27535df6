"""The conditional invertible network f_φ(θ; c) of BayesFlow (Radev et al. 2020,
doi:10.1109/TNNLS.2020.3042395): coupling blocks alternating with fixed permutations, with
ActNorm layers, and a standard normal latent."""

from __future__ import annotations

import math
from typing import cast

import torch
from torch import nn

from .actnorm import ActNorm
from .conditional_affine import ConditionalAffine
from .coupling import ConditionalAffineCoupling
from .permutation import FixedPermutation

#: What the chain holds (:attr:`InvertibleNetwork.layers`).
_Layer = ConditionalAffine | ActNorm | ConditionalAffineCoupling | FixedPermutation

__all__ = ["InvertibleNetwork"]

_LOG_2PI = math.log(2.0 * math.pi)


class InvertibleNetwork(nn.Module):
    """A chain ``[conditional affine] → [ActNorm → coupling → permutation] × n_blocks`` mapping
    θ to z.

    Parameters
    ----------
    dim : int
        Dimension of θ (at least 2).
    cond_dim : int
        Dimension of the condition ``c = h_ψ(x)``.
    n_blocks : int
        Number of coupling blocks.
    hidden, n_layers : int
        Width and depth of each coupling subnetwork.
    clamp : float
        Soft-clamp bound α (1.9, as in the original code).
    seed : int
        Seed of the fixed permutations.
    conditional_affine : bool
        Start the chain with a :class:`~asktell_cinn.conditional_affine.ConditionalAffine`
        layer (a data-dependent location and scale; an addition to BayesFlow's design).
    subnets : {2, 4}
        Subnetworks per coupling block: two that each output (s, t), or the paper's four
        (s1, t1, s2, t2); see :class:`~asktell_cinn.coupling.ConditionalAffineCoupling`.

    Examples
    --------
    >>> net = InvertibleNetwork(3, 2, n_blocks=2, hidden=16)
    >>> theta, c = torch.randn(5, 3), torch.randn(5, 2)
    >>> z, log_det = net(theta, c)
    >>> bool(torch.allclose(net.inverse(z, c)[0], theta, atol=1e-6))
    True
    """

    def __init__(
        self,
        dim: int,
        cond_dim: int,
        *,
        n_blocks: int = 6,
        hidden: int = 128,
        n_layers: int = 2,
        clamp: float = 1.9,
        seed: int = 0,
        conditional_affine: bool = True,
        subnets: int = 2,
    ) -> None:
        super().__init__()
        if n_blocks < 1:
            raise ValueError(f"n_blocks must be >= 1, got {n_blocks}")
        self.dim, self.cond_dim = int(dim), int(cond_dim)
        layers: list[_Layer] = []
        if conditional_affine and cond_dim > 0:
            layers.append(ConditionalAffine(dim, cond_dim, hidden, n_layers))
        for k in range(n_blocks):
            layers.append(ActNorm(dim))
            layers.append(ConditionalAffineCoupling(dim, cond_dim, hidden, n_layers, clamp,
                                                    subnets=subnets))
            layers.append(FixedPermutation(dim, seed=seed * 1000 + k))
        self.layers = nn.ModuleList(layers)

    def forward(self, theta: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """θ → z; return ``(z, log|det ∂z/∂θ|)``."""
        log_det = theta.new_zeros(theta.shape[:-1])
        h = theta
        for layer in self.layers:
            h, ld = layer(h, c)
            log_det = log_det + ld
        return h, log_det

    def inverse(self, z: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """z → θ; return ``(θ, log|det ∂θ/∂z|)``."""
        log_det = z.new_zeros(z.shape[:-1])
        h = z
        for layer in reversed(self.layers):
            h, ld = cast(_Layer, layer).inverse(h, c)
            log_det = log_det + ld
        return h, log_det

    def log_prob(self, theta: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """``log q(θ | c) = log N(f(θ; c); 0, I) + log|det J|``."""
        z, log_det = self(theta, c)
        return -0.5 * (z * z).sum(-1) - 0.5 * self.dim * _LOG_2PI + log_det

    def nll(self, theta: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """The per-item training loss ``½‖z‖² − log|det J|`` (Radev et al. 2020, eq. 8)."""
        z, log_det = self(theta, c)
        return 0.5 * (z * z).sum(-1) - log_det
