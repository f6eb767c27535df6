"""A small optimiser over strings, to show the protocol is not tied to arrays."""

from __future__ import annotations

from typing import Any

import numpy as np

from asktell import Optimiser

ALPHABET = "CNOcno()=#123"


class StringEvolver(Optimiser):
    """(1 + λ) evolution over strings: each batch holds λ point mutations of the parent."""

    name = "string-evolver"

    def __init__(self, parent: str = "CCO", popsize: int = 6, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._parent = parent
        self._parent_loss = np.inf
        self._popsize = popsize

    def _mutate(self, s: str) -> str:
        rng = self._rng
        op = rng.integers(3)
        i = int(rng.integers(len(s) + 1))
        c = ALPHABET[int(rng.integers(len(ALPHABET)))]
        if op == 0 or len(s) < 2:
            return s[:i] + c + s[i:]
        i = min(i, len(s) - 1)
        if op == 1:
            return s[:i] + s[i + 1 :]
        return s[:i] + c + s[i + 1 :]

    def _ask(self) -> tuple[str, ...]:
        return tuple(self._mutate(self._parent) for _ in range(self._popsize))

    def _tell(self, losses: np.ndarray) -> None:
        i = int(np.argmin(losses))
        if np.isfinite(losses[i]) and losses[i] <= self._parent_loss:
            self._parent, self._parent_loss = self._pending_batch[i], float(losses[i])

    def _get_state(self) -> dict[str, Any]:
        return {"parent": self._parent, "parent_loss": self._parent_loss}

    def _set_state(self, state: dict[str, Any]) -> None:
        self._parent = state["parent"]
        self._parent_loss = float(state["parent_loss"])
