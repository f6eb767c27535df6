"""The ask/tell protocol, written once.

Every method in asktell (numeric optimisers, molecule generators, posterior estimators, RBM-EDA)
is an :class:`Optimiser`: ``ask()`` returns a batch of candidates and ``tell(values)`` takes one
value per candidate, in order. The base class owns everything the methods share, so that a method
only writes ``_ask`` and ``_tell``:

* misuse checks (``tell`` before ``ask``, twice for one ``ask``, wrong length or type), made
  before anything changes, so a rejected call leaves the optimiser exactly as it was;
* failed evaluations: ``NaN``, ``±inf`` or ``None`` rank worst (``+inf`` loss), are counted, and
  never reach the method's state as NaN;
* the direction (``"minimise"`` or ``"maximise"``): methods always see *losses*, lower is better;
* the best candidate and value seen, in the user's direction;
* the random generator (one ``numpy.random.Generator`` per optimiser, from ``seed``) and
  checkpoints as plain data (:meth:`state_dict` / :meth:`load_state_dict`).

The design follows PINTS's ask-and-tell interface (Clerx et al. 2019, "Probabilistic Inference on
Noisy Time Series (PINTS)", J. Open Res. Softw. 7(1), 23, doi:10.5334/jors.252).
"""

from __future__ import annotations

import abc
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["MAXIMISE", "MINIMISE", "Optimiser", "ProtocolError"]

MINIMISE = "minimise"
MAXIMISE = "maximise"
_DIRECTIONS = {"minimise": MINIMISE, "minimize": MINIMISE, "min": MINIMISE,
               "maximise": MAXIMISE, "maximize": MAXIMISE, "max": MAXIMISE}
STATE_FORMAT = 1


class ProtocolError(ValueError):
    """An ask/tell call out of order (``tell`` before ``ask``, ``ask`` twice, ...)."""


def _describe(values: Any) -> str:
    if isinstance(values, np.ndarray):
        return f"an array of dtype {values.dtype} and shape {values.shape}"
    return f"a {type(values).__name__}"


