"""Self-attention over a hidden sequence: the SAGAN block y = γ·o + x with γ starting at 0.

Zhang, Goodfellow, Metaxas & Odena (2019). Self-Attention Generative Adversarial Networks.
ICML, PMLR 97, 7354–7363. arXiv:1805.08318. With f(x) = W_f x, g(x) = W_g x, h(x) = W_h x,
β_{j,i} = softmax_i(f(x_i)ᵀ g(x_j)), o_j = W_v Σ_i β_{j,i} h(x_i) and y_j = γ·o_j + x_j; in a
generator position j attends to positions i ≤ j only (causal), so sampling token by token and
scoring a whole sequence agree. In a discriminator (:class:`SelfAttention`) every position attends
to every other position of the same sequence (its padding excepted): SA-ORGAN's §3.4 places the
block there, self-attention "enabling the discriminator to efficiently model relationships
between widely separated" positions.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["CausalSelfAttention", "SelfAttention"]


class CausalSelfAttention(nn.Module):
    """SAGAN self-attention on sequences, causal, with a learnable scalar gate γ (initially 0).

    Parameters
    ----------
    dim : int
        Width of the hidden sequence x.
    key_dim : int, optional
        Width of f and g (SAGAN: dim / 8).
    value_dim : int, optional
        Width of h (SAGAN: dim / 2); W_v maps it back to ``dim``.
    """

    #: Position j attends to positions i <= j only.
    causal = True

    def __init__(self, dim: int, key_dim: int | None = None, value_dim: int | None = None) -> None:
        super().__init__()
        self.key_dim = key_dim or max(dim // 8, 1)
        self.value_dim = value_dim or max(dim // 2, 1)
        self.f = nn.Linear(dim, self.key_dim, bias=False)
        self.g = nn.Linear(dim, self.key_dim, bias=False)
        self.h = nn.Linear(dim, self.value_dim, bias=False)
        self.v = nn.Linear(self.value_dim, dim, bias=False)
        self.gamma = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor, key_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Whole sequences: x (B, T, dim) → y (B, T, dim).

        ``key_mask`` (B, T), optional: the positions that may be attended to (True); a row with
        none attends to all of its positions.
        """
        t = x.shape[1]
        keys, queries, values = self.f(x), self.g(x), self.h(x)
        scores = queries @ keys.transpose(1, 2)  # [b, j, i] = g(x_j) · f(x_i)
        if self.causal:
            future = torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1)
            scores = scores.masked_fill(future, float("-inf"))
        if key_mask is not None:
            key_mask = key_mask | ~key_mask.any(dim=1, keepdim=True)
            scores = scores.masked_fill(~key_mask[:, None, :], float("-inf"))
        beta = scores.softmax(dim=-1)
        return self.gamma * self.v(beta @ values) + x

    def step(self, x: torch.Tensor, keys: torch.Tensor, values: torch.Tensor,
             length: torch.Tensor) -> torch.Tensor:
        """One position per row, with caches of the earlier positions.

        Parameters
        ----------
        x : tensor (R, dim)
            This position's hidden vector.
        keys, values : tensors (R, L, key_dim), (R, L, value_dim)
            Caches; row r's entries ``[:length[r]]`` are its earlier positions. This position's
            key and value are written at ``length[r]`` (in place).
        length : tensor (R,)
            Entries already in each row's cache; incremented in place.
        """
        rows = torch.arange(x.shape[0], device=x.device)
        keys[rows, length] = self.f(x)
        values[rows, length] = self.h(x)
        length += 1
        scores = (keys @ self.g(x).unsqueeze(-1)).squeeze(-1)  # (R, L)
        pos = torch.arange(keys.shape[1], device=x.device)
        beta = scores.masked_fill(pos[None, :] >= length[:, None], float("-inf")).softmax(-1)
        o = (beta.unsqueeze(-1) * values).sum(dim=1)
        return self.gamma * self.v(o) + x


class SelfAttention(CausalSelfAttention):
    """The SAGAN block without the causal mask, for a discriminator: every position attends to
    every (unmasked) position of its sequence. Same parameters as :class:`CausalSelfAttention`;
    γ starts at 0, so the block is the identity until γ is trained.
    """

    causal = False

    def step(self, *args: object, **kwargs: object) -> torch.Tensor:
        """Not defined: a non-causal block needs the whole sequence (use ``forward``)."""
        raise TypeError("SelfAttention is not causal: it has no step(), call it on whole "
                        "sequences")
