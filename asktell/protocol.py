"""The ask/tell protocol, written once and layered.

Every method in asktell (numeric optimisers, molecule generators, posterior estimators, RBM-EDA)
is an :class:`AskTell`: ``ask()`` returns a batch of candidates and ``tell(results)`` takes one
result per candidate, in order. The family-neutral base owns what every method shares:

* the order of calls and its misuse errors (``tell`` before ``ask``, ``ask`` twice, wrong length
  or type), checked before anything changes, so a rejected call leaves the method as it was;
* the pending batch, the seed and the method's own ``numpy.random.Generator``, checkpoints as
  plain data (:meth:`AskTell.state_dict` / :meth:`AskTell.load_state_dict`), iterations and
  evaluations;
* one *recorded value* per candidate (a float, NaN for a failure) in a declared
  :class:`Direction`, with the best candidate and value: what a run store keeps and a stopping
  rule watches;
* the :class:`Told` record of the last ``tell`` (recorded values, failures and the per-batch
  extras the method wants kept), and the end-of-run :meth:`AskTell.write_report` hook.

Two specialisations declare what they are told, as PINTS keeps its ``Optimiser`` and
``MCMCSampler`` apart:

* :class:`Optimiser`: told one number per candidate (numeric optimisers, SMILES generators,
  RBM-EDA). The user's ``direction`` is fixed at construction and handled once; NaN, ±inf and
  None are failures that rank worst and are counted.
* :class:`Estimator`: told a result object per candidate (the cINN is told simulated data sets).
  It declares how one result is parsed, how a batch is checked, and the float it records.

The design follows PINTS's ask-and-tell interface (Clerx et al. 2019, "Probabilistic Inference on
Noisy Time Series (PINTS)", J. Open Res. Softw. 7(1), 23, doi:10.5334/jors.252).
"""

from __future__ import annotations

import abc
import enum
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, runtime_checkable

import numpy as np

from .evaluation import Evaluation

if TYPE_CHECKING:  # pragma: no cover
    from .controller import RunResult

__all__ = [
    "MAXIMISE",
    "MINIMISE",
    "AskTell",
    "AsyncAskTell",
    "AsyncUpdate",
    "Closeable",
    "Direction",
    "Estimator",
    "Optimiser",
    "ProtocolError",
    "Reporter",
    "Told",
    "check_state_value",
]


class Direction(str, enum.Enum):
    """Whether lower or higher values are better.

    A ``str`` enum: ``Direction.MINIMISE == "minimise"``, so states and configs keep plain
    strings. :meth:`parse` accepts the usual spellings.

    Examples
    --------
    >>> Direction.parse("max"), Direction.parse("minimize").sign
    (<Direction.MAXIMISE: 'maximise'>, 1.0)
    """

    MINIMISE = "minimise"
    MAXIMISE = "maximise"

    @classmethod
    def parse(cls, value: Direction | str) -> Direction:
        """The direction named by ``value``.

        Parameters
        ----------
        value : Direction or str
            ``"minimise"``/``"minimize"``/``"min"`` or ``"maximise"``/``"maximize"``/``"max"``
            (any case).

        Returns
        -------
        Direction

        Raises
        ------
        ValueError
            For anything else.
        """
        if isinstance(value, Direction):
            return value
        key = value.strip().lower() if isinstance(value, str) else None
        if key in ("minimise", "minimize", "min"):
            return cls.MINIMISE
        if key in ("maximise", "maximize", "max"):
            return cls.MAXIMISE
        raise ValueError(f"direction must be 'minimise' or 'maximise', got {value!r}")

    @property
    def sign(self) -> float:
        """``+1`` when minimising, ``-1`` when maximising: ``loss = sign * value``."""
        return 1.0 if self is Direction.MINIMISE else -1.0

    def __str__(self) -> str:
        return self.value


MINIMISE = Direction.MINIMISE
MAXIMISE = Direction.MAXIMISE
STATE_FORMAT = 1


class ProtocolError(ValueError):
    """An ask/tell call out of order (``tell`` before ``ask``, ``ask`` twice, ...)."""


@dataclass(frozen=True)
class Told:
    """The last told batch as recorded (:attr:`AskTell.last_told`).

    Attributes
    ----------
    values : ndarray of float64, shape (n,)
        The recorded value of each candidate, in the method's direction and units (NaN for a
        failure): the told number for an :class:`Optimiser`, the declared value for an
        :class:`Estimator`.
    n_failed : int
        Failures in this batch.
    extras : mapping of str to float
        Per-batch numbers the method wants kept (a restart index, a KL divergence, a training
        loss); a run store keeps each as a named history column.
    """

    values: np.ndarray
    n_failed: int
    extras: Mapping[str, float] = field(default_factory=dict)


