"""A regex SMILES tokeniser with a vocabulary, batch encoding to padded integer arrays and
decoding back.

The pattern is the one of Schwaller et al. (2019), "Molecular Transformer: A Model for
Uncertainty-Calibrated Chemical Reaction Prediction", ACS Cent. Sci. 5(9), 1572–1583,
doi:10.1021/acscentsci.9b00576: bracket atoms are one token, ``Br`` and ``Cl`` are one token,
``%nn`` ring closures are one token, and bonds, branches, stereo marks and charges outside
brackets are single characters. Any other character becomes a token of its own, so
``"".join(tokenize(s)) == s`` always holds and nothing is silently dropped.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from os import PathLike
from typing import Any

import numpy as np

__all__ = ["SMILES_PATTERN", "SmilesTokenizer", "tokenize"]

#: Schwaller et al.'s pattern, with a final catch-all so every character is kept.
SMILES_PATTERN = (
    r"(\[[^\]]+]|Br?|Cl?|N|O|S|P|F|I|b|c|n|o|s|p|\(|\)|\.|=|#|-|\+|\\|/|:|~|@|\?|>|\*|\$"
    r"|%[0-9]{2}|[0-9]|.)"
)
_REGEX = re.compile(SMILES_PATTERN, re.DOTALL)

PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"
SPECIALS = (PAD, BOS, EOS, UNK)


def tokenize(smiles: str) -> list[str]:
    """Split one SMILES string into tokens.

    Examples
    --------
    >>> tokenize("C[C@@H](Br)c1ccc(Cl)cc1%10")
    ['C', '[C@@H]', '(', 'Br', ')', 'c', '1', 'c', 'c', 'c', '(', 'Cl', ')', 'c', 'c', '1', '%10']
    """
    if not isinstance(smiles, str):
        raise TypeError(f"SMILES must be str, got {type(smiles).__name__}")
    return _REGEX.findall(smiles)


class SmilesTokenizer:
    """Vocabulary of SMILES tokens with batch encode/decode.

    Indices 0–3 are the special tokens ``<pad>``, ``<bos>``, ``<eos>``, ``<unk>``; the data's
    tokens follow in sorted order, so the same data always gives the same vocabulary.

    Parameters
    ----------
    tokens : iterable of str
        The vocabulary's tokens (specials are added if missing).

    Examples
    --------
    >>> tok = SmilesTokenizer.from_smiles(["CCO", "c1ccccc1Br"])
    >>> ids = tok.encode(["CCO", "c1ccccc1Br"])
    >>> ids.shape
    (2, 11)
    >>> tok.decode(ids)
    ['CCO', 'c1ccccc1Br']
    """

    def __init__(self, tokens: Iterable[str]) -> None:
        toks = list(SPECIALS) + sorted(set(tokens) - set(SPECIALS))
        for t in toks:
            if not isinstance(t, str) or not t:
                raise ValueError(f"tokens must be non-empty strings, got {t!r}")
        self.tokens: list[str] = toks
        self.index: dict[str, int] = {t: i for i, t in enumerate(toks)}
        self._table = np.array([*toks, ""], dtype=object)  # "" decodes PAD/BOS/EOS

    # -- construction ---------------------------------------------------------------
    @classmethod
    def from_smiles(cls, smiles: Iterable[str], *, min_count: int = 1) -> SmilesTokenizer:
        """Build the vocabulary of a data set (tokens seen at least ``min_count`` times)."""
        counts: Counter[str] = Counter()
        for i, s in enumerate(smiles):
            if not isinstance(s, str):
                raise TypeError(f"SMILES must be str: item {i} is {type(s).__name__}")
            counts.update(_REGEX.findall(s))
        return cls(t for t, c in counts.items() if c >= min_count)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON (``{"tokens": [...]}``)."""
        return {"tokens": list(self.tokens)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SmilesTokenizer:
        """Inverse of :meth:`to_dict`; the indices are preserved exactly."""
        toks = list(data["tokens"])
        if toks[: len(SPECIALS)] != list(SPECIALS):
            raise ValueError(f"a saved vocabulary starts with {list(SPECIALS)}, got {toks[:4]}")
        tok = cls(toks)
        if tok.tokens != toks:
            raise ValueError("the saved vocabulary is not sorted as SmilesTokenizer writes it")
        return tok

    def save(self, path: str | PathLike[str]) -> None:
        """Write the vocabulary as JSON."""
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.to_dict(), f)

    @classmethod
    def load(cls, path: str | PathLike[str]) -> SmilesTokenizer:
        """Read a vocabulary written by :meth:`save`."""
        with open(path, encoding="utf-8") as f:
            return cls.from_dict(json.load(f))

    # -- properties --------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.tokens)

    pad_id, bos_id, eos_id, unk_id = 0, 1, 2, 3

    # -- encode / decode ---------------------------------------------------------------
    def encode(
        self,
        smiles: Sequence[str],
        *,
        max_length: int | None = None,
        bos: bool = True,
        eos: bool = True,
        return_tensors: str = "np",
        device: Any = None,
    ) -> Any:
        """Encode a batch to a padded integer array.

        Parameters
        ----------
        smiles : sequence of str
            The batch.
        max_length : int, optional
            Width of the result (BOS and EOS included); default: the longest sequence. A longer
            sequence raises ``ValueError`` naming it.
        bos, eos : bool
            Add ``<bos>`` before and ``<eos>`` after each sequence.
        return_tensors : {"np", "pt"}
            A numpy ``int64`` array, or a torch ``long`` tensor (on ``device``).
        device : torch device, optional
            Where the tensor goes (``return_tensors="pt"`` only).

        Returns
        -------
        array of shape (n, max_length)
            Token ids, right-padded with ``<pad>`` (id 0). Unknown tokens become ``<unk>``.
        """
        if isinstance(smiles, str):
            raise TypeError(f"encode takes a batch of SMILES; wrap one string: [{smiles!r}]")
        if return_tensors not in ("np", "pt"):
            raise ValueError(f"return_tensors must be 'np' or 'pt', got {return_tensors!r}")
        index, unk = self.index, self.unk_id
        seqs: list[list[int]] = []
        for i, s in enumerate(smiles):
            if not isinstance(s, str):
                raise TypeError(f"SMILES must be str: item {i} is {type(s).__name__}")
            ids = [index.get(t, unk) for t in _REGEX.findall(s)]
            if bos:
                ids.insert(0, self.bos_id)
            if eos:
                ids.append(self.eos_id)
            seqs.append(ids)
        lengths = np.fromiter(map(len, seqs), dtype=np.int64, count=len(seqs))
        width = int(lengths.max(initial=0)) if max_length is None else int(max_length)
        if max_length is not None and lengths.size and lengths.max() > width:
            i = int(np.argmax(lengths > width))
            raise ValueError(f"item {i} has {lengths[i]} tokens (with BOS/EOS), more than "
                             f"max_length={width}: {smiles[i]!r}")
        out = np.zeros((len(seqs), width), dtype=np.int64)
        mask = np.arange(width) < lengths[:, None]
        if seqs:
            out[mask] = np.fromiter((t for s in seqs for t in s), dtype=np.int64,
                                    count=int(lengths.sum()))
        if return_tensors == "pt":
            import torch

            return torch.as_tensor(out, device=device)
        return out

    def decode(self, ids: Any) -> list[str]:
        """Decode a batch of id sequences to SMILES.

        Each row is read up to its first ``<eos>``; ``<pad>`` and ``<bos>`` are skipped and
        ``<unk>`` is written as ``<unk>``. Accepts numpy arrays, torch tensors and lists.
        """
        if hasattr(ids, "detach"):
            ids = ids.detach().cpu().numpy()
        arr = np.asarray(ids)
        if arr.ndim == 1:
            arr = arr[None, :]
        if arr.ndim != 2 or arr.dtype.kind not in "iu":
            raise ValueError(f"decode takes a 2-D integer array, got {arr.dtype} {arr.shape}")
        if arr.size and (arr.min() < 0 or arr.max() >= len(self.tokens)):
            raise ValueError(f"token ids must be in [0, {len(self.tokens)}), got "
                             f"[{arr.min()}, {arr.max()}]")
        ended = np.cumsum(arr == self.eos_id, axis=1) > 0
        idx = np.where(ended | (arr == self.pad_id) | (arr == self.bos_id), len(self.tokens), arr)
        return ["".join(row) for row in self._table[idx].tolist()]
