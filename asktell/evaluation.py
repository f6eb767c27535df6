"""The evaluation record: what every evaluator and every reward returns.

One typed record flows from the code that scores a batch to the method that is told it and to
the run store: the values (one per candidate, in the order asked), a tuple of
:class:`EvaluationError` for the items that failed, and optional named extra columns (one value
per candidate, for example a reward's separate terms). Nothing is read off an evaluator after a
call (after Optuna's ``FrozenTrial``: one record type from evaluator to store).

An :class:`Evaluation` reads like the sequence of its values, so the README's loop
``opt.tell(evaluate(opt.ask()))`` and code that indexes or converts the result keep working.
"""

from __future__ import annotations

import traceback as _traceback
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

__all__ = ["Evaluation", "EvaluationError", "as_evaluation"]


@dataclass(frozen=True)
class EvaluationError:
    """The failure of one item of a batch.

    Attributes
    ----------
    index : int
        Position of the item in the batch.
    type : str
        The exception's class name (``"ZeroDivisionError"``, ``"WorkerDiedError"``, ...).
    message : str
        The exception's message.
    traceback : str
        Formatted traceback (from the worker process where there was one), or ``""``.

    Examples
    --------
    >>> e = EvaluationError.from_exception(2, ValueError("no ring"))
    >>> e.index, e.type, e.message, e.error
    (2, 'ValueError', 'no ring', 'ValueError: no ring')
    """

    index: int
    type: str
    message: str
    traceback: str = ""

    @property
    def error(self) -> str:
        """``"Type: message"``, as a log line or a table cell shows it."""
        return f"{self.type}: {self.message}" if self.message else self.type

    @classmethod
    def from_exception(cls, index: int, exc: BaseException) -> EvaluationError:
        """The record of ``exc`` raised while scoring item ``index`` (traceback included).

        Parameters
        ----------
        index : int
            Position in the batch.
        exc : BaseException
            What was raised.

        Returns
        -------
        EvaluationError
        """
        tb = "".join(_traceback.format_exception(type(exc), exc, exc.__traceback__))
        return cls(int(index), type(exc).__name__, str(exc), tb)

    def to_plain(self) -> dict[str, Any]:
        """``{"index", "type", "message"}`` as stored in a run (the traceback is left out).

        Returns
        -------
        dict
        """
        return {"index": self.index, "type": self.type, "message": self.message,
                "error": self.error}