@runtime_checkable
class Reporter(Protocol):
    """End-of-run hook: anything that writes its own report into a run directory.

    Every :class:`AskTell` method is one (the default writes nothing); a problem or reward that
    implements ``write_report`` is one too, and ``asktell run`` calls it after the run stops
    (the logistic problem plots the data with the fitted curve, the cINN its calibration).
    """

    def write_report(self, run_dir: str | Path,
                     result: RunResult | None = None) -> Mapping[str, Path]:
        """Write files into ``run_dir``; return name → path of each file written."""
        ...  # pragma: no cover


@runtime_checkable
class Closeable(Protocol):
    """Anything that holds resources (worker processes, a device) released by ``close()``."""

    def close(self) -> None:
        """Release the resources; a later call may start them again."""
        ...  # pragma: no cover


def _describe(values: Any) -> str:
    if isinstance(values, np.ndarray):
        return f"an array of dtype {values.dtype} and shape {values.shape}"
    return f"a {type(values).__name__}"


def _check_extras(name: str, extras: Any) -> dict[str, float]:
    if not extras:
        return {}
    if not isinstance(extras, Mapping):
        raise TypeError(f"{name}._batch_extras() must return a mapping of str to float, got "
                        f"{type(extras).__name__}")
    out: dict[str, float] = {}
    for k, v in extras.items():
        if not isinstance(k, str) or not k.isidentifier():
            raise ValueError(f"{name}: extra column names must be identifiers, got {k!r}")
        out[k] = float(v)
    return out


