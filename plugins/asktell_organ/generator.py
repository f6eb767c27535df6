"""The SMILES generator: an LSTM over tokens, optionally followed by causal self-attention, with
batched sampling that continues many sequences from arbitrary prefixes at once.

Token conventions (those of :class:`asktell_chem.SmilesTokenizer`): 0 ``<pad>``, 1 ``<bos>``,
2 ``<eos>``. A sequence is a row of token ids *after* ``<bos>``: the tokens, ``<eos>``, then
``<pad>``. Its length counts ``<eos>``; a row with no ``<eos>`` within ``max_length`` tokens is
*truncated* (ORGAN: it counts as invalid).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .attention import CausalSelfAttention

__all__ = ["SmilesGenerator", "State"]

PAD, BOS, EOS, UNK = 0, 1, 2, 3
#: Tokens never sampled: padding, start and unknown.
NEVER_SAMPLED = (PAD, BOS, UNK)


@dataclass
class State:
    """Recurrent state of a batch of rows: LSTM (h, c) and, with attention, the caches."""

    h: torch.Tensor  # (layers, R, H)
    c: torch.Tensor
    keys: torch.Tensor | None = None  # (R, L, key_dim)
    values: torch.Tensor | None = None  # (R, L, value_dim)
    length: torch.Tensor | None = None  # (R,)

    def select(self, idx: torch.Tensor) -> State:
        """The rows ``idx`` (also to repeat rows)."""
        if self.keys is None:
            return State(self.h[:, idx], self.c[:, idx])
        assert self.values is not None and self.length is not None
        return State(self.h[:, idx], self.c[:, idx], self.keys[idx], self.values[idx],
                     self.length[idx].clone())


class SmilesGenerator(nn.Module):
    """LSTM language model over SMILES tokens; with ``attention=True`` a causal SAGAN block
    (γ initialised to 0) sits between the LSTM and the output layer.

    The attention module is created last, so the embedding, LSTM and output weights of a
    generator with attention equal those of one without for the same torch seed, and with
    γ = 0 both compute the same outputs.

    Parameters
    ----------
    vocab_size : int
        Tokens in the vocabulary (specials included).
    embedding_dim, hidden_dim, num_layers : int
        LSTM sizes (ORGAN: 32, 32, 1).
    attention : bool
        Add the self-attention block.
    """

    def __init__(self, vocab_size: int, embedding_dim: int = 32, hidden_dim: int = 32,
                 num_layers: int = 1, attention: bool = False) -> None:
        super().__init__()
        for name, v in (("vocab_size", vocab_size), ("embedding_dim", embedding_dim),
                        ("hidden_dim", hidden_dim), ("num_layers", num_layers)):
            if not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive int, got {v!r}")
        self.vocab_size, self.hidden_dim, self.num_layers = vocab_size, hidden_dim, num_layers
        self.embed = nn.Embedding(vocab_size, embedding_dim, padding_idx=PAD)
        self.lstm = nn.LSTM(embedding_dim, hidden_dim, num_layers, batch_first=True)
        self.out = nn.Linear(hidden_dim, vocab_size)
        self.attention = CausalSelfAttention(hidden_dim) if attention else None

    # -- whole sequences ---------------------------------------------------------------
    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Next-token logits (B, T, V) for inputs (B, T) that start with ``<bos>``."""
        x, _ = self.lstm(self.embed(inputs))
        if self.attention is not None:
            x = self.attention(x)
        return self.out(x)

    def log_probs(self, seqs: torch.Tensor) -> torch.Tensor:
        """log G(y_t | y_<t) of each token of each sequence (B, L); ``<pad>`` positions give
        values too: mask them with the lengths."""
        bos = torch.full((seqs.shape[0], 1), BOS, dtype=seqs.dtype, device=seqs.device)
        logits = self.forward(torch.cat([bos, seqs[:, :-1]], dim=1))
        return logits.log_softmax(-1).gather(-1, seqs.unsqueeze(-1)).squeeze(-1)

    # -- one step at a time -----------------------------------------------------------
    def init_state(self, rows: int, max_length: int) -> State:
        """Zero state for ``rows`` rows (caches sized for ``max_length + 1`` positions)."""
        dev = self.out.weight.device
        h = torch.zeros(self.num_layers, rows, self.hidden_dim, device=dev)
        if self.attention is None:
            return State(h, h.clone())
        a = self.attention
        return State(h, h.clone(),
                     torch.zeros(rows, max_length + 1, a.key_dim, device=dev),
                     torch.zeros(rows, max_length + 1, a.value_dim, device=dev),
                     torch.zeros(rows, dtype=torch.long, device=dev))

    def step(self, tokens: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """Consume one token per row; return the next-token logits (R, V) and the new state."""
        x, (h, c) = self.lstm(self.embed(tokens).unsqueeze(1), (state.h, state.c))
        x = x.squeeze(1)
        new = State(h, c, state.keys, state.values, state.length)
        if self.attention is not None:
            assert state.keys is not None and state.values is not None \
                and state.length is not None  # init_state() made the caches
            x = self.attention.step(x, state.keys, state.values, state.length)
        return self.out(x), new

    @torch.no_grad()
    def prefix_states(self, seqs: torch.Tensor, upto: int) -> tuple[list[State], torch.Tensor]:
        """States and next-token logits after each prefix of the sequences (teacher forcing).

        Returns ``states[t]`` and ``logits[t]`` for t = 0..upto: the state after consuming
        ``<bos>`` and the first t tokens, and the logits of token t + 1.
        """
        rows, width = seqs.shape
        state = self.init_state(rows, width)
        tokens = torch.full((rows,), BOS, dtype=torch.long, device=seqs.device)
        states, logits = [], []
        for t in range(upto + 1):
            lg, state = self.step(tokens, state)
            snap = State(state.h, state.c)  # the LSTM returns new tensors: no copy needed
            states.append(snap)
            logits.append(lg)
            if t < width:
                tokens = seqs[:, t]
        if self.attention is not None:  # the caches hold every position; lengths say how many
            for t, s in enumerate(states):
                s.keys, s.values = state.keys, state.values
                s.length = torch.full((rows,), t + 1, dtype=torch.long, device=seqs.device)
        return states, torch.stack(logits)

    @torch.no_grad()
    def complete(self, out: torch.Tensor, start: torch.Tensor, state: State,
                 logits: torch.Tensor, max_length: int, generator: torch.Generator,
                 ) -> tuple[torch.Tensor, torch.Tensor]:
        """Sample the rest of many rows at once.

        Parameters
        ----------
        out : tensor (R, max_length)
            Prefilled with each row's prefix (and ``<pad>`` after it); completed in place.
            ``<pad>``, ``<bos>`` and ``<unk>`` are never sampled.
        start : tensor (R,)
            Tokens already in each row (the next token goes at ``out[r, start[r]]``).
        state, logits
            Each row's state after its prefix, and its next-token logits (R, V).
        max_length : int
            Tokens per row at most, ``<eos>`` included.
        generator : torch.Generator
            Source of randomness (sampling is reproducible from its state).

        Returns
        -------
        lengths : tensor (R,)
            Tokens per row, ``<eos>`` included (``max_length`` for a truncated row).
        truncated : tensor (R,) of bool
            Rows that reached ``max_length`` without ``<eos>``.
        """
        rows = out.shape[0]
        dev = out.device
        lengths = torch.full((rows,), max_length, dtype=torch.long, device=dev)
        truncated = torch.zeros(rows, dtype=torch.bool, device=dev)
        active = torch.arange(rows, device=dev)
        pos = start.clone()
        done0 = pos >= max_length
        if done0.any():
            truncated[done0] = True
            keep = ~done0
            active, pos, logits, state = active[keep], pos[keep], logits[keep], state.select(
                keep.nonzero().squeeze(1))
        # Few tensor operations per token, and one host-device synchronisation (the
        # compaction), since on a GPU each operation costs a launch.
        never = torch.zeros(logits.shape[-1], device=dev)
        never[list(NEVER_SAMPLED)] = float("-inf")
        while active.numel():
            probs = (logits + never).softmax(-1)
            tok = torch.multinomial(probs, 1, generator=generator).squeeze(1)
            out[active, pos] = tok
            pos = pos + 1
            ended = tok == EOS
            full = ~ended & (pos >= max_length)
            # a row still running keeps the defaults (max_length, not truncated)
            lengths.index_copy_(0, active, torch.where(ended, pos, max_length))
            truncated.index_copy_(0, active, full)
            idx = (~(ended | full)).nonzero().squeeze(1)
            if len(idx) < len(active):
                active, pos, tok, state = active[idx], pos[idx], tok[idx], state.select(idx)
            if not active.numel():
                break
            logits, state = self.step(tok, state)
        return lengths, truncated

    @torch.no_grad()
    def sample(self, n: int, max_length: int, generator: torch.Generator,
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Sample ``n`` sequences: tokens (n, max_length), lengths (n,), truncated (n,)."""
        dev = self.out.weight.device
        state = self.init_state(n, max_length)
        logits, state = self.step(torch.full((n,), BOS, dtype=torch.long, device=dev), state)
        out = torch.full((n, max_length), PAD, dtype=torch.long, device=dev)
        lengths, truncated = self.complete(out, torch.zeros(n, dtype=torch.long, device=dev),
                                           state, logits, max_length, generator)
        return out, lengths, truncated
