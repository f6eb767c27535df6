"""Monte Carlo rollouts, all prefixes of a batch completed in one batched sampling pass.

SeqGAN (Yu, Zhang, Wang & Yu 2017, AAAI, arXiv:1609.05473) and ORGAN estimate the value of a
prefix Y_{1:t} by completing it N times with a rollout policy: Q(Y_{1:t−1}, y_t) is the mean
reward of the N completions of Y_{1:t} (t < T), and the reward of Y itself at t = T.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .generator import PAD, SmilesGenerator, State

__all__ = ["Rollouts", "rollout"]


@dataclass
class Rollouts:
    """Completions of every proper prefix of every sequence.

    Attributes
    ----------
    tokens : tensor (R, max_length)
        Completed sequences; row r completes the prefix of sequence ``seq[r]`` of length
        ``prefix[r]`` (1 ≤ prefix < that sequence's length).
    lengths, truncated : tensors (R,)
        As :meth:`SmilesGenerator.complete` returns them.
    seq, prefix : tensors (R,)
        Which sequence and which prefix length each row completes.
    """

    tokens: torch.Tensor
    lengths: torch.Tensor
    truncated: torch.Tensor
    seq: torch.Tensor
    prefix: torch.Tensor


@torch.no_grad()
def rollout(policy: SmilesGenerator, seqs: torch.Tensor, lengths: torch.Tensor, n: int,
            max_length: int, generator: torch.Generator) -> Rollouts:
    """Complete each prefix Y_{1:t}, t = 1 … length − 1, of each sequence ``n`` times.

    Parameters
    ----------
    policy : SmilesGenerator
        The rollout network.
    seqs : tensor (B, max_length)
        Sequences (tokens after ``<bos>``).
    lengths : tensor (B,)
        Their lengths (``<eos>`` included).
    n : int
        Completions per prefix (ORGAN: 16).
    max_length : int
        Tokens per sequence at most.
    generator : torch.Generator
        Randomness.
    """
    dev = seqs.device
    longest = int(lengths.max())
    states, logits = policy.prefix_states(seqs, upto=max(longest - 1, 0))
    # rows: (sequence, prefix length) pairs with 1 <= t < length, each repeated n times
    t_grid = torch.arange(1, max(longest, 2), device=dev)
    pairs = (t_grid[None, :] < lengths[:, None]).nonzero()  # (P, 2): sequence, t index
    seq_idx = pairs[:, 0].repeat_interleave(n)
    prefix = t_grid[pairs[:, 1]].repeat_interleave(n)
    rows = seq_idx.numel()
    if rows == 0:
        empty = torch.zeros(0, dtype=torch.long, device=dev)
        return Rollouts(torch.zeros(0, max_length, dtype=torch.long, device=dev), empty,
                        empty.bool(), empty, empty)
    # gather each row's state: states[t] holds all b sequences after t tokens
    h = torch.stack([s.h for s in states])  # (T+1, layers, B, H)
    c = torch.stack([s.c for s in states])
    state = State(h[prefix, :, seq_idx].transpose(0, 1).contiguous(),
                  c[prefix, :, seq_idx].transpose(0, 1).contiguous())
    if policy.attention is not None:
        ref = states[0]
        assert ref.keys is not None and ref.values is not None  # the policy has attention
        state.keys, state.values = ref.keys[seq_idx], ref.values[seq_idx]
        state.length = prefix + 1
    row_logits = logits[prefix, seq_idx]
    pos = torch.arange(max_length, device=dev)
    out = torch.where(pos[None, :] < prefix[:, None], seqs[seq_idx], torch.full_like(
        seqs[seq_idx], PAD))
    out_lengths, truncated = policy.complete(out, prefix.clone(), state, row_logits, max_length,
                                             generator)
    return Rollouts(out, out_lengths, truncated, seq_idx, prefix)