class AskTell(abc.ABC):
    """Family-neutral base of every ask/tell method.

    Method authors do not subclass this directly: they subclass :class:`Optimiser` (told numbers)
    or :class:`Estimator` (told result objects), which implement the two hooks below.

    Parameters
    ----------
    seed : int or None
        Seed of the method's own ``numpy.random.Generator`` (:attr:`_rng`). ``None`` draws a
        fresh seed from the operating system; it is then available as :attr:`seed`, so any run
        can be repeated.
    direction : Direction or str
        Whether lower or higher recorded values are better. Fixed at construction.

    Notes
    -----
    Specialisations implement ``_check_told(results) -> accepted`` (validate a told batch without
    changing anything; raise ``TypeError``/``ValueError`` on misuse) and
    ``_apply_told(accepted) -> losses`` (update the method; return one loss per candidate, lower is
    better, ``+inf`` for a failure). Every method implements ``_ask``, ``_get_state`` and
    ``_set_state`` and may implement ``_stop``, ``_batch_extras`` and :meth:`write_report`.
    All randomness must come from ``self._rng``.
    """

    #: Short registry name, set by subclasses (for messages and stored runs).
    name: str = "method"
    #: What the recorded value of a candidate is (a history column's name).
    recorded: ClassVar[str] = "value"
    #: Limits on the method's own state (:meth:`_get_state`), checked by
    #: :meth:`load_state_dict` before anything is restored: key → ``"finite"`` (every entry
    #: finite and below 1e150 in magnitude, past which the squares a method takes overflow),
    #: ``"positive"`` (finite and > 0) or ``"nonnegative"``. A None value is not checked.
    state_limits: ClassVar[Mapping[str, str]] = {}

    def __init__(self, *, seed: int | None = None,
                 direction: Direction | str = Direction.MINIMISE) -> None:
        self._direction = Direction.parse(direction)
        self._sign = self._direction.sign
        if seed is None:
            seed = int(np.random.SeedSequence().entropy) % (2**63)  # type: ignore[arg-type]
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
        self._last_told: Told | None = None

    # ------------------------------------------------------------------ the protocol

    def ask(self) -> Any:
        """Return the next batch of candidates to evaluate.

        Returns
        -------
        batch
            A read-only numpy array whose first axis runs over candidates, or a tuple of
            candidates (strings, for generators). Evaluate every candidate and pass the results,
            in order, to :meth:`tell`.

        Raises
        ------
        ProtocolError
            If the previous batch has not been told yet.
        """
        if self._pending is not None:
            raise ProtocolError(
                f"ask() called again before tell(): {self.name} is waiting for "
                f"{self._n_pending} results for the batch it asked last"
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

    def tell(self, results: Any) -> None:
        """Report the results of the candidates returned by the last :meth:`ask`.

        Parameters
        ----------
        results : Evaluation or sequence, length n
            One result per candidate, in the order asked (what the specialisation declares:
            numbers for an :class:`Optimiser`, result objects for an :class:`Estimator`).
            The batch as recorded (values, failures, the method's extras) is then
            :attr:`last_told`.

        Raises
        ------
        ProtocolError
            If :meth:`ask` was not called since the last ``tell``.
        ValueError
            If the number of results differs from the number of candidates asked.
        TypeError
            If a result is not of the declared kind.

        Notes
        -----
        A rejected call changes nothing: the method can be told again, correctly.
        """
        if self._pending is None:
            raise ProtocolError(
                f"tell() called before ask(): {self.name} has no batch waiting for results"
            )
        accepted, n_failed = self._check_told(results)
        losses = np.asarray(self._apply_told(accepted), dtype=np.float64)
        batch = self._pending
        self._pending = None
        self._n_pending = 0
        self._iterations += 1
        self._evaluations += losses.size
        self._failures += n_failed
        i = int(losses.argmin())
        if losses[i] < self._best_loss:
            self._best_loss = float(losses[i])
            best = batch[i]
            self._best_candidate = best.copy() if isinstance(best, np.ndarray) else best
        values = np.where(np.isfinite(losses), self._sign * losses, np.nan)
        values.setflags(write=False)
        self._last_told = Told(values, n_failed, _check_extras(self.name, self._batch_extras()))

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
        """The candidate with the best recorded value so far.

        Returns
        -------
        candidate or None
            ``None`` before any successful evaluation (numeric optimisers return ``x0``).
        """
        if self._best_candidate is None:
            return self._default_xbest()
        return self._best_candidate

    def fbest(self) -> float:
        """The best recorded value so far, in the method's units and direction.

        Returns
        -------
        float
            ``inf`` (minimising) or ``-inf`` (maximising) before any successful evaluation.
        """
        return self._sign * self._best_loss

    def write_report(self, run_dir: str | Path,
                     result: RunResult | None = None) -> Mapping[str, Path]:
        """End-of-run hook (:class:`Reporter`): write the method's own figures and tables.

        ``asktell run`` and ``asktell resume`` call it once, after the run stops. The default
        writes nothing.

        Parameters
        ----------
        run_dir : path-like
            The run directory.
        result : RunResult, optional
            The run's outcome.

        Returns
        -------
        dict
            Name → path of each file written.
        """
        return {}

    def settings(self) -> dict[str, Any]:
        """The static settings that fix the shape of what this method asks, as plain data.

        A run store keeps them; resuming with a method whose settings differ (another dimension,
        population size or boundaries) is refused with the difference named.

        Returns
        -------
        dict
            Empty by default; numeric optimisers give ``n_parameters``, ``boundaries`` and
            ``popsize``.
        """
        return {"method": self.name}

    # ------------------------------------------------------------------ read-only facts

    @property
    def direction(self) -> Direction:
        """:class:`Direction` of the recorded values."""
        return self._direction

    @property
    def seed(self) -> int:
        """The seed the method's generator was made from."""
        return self._seed

    @property
    def iterations(self) -> int:
        """Number of batches told."""
        return self._iterations

    @property
    def evaluations(self) -> int:
        """Number of results told (failures included)."""
        return self._evaluations

    @property
    def failures(self) -> int:
        """Number of failed evaluations told."""
        return self._failures

    @property
    def awaiting_tell(self) -> bool:
        """Whether a batch has been asked and not yet told."""
        return self._pending is not None

    @property
    def last_told(self) -> Told | None:
        """The last told batch as recorded (:class:`Told`), or None before the first tell."""
        return self._last_told

    @property
    def pending(self) -> Any:
        """The batch awaiting :meth:`tell` (read-only), or None."""
        return self._pending

    # ------------------------------------------------------------------ checkpoints

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue this method, as plain data.

        Returns
        -------
        dict
            JSON-able values and numpy arrays only (see :mod:`asktell.serialization`); the
            random generator's state included. Restore with :meth:`load_state_dict` on a
            method constructed with the same arguments.
        """
        return {
            "format": STATE_FORMAT,
            "optimiser": self.name,
            "class": f"{type(self).__module__}.{type(self).__qualname__}",
            "direction": self._direction.value,
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
            A state from a method of the same class constructed with the same arguments.

        Raises
        ------
        ValueError
            If the state belongs to another class, format or direction, or holds impossible
            values (negative counts, a NaN best value); the key is named.
        """
        if not isinstance(state, dict) or "method" not in state:
            raise ValueError("not an asktell optimiser state (expected the dict of state_dict())")
        cls = f"{type(self).__module__}.{type(self).__qualname__}"
        if state.get("class") != cls:
            raise ValueError(f"state was saved from {state.get('class')!r}, not {cls!r}")
        if state.get("format") != STATE_FORMAT:
            raise ValueError(f"unsupported state format {state.get('format')!r}")
        if state["direction"] != self._direction.value:
            raise ValueError(
                f"state was saved with direction {state['direction']!r}, "
                f"this optimiser has {self._direction.value!r}"
            )
        for key in ("iterations", "evaluations", "failures"):
            v = state.get(key)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
                raise ValueError(f"state key {key!r} must be a non-negative integer, got {v!r}")
        best = state.get("best_loss")
        if not isinstance(best, (int, float)) or np.isnan(best) or best == -np.inf:
            raise ValueError(f"state key 'best_loss' must be a number or +inf, got {best!r}")
        method = state["method"]
        for key, value in (("pending", state.get("pending")),
                           ("best_candidate", state.get("best_candidate"))):
            if isinstance(value, np.ndarray) and value.dtype.kind == "f":
                check_state_value(key, value, "finite")
        for key, rule in self.state_limits.items():
            if isinstance(method, dict) and method.get(key) is not None:
                check_state_value(f"method.{key}", method[key], rule)
        pending = state["pending"]
        if isinstance(pending, list):
            pending = tuple(pending)
        self._set_state(state["method"])
        rng = np.random.default_rng()
        rng.bit_generator.state = state["rng"]
        self._rng = rng
        self._seed = int(state["seed"])
        if isinstance(pending, np.ndarray):
            pending.setflags(write=False)
        self._pending = pending
        self._n_pending = 0 if pending is None else len(pending)
        self._iterations = int(state["iterations"])
        self._evaluations = int(state["evaluations"])
        self._failures = int(state["failures"])
        self._best_loss = float(best)
        self._best_candidate = state["best_candidate"]

    # ------------------------------------------------------------------ for specialisations

    @abc.abstractmethod
    def _check_told(self, results: Any) -> tuple[Any, int]:
        """Validate a told batch without changing anything: ``(accepted, n_failed)``."""

    @abc.abstractmethod
    def _apply_told(self, accepted: Any) -> np.ndarray:
        """Update the method from an accepted batch; return its losses (``+inf``: failed)."""

    # ------------------------------------------------------------------ for methods

    @abc.abstractmethod
    def _ask(self) -> Any:
        """Return the next batch (see the class notes)."""

    @abc.abstractmethod
    def _get_state(self) -> dict[str, Any]:
        """Return the method's own state as plain data."""

    @abc.abstractmethod
    def _set_state(self, state: dict[str, Any]) -> None:
        """Restore the method's own state."""

    def _stop(self) -> dict[str, Any] | None:
        """The method's own stopping criteria (None: go on)."""
        return None

    def _batch_extras(self) -> Mapping[str, float]:
        """Numbers about the batch just told to keep as history columns (default: none)."""
        return {}

    def _default_xbest(self) -> Any:
        return None

    @property
    def _pending_batch(self) -> Any:
        """The batch awaiting :meth:`tell` (for methods)."""
        return self._pending


#: Magnitude past which a stored number is taken as impossible (its square overflows float64).
STATE_MAGNITUDE = 1e150


def check_state_value(key: str, value: Any, rule: str) -> None:
    """Refuse a stored state entry that breaks ``rule`` (see :attr:`AskTell.state_limits`).

    Parameters
    ----------
    key : str
        The entry's name, for the message.
    value : number or array_like
        The stored value.
    rule : str
        ``"finite"``, ``"positive"`` or ``"nonnegative"``.

    Raises
    ------
    ValueError
        Naming the key, the rule and the first offending value.
    """
    try:
        a = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"state key {key!r} must hold numbers, got {value!r:.80}") from None
    if rule == "finite":
        bad = ~(np.abs(a) < STATE_MAGNITUDE)  # NaN compares False: refused too
        what = f"finite numbers below {STATE_MAGNITUDE:g} in magnitude"
    elif rule == "positive":
        bad = ~((a > 0) & (a < STATE_MAGNITUDE))
        what = "positive finite numbers"
    elif rule == "nonnegative":
        bad = ~((a >= 0) & (a < STATE_MAGNITUDE))
        what = "non-negative finite numbers"
    else:
        raise ValueError(f"unknown state limit {rule!r} for {key!r}; expected 'finite', "
                         "'positive' or 'nonnegative'")
    if bad.any():
        raise ValueError(f"state key {key!r} must hold {what}, got {float(a[bad].flat[0])!r} "
                         "(a damaged or hand-edited checkpoint?)")


