"""The CNN discriminator of SeqGAN/ORGAN: a text classifier with several filter widths,
max-over-time pooling, a highway layer and dropout.

Kim (2014). Convolutional Neural Networks for Sentence Classification. EMNLP, 1746–1751.
doi:10.3115/v1/D14-1181. Srivastava, Greff & Schmidhuber (2015). Highway Networks.
arXiv:1505.00387. Sizes of ORGAN's (``organ/discriminator.py`` defaults): embedding 64, filter
widths 1–10, 15, 20 with 100–200 maps, dropout keep probability 0.75, L2 0.2.

With ``attention=True`` a SAGAN block (Zhang, Goodfellow, Metaxas & Odena 2019, Self-Attention
Generative Adversarial Networks, ICML, arXiv:1805.08318), y = γ·o + x with γ = 0 at the start,
sits after the convolutions and before max-over-time pooling: the place the SA-ORGAN paper's §3.4
gives it, self-attention "enabling the discriminator to efficiently model relationships between
widely separated" positions.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from .attention import SelfAttention

__all__ = ["ORGAN_FILTERS", "SMALL_FILTERS", "CNNDiscriminator"]

#: ORGAN's discriminator: (width, maps) pairs.
ORGAN_FILTERS = ((1, 100), (2, 200), (3, 200), (4, 200), (5, 200), (6, 100), (7, 100),
                 (8, 100), (9, 100), (10, 100), (15, 160), (20, 160))
#: asktell's default: a small discriminator, fast enough for every policy-gradient step.
SMALL_FILTERS = ((2, 32), (3, 32), (4, 32), (5, 32), (8, 32))


class CNNDiscriminator(nn.Module):
    """P(real) of token sequences (B, L) padded with ``<pad>`` (id 0).

    Parameters
    ----------
    vocab_size : int
        Tokens in the vocabulary.
    embedding_dim : int
        Token embedding width.
    filters : sequence of (width, maps)
        Convolutions over time.
    dropout : float
        Drop probability before the output layer (ORGAN: 0.25). Dropout masks come from the
        ``generator`` passed to :meth:`forward`, so training is reproducible.
    attention : bool
        Add a SAGAN self-attention block over the positions of the convolutions' feature maps
        (all maps concatenated, each right-padded with zeros to the sequence length), before
        max-over-time pooling. Keys are the positions that hold a token (not ``<pad>``); the
        pooling ignores the padded positions of each map. f, g and h are dim/8 wide (dim: the
        total number of maps, 1,720 for ORGAN's filters), to keep the block's cost near that
        of the convolutions. With γ = 0 (the start) the block is the identity, so P(real) is
        that of the discriminator without it. Created after every other layer, so the other
        weights equal those of a discriminator without attention for the same torch seed.
    """

    def __init__(self, vocab_size: int, embedding_dim: int = 64,
                 filters: Sequence[tuple[int, int]] = SMALL_FILTERS,
                 dropout: float = 0.25, attention: bool = False) -> None:
        super().__init__()
        filters = [(int(w), int(m)) for w, m in filters]
        if not filters or any(w < 1 or m < 1 for w, m in filters):
            raise ValueError(f"filters must be (width >= 1, maps >= 1) pairs, got {filters}")
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.min_length = max(w for w, _ in filters)
        self.embed = nn.Embedding(vocab_size, embedding_dim, padding_idx=0)
        self.convs = nn.ModuleList(nn.Conv1d(embedding_dim, m, w) for w, m in filters)
        total = sum(m for _, m in filters)
        self.highway_t = nn.Linear(total, total)
        self.highway_h = nn.Linear(total, total)
        self.out = nn.Linear(total, 1)
        self.dropout = dropout
        self.widths = [w for w, _ in filters]
        self.maps = [m for _, m in filters]  # each convolution's out_channels
        self.attention = (SelfAttention(total, max(total // 8, 1), max(total // 8, 1))
                          if attention else None)

    def logits(self, tokens: torch.Tensor, generator: torch.Generator | None = None,
               train: bool = False) -> torch.Tensor:
        """Logit of P(real) for each row (B,)."""
        if tokens.shape[1] < self.min_length:  # the widest filter needs this many positions
            tokens = F.pad(tokens, (0, self.min_length - tokens.shape[1]))
        x = self.embed(tokens).transpose(1, 2)  # (B, E, L)
        if self.attention is None:
            z = torch.cat([F.relu(conv(x)).amax(dim=2) for conv in self.convs], dim=1)
        else:
            z = self._attend(tokens, x)
        t = torch.sigmoid(self.highway_t(z))
        z = t * F.relu(self.highway_h(z)) + (1 - t) * z
        if train and self.dropout > 0:
            keep = torch.rand(z.shape, generator=generator, device=z.device) >= self.dropout
            z = z * keep / (1 - self.dropout)
        return self.out(z).squeeze(1)

    def _attend(self, tokens: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Convolutions, the self-attention block over positions, max-over-time pooling."""
        assert self.attention is not None
        length = tokens.shape[1]
        maps = torch.cat([F.pad(F.relu(conv(x)), (0, w - 1))
                          for conv, w in zip(self.convs, self.widths)], dim=1)  # (B, C, L)
        y = self.attention(maps.transpose(1, 2), key_mask=tokens != 0)  # (B, L, C)
        # position t of a map of width w exists only for t <= L - w
        pos = torch.arange(length, device=x.device)
        last = torch.cat([torch.full((m,), length - w, device=x.device)
                          for m, w in zip(self.maps, self.widths)])
        y = y.masked_fill(pos[None, :, None] > last[None, None, :], float("-inf"))
        return y.amax(dim=1)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """P(real) for each row (B,), in evaluation mode (no dropout)."""
        return torch.sigmoid(self.logits(tokens))