@dataclass(frozen=True, eq=False)
class Evaluation(NDArrayOperatorsMixin, Sequence[Any]):
    """The values of one scored batch, its failures and optional extra columns.

    Parameters
    ----------
    values : ndarray or tuple
        One value per candidate, in the order asked: a float64 array (NaN marks a failure) for
        scalar scores, or a tuple of objects (None marks a failure), for example simulated
        data sets.
    errors : tuple of EvaluationError
        One per failed item that raised, sorted by index.
    extras : mapping of str to ndarray
        Named columns with one float per candidate (a reward's terms, a simulator's cost).

    Notes
    -----
    The record is a read-only sequence of its values: ``len``, indexing, iteration,
    ``numpy.asarray(evaluation)``, :meth:`tolist`, arithmetic and comparisons behave as they do
    on ``values`` (and return plain arrays).

    Examples
    --------
    >>> ev = Evaluation(np.array([1.0, np.nan]),
    ...                 (EvaluationError(1, "ValueError", "bad"),))
    >>> len(ev), ev.tolist(), ev.n_failed, ev.errors[0].error
    (2, [1.0, nan], 1, 'ValueError: bad')
    """

    values: np.ndarray | tuple[Any, ...]
    errors: tuple[EvaluationError, ...] = ()
    extras: Mapping[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        values = self.values
        if isinstance(values, np.ndarray):
            if values.ndim != 1:
                raise ValueError(f"Evaluation values must be 1-d, got shape {values.shape}")
            values = values.copy() if values.flags.writeable else values
            values.setflags(write=False)
        elif isinstance(values, (list, tuple)):
            values = tuple(values)
        else:
            raise TypeError("Evaluation values must be a 1-d array or a sequence, got "
                            f"{type(values).__name__}")
        object.__setattr__(self, "values", values)
        errors = tuple(sorted(self.errors, key=lambda e: e.index))
        n = len(values)
        for e in errors:
            if not isinstance(e, EvaluationError):
                raise TypeError(f"errors must be EvaluationError records, got {e!r:.60}")
            if not 0 <= e.index < n:
                raise ValueError(f"error index {e.index} outside the batch of {n}")
        object.__setattr__(self, "errors", errors)
        extras: dict[str, np.ndarray] = {}
        for name, col in dict(self.extras).items():
            arr = np.asarray(col, dtype=np.float64)
            if arr.shape != (n,):
                raise ValueError(f"extra column {name!r} must hold {n} floats, got shape "
                                 f"{arr.shape}")
            arr.setflags(write=False)
            extras[str(name)] = arr
        object.__setattr__(self, "extras", extras)

    # ------------------------------------------------------------------ sequence of values

    def __len__(self) -> int:
        return len(self.values)

    def __getitem__(self, i: Any) -> Any:
        return self.values[i]

    def __iter__(self) -> Iterator[Any]:
        return iter(self.values)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        arr = np.asarray(self.values if isinstance(self.values, np.ndarray)
                         else list(self.values), dtype=dtype)
        return arr.copy() if copy else arr

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        args = [np.asarray(x) if isinstance(x, Evaluation) else x for x in inputs]
        return getattr(ufunc, method)(*args, **kwargs)

    #: Read-only array methods and attributes offered on the values (as numpy has them).
    ARRAY_API = frozenset({"mean", "sum", "min", "max", "argmin", "argmax", "std", "var", "any",
                           "all", "astype", "copy", "round", "shape", "dtype", "ndim", "size",
                           "nonzero", "argsort", "cumsum", "ptp", "clip", "item"})

    def __getattr__(self, name: str) -> Any:
        if name in Evaluation.ARRAY_API:
            return getattr(np.asarray(self), name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def tolist(self) -> list[Any]:
        """The values as a list (as ``ndarray.tolist``).

        Returns
        -------
        list
        """
        if isinstance(self.values, np.ndarray):
            out: list[Any] = self.values.tolist()
            return out
        return list(self.values)

    def __repr__(self) -> str:
        return (f"Evaluation(values={self.values!r}, errors={len(self.errors)} failed, "
                f"extras={sorted(self.extras)})")

    # ------------------------------------------------------------------ facts

    @property
    def is_scalar(self) -> bool:
        """Whether the values are floats (an array) rather than objects."""
        return isinstance(self.values, np.ndarray)

    @property
    def n_failed(self) -> int:
        """Items that failed: NaN (or None) values, whether or not they raised."""
        if isinstance(self.values, np.ndarray):
            return int(np.count_nonzero(~np.isfinite(self.values)))
        return sum(v is None for v in self.values)


def as_evaluation(result: Any) -> Evaluation:
    """The record of whatever a batch scorer returned.

    Parameters
    ----------
    result : Evaluation, ndarray or sequence
        An :class:`Evaluation` is returned as it is; an array or sequence of numbers (None for
        a failure) becomes a float record with no errors; other sequences (data sets) become
        an object record.

    Returns
    -------
    Evaluation

    Raises
    ------
    TypeError
        If ``result`` is not a sequence (a single number where a batch's values were expected).
    """
    if isinstance(result, Evaluation):
        return result
    if isinstance(result, np.ndarray):
        if result.ndim == 1 and result.dtype.kind in "fiub":
            return Evaluation(result.astype(np.float64))
        return Evaluation(tuple(result))
    if isinstance(result, (str, bytes, Mapping)) or not hasattr(result, "__len__"):
        raise TypeError(f"a batch scorer must return one value per candidate (a sequence), got "
                        f"{type(result).__name__}")
    items = list(result)
    if all(v is None or (isinstance(v, (int, float, np.number)) and not isinstance(v, bool))
           for v in items):
        return Evaluation(np.array([np.nan if v is None else float(v) for v in items]))
    return Evaluation(tuple(items))