class Optimiser(AskTell):
    """An ask/tell method told one number per candidate.

    Numeric optimisers, SMILES generators and RBM-EDA stand on this class.

    Parameters
    ----------
    seed : int or None
        See :class:`AskTell`.
    direction : Direction or str
        ``"minimise"`` or ``"maximise"``: whether lower or higher told values are better.

    Notes
    -----
    Subclasses implement:

    ``_ask() -> batch``
        The next batch (a numpy array of shape (n, ...) or a tuple of objects).
    ``_tell(losses) -> None``
        Update from ``losses``, a float64 array with one entry per candidate of the last batch,
        lower is better, ``+inf`` for failed evaluations (never NaN). A subclass that sets
        ``told_as = "values"`` receives the told values instead: the user's units and
        direction, NaN for failures (a generator told rewards).
    ``_get_state() -> dict`` / ``_set_state(state) -> None``
        The method's own state as plain data (numbers, strings, lists, dicts, numpy arrays).
    ``_stop() -> dict | None``, ``_batch_extras() -> dict`` (optional)
        The method's own stopping criteria; numbers about the last batch to keep in the run's
        history (a restart index, a KL divergence).

    All randomness must come from ``self._rng``.
    """

    name = "optimiser"
    #: What :meth:`_tell` receives: ``"losses"`` (lower is better, +inf for failures) or
    #: ``"values"`` (as told, NaN for failures).
    told_as: ClassVar[Literal["losses", "values"]] = "losses"

    def tell(self, values: Sequence[float | None] | np.ndarray | Evaluation) -> None:
        """Report the values of the candidates returned by the last :meth:`ask`.

        Parameters
        ----------
        values : Evaluation or sequence of float or None, length n
            One value per candidate, in the order asked. ``NaN``, ``inf``, ``-inf`` or ``None``
            marks a failed evaluation: it ranks worst and is counted in :attr:`failures`.
            The batch as recorded is then :attr:`last_told`.

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
        super().tell(values)

    @abc.abstractmethod
    def _tell(self, losses: np.ndarray) -> None:
        """Update from losses of the pending batch (see the class notes)."""

    def _apply_told(self, accepted: np.ndarray) -> np.ndarray:
        if self.told_as == "values":
            self._tell(np.where(np.isfinite(accepted), self._sign * accepted, np.nan))
        else:
            self._tell(accepted)
        return accepted

    def _check_told(self, values: Any, n: int | None = None) -> tuple[np.ndarray, int]:
        """Validate told values; return losses (lower is better, +inf for failures) and the
        number of failures (``n``: how many are expected, default the pending batch's)."""
        n = self._n_pending if n is None else n
        if isinstance(values, Evaluation):
            if not values.is_scalar:
                raise TypeError(f"tell() expects real numbers; the evaluation holds objects "
                                f"(use an evaluator with output='scalar' for {self.name})")
            values = values.values
        if isinstance(values, np.ndarray):
            if values.dtype.kind not in "fiu":
                if values.dtype.kind == "O":
                    return self._check_told(values.tolist(), n)
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


class Estimator(AskTell):
    """An ask/tell method told a result object per candidate (a simulated data set).

    ``ask()`` returns parameter vectors θ; ``tell(results)`` takes what the simulator returned
    for each (None, or an :class:`~asktell.Evaluation` whose value is None, marks a failed
    simulation). The estimator records one float per candidate, declared by the class
    (:attr:`recorded`, in :attr:`recorded_direction`), for example the negative log posterior
    density of the true θ under the network before that round's training.

    Parameters
    ----------
    seed : int or None
        See :class:`AskTell`.

    Notes
    -----
    Subclasses implement ``_ask``, ``_get_state``, ``_set_state`` (as for :class:`Optimiser`) and:

    ``_parse_result(index, result) -> parsed or None``
        Check and convert one told result; None marks a failure. Raise ``TypeError`` or
        ``ValueError`` for a result that is not of the declared kind: the call is then refused
        and nothing changes.
    ``_check_batch(parsed) -> None`` (optional)
        Checks across the batch (and against what was told before); raise to refuse.
    ``_tell(parsed) -> recorded``
        Update from the parsed results (failures are None) and return the recorded value of
        each candidate (NaN for failures), in :attr:`recorded_direction`.
    """

    name = "estimator"
    recorded: ClassVar[str] = "value"
    #: Whether lower or higher recorded values are better.
    recorded_direction: ClassVar[Direction] = Direction.MINIMISE

    def __init__(self, *, seed: int | None = None) -> None:
        super().__init__(seed=seed, direction=self.recorded_direction)

    def tell(self, results: Sequence[Any] | Evaluation) -> None:
        """Report the results (data sets) of the candidates returned by the last :meth:`ask`.

        Parameters
        ----------
        results : Evaluation or sequence, length n
            One result per candidate, in the order asked; None marks a failed simulation.
            The recorded value per candidate (see :attr:`recorded`), the failures and extras
            are then :attr:`last_told`.

        Raises
        ------
        ProtocolError
            If :meth:`ask` was not called since the last ``tell``.
        ValueError, TypeError
            If the number of results differs from the number asked, or a result is not of the
            declared kind. A rejected call changes nothing.
        """
        super().tell(results)

    def _check_told(self, results: Any, n: int | None = None) -> tuple[list[Any], int]:
        n = self._n_pending if n is None else n
        if isinstance(results, Evaluation):
            results = results.values
        if isinstance(results, np.ndarray) and results.ndim >= 1:
            results = list(results)
        if isinstance(results, (str, bytes, dict)) or not hasattr(results, "__len__"):
            raise TypeError(f"tell() expects a sequence of {n} results (None for a failure), "
                            f"got {_describe(results)}")
        if len(results) != n:
            raise ValueError(f"tell() expects {n} results (one per candidate asked), got "
                             f"{len(results)}")
        parsed = [None if r is None else self._parse_result(i, r) for i, r in enumerate(results)]
        self._check_batch(parsed)
        return parsed, sum(p is None for p in parsed)

    def _apply_told(self, accepted: list[Any]) -> np.ndarray:
        recorded = np.asarray(self._tell(accepted), dtype=np.float64)
        if recorded.shape != (len(accepted),):
            raise RuntimeError(f"{self.name}._tell returned {recorded.shape} recorded values "
                               f"for {len(accepted)} results (a bug in the method)")
        losses = self._sign * recorded
        return np.where(np.isfinite(losses), losses, np.inf)

    @abc.abstractmethod
    def _parse_result(self, index: int, result: Any) -> Any:
        """Check and convert one told result (None: failed)."""

    def _check_batch(self, parsed: list[Any]) -> None:
        """Checks across the parsed batch; raise ``ValueError`` to refuse it."""

    @abc.abstractmethod
    def _tell(self, parsed: list[Any]) -> np.ndarray:
        """Update from the parsed results; return the recorded values (NaN: failed)."""


@dataclass(frozen=True)
class AsyncUpdate:
    """One update of an asynchronous method (what :meth:`AsyncAskTell.tell_async` returns).

    Attributes
    ----------
    keys : tuple of int
        The keys of the candidates the update used, in the order they were told.
    candidates : ndarray, shape (n, d)
        Those candidates (read-only).
    told : Told
        Their recorded values, failures and the method's extras (also :attr:`~AskTell.last_told`).
    """

    keys: tuple[int, ...]
    candidates: np.ndarray
    told: Told


def _pad(record: np.ndarray, width: int) -> np.ndarray:
    """``record`` padded with NaN to ``width`` (unchanged if it is that long)."""
    if record.size >= width:
        return record
    return np.concatenate([record, np.full(width - record.size, np.nan)])


class AsyncAskTell(abc.ABC):
    """Declared capability: results told out of order and in partial batches.

    A method that inherits this mixin (before :class:`Optimiser`) can be run asynchronously:
    :meth:`ask_async` hands out ``n`` candidates at a time, each under a key, and
    :meth:`tell_async` takes the results of any subset of the candidates asked and not yet
    told, in any order. The method buffers what it is told and updates (one *iteration*) when
    a generation's worth has arrived (:meth:`_generation_size`, the population size by
    default), so results of candidates asked before the last update are used too: each method
    says how in :attr:`stale_results`. A controller asks for a new candidate as soon as a
    worker is free (see :class:`asktell.Controller`'s ``mode="async"``); a method that does not
    inherit this class is run synchronously only. Capability is declared by the class, never
    probed: ``isinstance(method, AsyncAskTell)``.

    Synchronous and asynchronous calls do not mix: :meth:`ask` is refused while asynchronous
    candidates are outstanding or results are buffered, and :meth:`ask_async` while a
    synchronous batch awaits :meth:`tell`. A refused call changes nothing.

    Notes
    -----
    Methods implement ``_ask_async(n) -> (candidates, records)``: ``n`` candidates from the
    current search distribution (shape (n, d)) and a float record per candidate (shape (n, r),
    what the method needs to use the result later: the unrepaired sample, a particle index);
    ``_update_async(candidates, records, told)``: one update from a generation (an
    :class:`Optimiser` gets losses as for ``_tell`` and returns None; an :class:`Estimator` gets
    its parsed results and returns their recorded values); optionally ``_tell_one(record,
    told)`` (called at once for each result, before the update), ``_told_from_state`` (an
    estimator's buffered results from a state), ``_record_width`` (records of an earlier
    version padded with NaN on load) and :attr:`max_in_flight`. Randomness from
    ``self._rng`` only.
    """

    #: How results of candidates asked before the last update are used (per method).
    stale_results: ClassVar[str] = ""

    _pending: Any
    _iterations: int
    _evaluations: int
    _failures: int
    _best_loss: float
    _best_candidate: Any
    _last_told: Told | None
    _sign: float
    name: str

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._next_key = 0
        self._asked: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._buffer: list[tuple[int, np.ndarray, np.ndarray, Any]] = []

    # ------------------------------------------------------------------ the capability

    @property
    def max_in_flight(self) -> int | None:
        """The most candidates that may be outstanding at once (None: no bound)."""
        return None

    @property
    def outstanding(self) -> tuple[tuple[int, ...], np.ndarray | None]:
        """Keys and candidates asked by :meth:`ask_async` and not yet told (in key order)."""
        keys = tuple(sorted(self._asked))
        if not keys:
            return (), None
        xs = np.stack([self._asked[k][0] for k in keys])
        xs.setflags(write=False)
        return keys, xs

    def ask(self) -> Any:
        """See :meth:`AskTell.ask`; refused while asynchronous candidates are outstanding."""
        if self._asked or self._buffer:
            raise ProtocolError(
                f"ask() called while {self.name} has {len(self._asked)} asynchronous "
                f"candidates outstanding and {len(self._buffer)} results buffered: "
                "do not mix ask()/tell() with ask_async()/tell_async()")
        return super().ask()  # type: ignore[misc]

    def ask_async(self, n: int) -> tuple[tuple[int, ...], np.ndarray]:
        """Ask ``n`` new candidates from the current search distribution.

        Parameters
        ----------
        n : int
            How many (at least 1; with the outstanding ones at most :attr:`max_in_flight`).

        Returns
        -------
        keys : tuple of int
            One key per candidate, unique over the method's life: tell results under them.
        candidates : ndarray, shape (n, d)
            Read-only.

        Raises
        ------
        ProtocolError
            If a synchronous batch awaits :meth:`tell`.
        ValueError
            If ``n`` is not a positive int or would exceed :attr:`max_in_flight`.
        """
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"ask_async(n) needs a positive int n, got {n!r}")
        if self._pending is not None:
            raise ProtocolError(f"ask_async() called while {self.name} waits for tell() of a "
                                "synchronous batch: do not mix the two modes")
        limit = self.max_in_flight
        if limit is not None and len(self._asked) + n > limit:
            raise ValueError(f"{self.name} allows at most {limit} candidates in flight; "
                             f"{len(self._asked)} are outstanding, {n} more were asked")
        xs, records = self._ask_async(int(n))
        xs = np.array(xs, dtype=np.float64)
        records = np.asarray(records, dtype=np.float64).reshape(len(xs), -1)
        keys = tuple(range(self._next_key, self._next_key + int(n)))
        self._next_key += int(n)
        for k, x, r in zip(keys, xs, records, strict=True):
            self._asked[k] = (x, r)
        xs.setflags(write=False)
        return keys, xs

    def tell_async(self, keys: Sequence[int], values: Sequence[Any] | np.ndarray
                   ) -> list[AsyncUpdate]:
        """Report results of candidates asked by :meth:`ask_async`, any subset, any order.

        Parameters
        ----------
        keys : sequence of int
            Keys of outstanding candidates, each at most once.
        values : sequence
            One result per key, of the kind the method is told: numbers for an optimiser
            (NaN, ±inf or None marks a failure, ranked worst and counted), data sets for an
            estimator (None marks a failure).

        Returns
        -------
        list of AsyncUpdate
            The updates these results completed (usually none or one), oldest first.

        Raises
        ------
        ValueError
            For an unknown or repeated key, or as many values as keys; the state is unchanged.
        TypeError
            If a value is not a real number or None.
        """
        keys = [int(k) for k in keys]
        unknown = [k for k in keys if k not in self._asked]
        if unknown:
            raise ValueError(f"tell_async(): {self.name} has no outstanding candidate with "
                             f"key {unknown[0]} (unknown, or told already)")
        if len(set(keys)) != len(keys):
            raise ValueError("tell_async(): a key was given twice")
        accepted, n_failed = self._check_told(values, len(keys))  # type: ignore[attr-defined]
        scalar = isinstance(self, Optimiser)
        updates: list[AsyncUpdate] = []
        self._evaluations += len(keys)
        self._failures += n_failed
        size = self._generation_size()
        for k, result in zip(keys, accepted, strict=True):
            x, rec = self._asked.pop(k)
            if scalar:
                result = float(result)
                if result < self._best_loss:
                    self._best_loss = result
                    self._best_candidate = x.copy()
            self._tell_one(rec, result)
            self._buffer.append((k, x, rec, result))
            if len(self._buffer) >= size:
                updates.append(self._complete_generation())
        return updates

    def _complete_generation(self) -> AsyncUpdate:
        gen, self._buffer = self._buffer, []
        keys = tuple(g[0] for g in gen)
        xs = np.stack([g[1] for g in gen])
        recs = np.stack([g[2] for g in gen])
        results = [g[3] for g in gen]
        out = self._update_async(xs, recs, np.array(results) if isinstance(self, Optimiser)
                                 else results)
        if out is None:
            losses = np.array(results, dtype=np.float64)
        else:  # an estimator: its recorded values, known after the update
            losses = self._sign * np.asarray(out, dtype=np.float64)
            losses = np.where(np.isfinite(losses), losses, np.inf)
            i = int(losses.argmin())
            if losses[i] < self._best_loss:
                self._best_loss = float(losses[i])
                self._best_candidate = xs[i].copy()
        self._iterations += 1
        values = np.where(np.isfinite(losses), self._sign * losses, np.nan)
        values.setflags(write=False)
        xs.setflags(write=False)
        told = Told(values, int(np.count_nonzero(~np.isfinite(losses))),
                    _check_extras(self.name, self._batch_extras()))  # type: ignore[attr-defined]
        self._last_told = told
        return AsyncUpdate(keys, xs, told)

    # ------------------------------------------------------------------ checkpoints

    def state_dict(self) -> dict[str, Any]:
        """See :meth:`AskTell.state_dict`; adds the outstanding candidates and the buffer."""
        state: dict[str, Any] = super().state_dict()  # type: ignore[misc]
        asked = sorted(self._asked.items())
        state["async"] = {
            "next_key": self._next_key,
            "asked_keys": [k for k, _ in asked],
            "asked_x": [v[0] for _, v in asked],
            "asked_rec": [v[1] for _, v in asked],
            "buffer_keys": [b[0] for b in self._buffer],
            "buffer_x": [b[1] for b in self._buffer],
            "buffer_rec": [b[2] for b in self._buffer],
            "buffer_told": [b[3] for b in self._buffer],
        }
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """See :meth:`AskTell.load_state_dict`; restores the asynchronous bookkeeping too."""
        a = state.get("async") if isinstance(state, dict) else None
        asked: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        buffer: list[tuple[int, np.ndarray, np.ndarray, Any]] = []
        next_key = 0
        if a is not None:
            try:
                next_key = int(a["next_key"])
                for k, x, r in zip(a["asked_keys"], a["asked_x"], a["asked_rec"], strict=True):
                    asked[int(k)] = (np.array(x, dtype=float), np.array(r, dtype=float))
                for k, x, r, f in zip(a["buffer_keys"], a["buffer_x"], a["buffer_rec"],
                                      a["buffer_told"], strict=True):
                    buffer.append((int(k), np.array(x, dtype=float), np.array(r, dtype=float),
                                   self._told_from_state(f)))
            except (KeyError, TypeError, ValueError) as e:
                raise ValueError(f"state key 'async' is malformed: {e}") from e
            if next_key < 0 or any(k < 0 or k >= next_key for k in asked) \
                    or any(isinstance(b[3], float) and math.isnan(b[3]) for b in buffer):
                raise ValueError("state key 'async' holds impossible keys or values")
        super().load_state_dict(state)  # type: ignore[misc]
        width = self._record_width()
        if width is not None:  # records written by an earlier version: NaN for what they lack
            asked = {k: (x, _pad(r, width)) for k, (x, r) in asked.items()}
            buffer = [(k, x, _pad(r, width), f) for k, x, r, f in buffer]
        self._next_key, self._asked, self._buffer = next_key, asked, buffer

    # ------------------------------------------------------------------ for methods

    def _record_width(self) -> int | None:
        """The length of this method's records, where a checkpoint of an earlier version may
        hold shorter ones (padded with NaN on load, for the method to recognise); None: no
        padding."""
        return None

    def _told_from_state(self, told: Any) -> Any:
        """A buffered told result as restored from a state (a loss for optimisers; an
        estimator restores its parsed result)."""
        return float(told)

    def _generation_size(self) -> int:
        """Results per update (default: the population size)."""
        return int(self._popsize)  # type: ignore[attr-defined]

    @abc.abstractmethod
    def _ask_async(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """``n`` candidates from the current distribution and a record per candidate."""

    @abc.abstractmethod
    def _update_async(self, candidates: np.ndarray, records: np.ndarray,
                      told: Any) -> np.ndarray | None:
        """One update from a generation of told results (see the class notes): an optimiser
        gets their losses and returns None; an estimator gets its parsed results (None for a
        failure) and returns their recorded values, as its ``_tell`` does."""

    def _tell_one(self, record: np.ndarray, told: Any) -> None:  # noqa: B027 - optional
        """Use one result at once, before the generation is complete (default: nothing)."""
