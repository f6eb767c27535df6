"""Stopping rules for the run controller."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

__all__ = ["StoppingRules"]


@dataclass
class StoppingRules:
    """When a controlled run stops. Every rule is off unless set; the first met wins.

    Parameters
    ----------
    max_iterations : int, optional
        Batches told.
    max_evaluations : int, optional
        Values told (failures included). Checked after each batch, so a run may exceed it by
        less than one batch.
    max_unchanged_iterations : int, optional
        Stop after this many consecutive batches that did not improve the best value by more than
        ``unchanged_threshold`` (PINTS's rule; PINTS defaults to 200 and 1e-11).
    unchanged_threshold : float
        Absolute improvement that counts, in the objective's units.
    xtol : float, optional
        Stop when the last numeric batch spans less than ``xtol`` along every coordinate.
    target : float, optional
        Stop once the best value reaches ``target`` (``<=`` when minimising, ``>=`` when
        maximising).
    timeout : float, optional
        Wall-clock seconds, counted across resumes.
    optimiser_stop : bool
        Also stop when the optimiser's own :meth:`~asktell.Optimiser.stop` says so.
    """

    max_iterations: int | None = None
    max_evaluations: int | None = None
    max_unchanged_iterations: int | None = None
    unchanged_threshold: float = 1e-11
    xtol: float | None = None
    target: float | None = None
    timeout: float | None = None
    optimiser_stop: bool = True

    def __post_init__(self) -> None:
        for name in ("max_iterations", "max_evaluations", "max_unchanged_iterations"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
                raise ValueError(f"{name} must be a positive integer or None, got {v!r}")
        for name in ("xtol", "timeout", "unchanged_threshold"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))
                                  or not v >= 0):
                raise ValueError(f"{name} must be a non-negative number or None, got {v!r}")
        if self.target is not None and (
            isinstance(self.target, bool) or not isinstance(self.target, (int, float))
            or math.isnan(self.target)
        ):
            raise ValueError(f"target must be a number or None, got {self.target!r}")

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StoppingRules:
        """Build from a mapping, rejecting unknown keys with the list of known ones."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown stopping rule(s) {unknown}; known: {sorted(known)}")
        return cls(**d)


class StopTracker:
    """Applies :class:`StoppingRules` during a run; its state is saved with each batch."""

    def __init__(self, rules: StoppingRules, sign: float) -> None:
        self.rules = rules
        self._sign = sign
        self.ref_loss = math.inf
        self.unchanged = 0

    def update(self, best_loss: float) -> None:
        """Record the best loss after a batch."""
        if best_loss < self.ref_loss - self.rules.unchanged_threshold:
            self.ref_loss = best_loss
            self.unchanged = 0
        else:
            self.unchanged += 1

    def check(
        self,
        iterations: int,
        evaluations: int,
        best_loss: float,
        elapsed: float,
        last_batch: Any,
        optimiser_reason: dict[str, Any] | None,
    ) -> dict[str, Any] | None:
        """The reason to stop now, or None."""
        r = self.rules
        if r.max_iterations is not None and iterations >= r.max_iterations:
            return {"max_iterations": r.max_iterations}
        if r.max_evaluations is not None and evaluations >= r.max_evaluations:
            return {"max_evaluations": r.max_evaluations}
        if r.target is not None and best_loss <= self._sign * r.target:
            return {"target": r.target}
        if r.max_unchanged_iterations is not None and self.unchanged >= r.max_unchanged_iterations:
            return {"max_unchanged_iterations": r.max_unchanged_iterations}
        if (
            r.xtol is not None
            and isinstance(last_batch, np.ndarray)
            and last_batch.dtype.kind in "fiu"
            and len(last_batch) > 1
            and np.all(np.ptp(last_batch, axis=0) < r.xtol)
        ):
            return {"xtol": r.xtol}
        if r.timeout is not None and elapsed >= r.timeout:
            return {"timeout": r.timeout}
        if r.optimiser_stop and optimiser_reason:
            return dict(optimiser_reason)
        return None

    def state(self) -> dict[str, Any]:
        """Plain-data state."""
        return {"ref_loss": self.ref_loss, "unchanged": self.unchanged}

    def load(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state`."""
        self.ref_loss = float(state["ref_loss"])
        self.unchanged = int(state["unchanged"])
