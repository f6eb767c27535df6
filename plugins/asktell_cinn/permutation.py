"""Fixed random permutations between coupling blocks (Radev et al. 2020, Sec. 3.2;
Dinh et al. 2017, "Density estimation using Real NVP", arXiv:1605.08803)."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["FixedPermutation"]


class FixedPermutation(nn.Module):
    """A fixed random permutation of the features; ``log|det J| = 0``.

    Parameters
    ----------
    dim : int
        Number of features.
    seed : int
        Seed of the permutation (drawn once, stored as a buffer).

    Examples
    --------
    >>> p = FixedPermutation(5, seed=0)
    >>> x = torch.randn(3, 5)
    >>> y, _ = p(x)
    >>> bool(torch.equal(p.inverse(y)[0], x))
    True
    """

    perm: torch.Tensor  # buffers, registered in __init__
    inv_perm: torch.Tensor

    def __init__(self, dim: int, seed: int = 0) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(int(seed))
        perm = torch.randperm(dim, generator=g)
        self.register_buffer("perm", perm)
        self.register_buffer("inv_perm", torch.argsort(perm))

    def forward(
        self, x: torch.Tensor, c: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Permute; return ``(x[:, perm], 0)``."""
        return x[..., self.perm], x.new_zeros(x.shape[:-1])

    def inverse(
        self, y: torch.Tensor, c: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Undo the permutation; return ``(y[:, inv_perm], 0)``."""
        return y[..., self.inv_perm], y.new_zeros(y.shape[:-1])