class Optimiser(abc.ABC):
    """Base class of every ask/tell method.

    Parameters
    ----------
    seed : int or None
        Seed of the optimiser's own ``numpy.random.Generator``. ``None`` draws a fresh seed from
        the operating system; it is then available as :attr:`seed`, so any run can be repeated.
    direction : {"minimise", "maximise"}
        Whether lower or higher values are better. Fixed at construction.

    Notes
    -----
    Subclasses implement:

    ``_ask() -> batch``
        The next batch (a read-only numpy array of shape (n, ...) or a tuple of objects).
    ``_tell(losses) -> None``
        Update from ``losses``, a float64 array with one entry per candidate of the last batch,
        lower is better, ``+inf`` for failed evaluations (never NaN).
    ``_get_state() -> dict`` / ``_set_state(state) -> None``
        The method's own state as plain data (numbers, strings, lists, dicts, numpy arrays).
    ``_stop() -> dict | None`` (optional)
        The method's own stopping criteria.

    All randomness must come from ``self._rng``.
    """

    #: Short registry name, set by subclasses (for messages and stored runs).
    name: str = "optimiser"

    def __init__(self, *, seed: int | None = None, direction: str = MINIMISE) -> None:
        key = direction.lower() if isinstance(direction, str) else direction
        if key not in _DIRECTIONS:
            raise ValueError(f"direction must be 'minimise' or 'maximise', got {direction!r}")
        self._direction = _DIRECTIONS[key]
        self._sign = 1.0 if self._direction == MINIMISE else -1.0
        if seed is None:
            seed = int(np.random.SeedSequence().entropy % (2**63))
        elif isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
            raise TypeError(f"seed must be an int or None, got {type(seed).__name__}")
        elif seed < 0:
            raise ValueError(f"seed must be non-negative, got {seed}")
        self._seed = int(seed)
        self._rng = np.random.default_rng(self._seed)
        self._pending: Any = None  # the batch awaiting tell()
        self._n_pending = 0
        self._iterations = 0
        self._evaluations = 0
        self._failures = 0
        self._best_loss = np.inf
        self._best_candidate: Any = None

    # ------------------------------------------------------------------ the protocol

    def ask(self) -> Any:
        """Return the next batch of candidates to evaluate.

        Returns
        -------
        batch
            A read-only numpy array whose first axis runs over candidates, or a tuple of
            candidates (strings, for generators). Evaluate every candidate and pass the values,
            in order, to :meth:`tell`.

        Raises
        ------
        ProtocolError
            If the previous batch has not been told yet.
        """
        if self._pending is not None:
            raise ProtocolError(
                f"ask() called again before tell(): {self.name} is waiting for "
                f"{self._n_pending} values for the batch it asked last"
            )
        batch = self._ask()
        if isinstance(batch, np.ndarray):
            batch.setflags(write=False)
        elif isinstance(batch, list):
            batch = tuple(batch)
        n = len(batch)
        if n == 0:
            raise RuntimeError(f"{self.name} asked an empty batch (a bug in the method)")
        self._pending = batch
        self._n_pending = n
        return batch

    def tell(self, values: Sequence[float | None] | np.ndarray) -> None:
        """Report the values of the candidates returned by the last :meth:`ask`.

        Parameters
        ----------
        values : sequence of float or None, length n
            One value per candidate, in the order asked. ``NaN``, ``inf``, ``-inf`` or ``None``
            marks a failed evaluation: it ranks worst and is counted in :attr:`failures`.

        Raises
        ------
        ProtocolError
            If :meth:`ask` was not called since the last ``tell``.
        ValueError
            If the number of values differs from the number of candidates asked.
        TypeError
            If a value is not a real number or None (strings, booleans, arrays, ...).

        Notes
        -----
        A rejected call changes nothing: the optimiser can be told again, correctly.
        """
        if self._pending is None:
            raise ProtocolError(
                f"tell() called before ask(): {self.name} has no batch waiting for values"
            )
        losses, n_failed = self._check_values(values)
        self._tell(losses)
        batch = self._pending
        self._pending = None
        self._iterations += 1
        self._evaluations += losses.size
        self._failures += n_failed
        i = int(losses.argmin())
        if losses[i] < self._best_loss:
            self._best_loss = float(losses[i])
            best = batch[i]
            self._best_candidate = best.copy() if isinstance(best, np.ndarray) else best

    def stop(self) -> dict[str, Any] | None:
        """Whether the method's own stopping criteria are met.

        Returns
        -------
        dict or None
            ``None`` to go on, else a dict naming each criterion met with its value, like
            pycma's ``es.stop()`` (for example ``{"tolfun": 1e-11}``).
        """
        return self._stop()

    def xbest(self) -> Any:
        """The best candidate told so far (in the optimiser's direction).

        Returns
        -------
        candidate or None
            ``None`` before any successful evaluation (numeric optimisers return ``x0``).
        """
        if self._best_candidate is None:
            return self._default_xbest()
        return self._best_candidate

    def fbest(self) -> float:
        """The best value told so far, in the user's units and direction.

        Returns
        -------
        float
            ``inf`` (minimising) or ``-inf`` (maximising) before any successful evaluation.
        """
        return self._sign * self._best_loss

    # ------------------------------------------------------------------ read-only facts

    @property
    def direction(self) -> str:
        """``"minimise"`` or ``"maximise"``."""
        return self._direction

    @property
    def seed(self) -> int:
        """The seed the optimiser's generator was made from."""
        return self._seed

    @property
    def iterations(self) -> int:
        """Number of batches told."""
        return self._iterations

    @property
    def evaluations(self) -> int:
        """Number of values told (failures included)."""
        return self._evaluations

    @property
    def failures(self) -> int:
        """Number of failed evaluations told (NaN, inf or None)."""
        return self._failures

    @property
    def awaiting_tell(self) -> bool:
        """Whether a batch has been asked and not yet told."""
        return self._pending is not None

    # ------------------------------------------------------------------ checkpoints

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue this optimiser, as plain data.

        Returns
        -------
        dict
            JSON-able values and numpy arrays only (see :mod:`asktell.serialization`); the
            random generator's state included. Restore with :meth:`load_state_dict` on an
            optimiser constructed with the same arguments.
        """
        return {
            "format": STATE_FORMAT,
            "optimiser": self.name,
            "class": f"{type(self).__module__}.{type(self).__qualname__}",
            "direction": self._direction,
            "seed": self._seed,
            "rng": self._rng.bit_generator.state,
            "pending": self._pending,
            "iterations": self._iterations,
            "evaluations": self._evaluations,
            "failures": self._failures,
            "best_loss": self._best_loss,
            "best_candidate": self._best_candidate,
            "method": self._get_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a state produced by :meth:`state_dict`.

        Parameters
        ----------
        state : dict
            A state from an optimiser of the same class constructed with the same arguments.

        Raises
        ------
        ValueError
            If the state belongs to another class, format or direction.
        """
        if not isinstance(state, dict) or "method" not in state:
            raise ValueError("not an asktell optimiser state (expected the dict of state_dict())")
        cls = f"{type(self).__module__}.{type(self).__qualname__}"
        if state.get("class") != cls:
            raise ValueError(f"state was saved from {state.get('class')!r}, not {cls!r}")
        if state.get("format") != STATE_FORMAT:
            raise ValueError(f"unsupported state format {state.get('format')!r}")
        if state["direction"] != self._direction:
            raise ValueError(
                f"state was saved with direction {state['direction']!r}, "
                f"this optimiser has {self._direction!r}"
            )
        self._set_state(state["method"])
        rng = np.random.default_rng()
        rng.bit_generator.state = state["rng"]
        self._rng = rng
        self._seed = int(state["seed"])
        pending = state["pending"]
        if isinstance(pending, list):
            pending = tuple(pending)
        if isinstance(pending, np.ndarray):
            pending.setflags(write=False)
        self._pending = pending
        self._n_pending = 0 if pending is None else len(pending)
        self._iterations = int(state["iterations"])
        self._evaluations = int(state["evaluations"])
        self._failures = int(state["failures"])
        self._best_loss = float(state["best_loss"])
        self._best_candidate = state["best_candidate"]

    # ------------------------------------------------------------------ for subclasses

    @abc.abstractmethod
    def _ask(self) -> Any:
        """Return the next batch (see class notes)."""

    @abc.abstractmethod
    def _tell(self, losses: np.ndarray) -> None:
        """Update from losses of the pending batch (see class notes)."""

    @abc.abstractmethod
    def _get_state(self) -> dict[str, Any]:
        """Return the method's own state as plain data."""

    @abc.abstractmethod
    def _set_state(self, state: dict[str, Any]) -> None:
        """Restore the method's own state."""

    def _stop(self) -> dict[str, Any] | None:
        return None

    def _default_xbest(self) -> Any:
        return None

    @property
    def _pending_batch(self) -> Any:
        """The batch awaiting :meth:`tell` (for subclasses)."""
        return self._pending

    def _check_values(self, values: Any) -> tuple[np.ndarray, int]:
        """Validate told values; return losses (lower is better, +inf for failures) and the
        number of failures."""
        n = self._n_pending
        if isinstance(values, np.ndarray):
            if values.dtype.kind not in "fiu":
                if values.dtype.kind == "O":
                    return self._check_values(values.tolist())
                raise TypeError(
                    f"tell() expects real numbers (or None for a failure), got {_describe(values)}"
                )
            if values.shape != (n,):
                raise ValueError(
                    f"tell() expects {n} values (one per candidate asked, shape ({n},)), "
                    f"got {_describe(values)}"
                )
            arr = values.astype(np.float64)
        else:
            if isinstance(values, (str, bytes, dict)) or not hasattr(values, "__len__"):
                raise TypeError(
                    f"tell() expects a sequence of {n} real numbers (or None for a failure), "
                    f"got {_describe(values)}"
                )
            if len(values) != n:
                raise ValueError(
                    f"tell() expects {n} values (one per candidate asked), got {len(values)}"
                )
            arr = np.empty(n, dtype=np.float64)
            for i, v in enumerate(values):
                if v is None:
                    arr[i] = np.nan
                elif isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
                    if isinstance(v, np.ndarray) and v.ndim == 0 and v.dtype.kind in "fiu":
                        arr[i] = float(v)
                        continue
                    raise TypeError(
                        f"tell() expects real numbers (or None for a failure); value {i} is "
                        f"{_describe(v)}: {v!r:.60}"
                    )
                else:
                    arr[i] = float(v)
        if self._sign < 0:
            arr = -arr
        ok = np.isfinite(arr)
        if ok.all():
            return arr, 0
        bad = ~ok
        arr[bad] = np.inf
        return arr, int(np.count_nonzero(bad))
