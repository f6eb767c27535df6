"""Evaluators: score a batch of candidates, sequentially, in parallel, or as one tensor batch.

An evaluator is called with the batch that :meth:`asktell.Optimiser.ask` returned and returns
what :meth:`asktell.Optimiser.tell` takes: one value per candidate, in order.

* Every call returns one :class:`~asktell.Evaluation` record: the values, a tuple of
  :class:`~asktell.EvaluationError` (index, exception type, message) and optional extra columns.
  Nothing is read off the evaluator afterwards.
* One failing item never loses the batch: it gets the failure value (NaN, or None for
  ``output="object"``) and its error in the record; ``raise_errors=True`` re-raises instead.
* ``cache=True`` (or a maximum size) scores identical candidates once, within and across batches.
* Results stream: :meth:`Evaluator.submit` queues candidates under the caller's keys and
  :meth:`Evaluator.results` returns evaluations as they finish, so that a run store keeps each
  finished evaluation and an asynchronous controller refills a free worker at once. Calling the
  evaluator on a batch is ``submit`` followed by ``results`` until every candidate is back.

:class:`SequentialEvaluator` scores in this process; :class:`~asktell.ParallelEvaluator`
(:mod:`asktell.parallel`) on worker processes or threads of this machine;
:class:`BatchEvaluator` hands whole chunks to a function that scores many candidates at once (a
torch model), on a CPU or GPU.
"""

from __future__ import annotations

import abc
import logging
import math
import numbers
import time
import traceback
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from .evaluation import Evaluation, EvaluationError

__all__ = [
    "BatchEvaluator",
    "EvaluationError",
    "Evaluator",
    "Finished",
    "SequentialEvaluator",
    "WorkerDiedError",
]

log = logging.getLogger(__name__)


def _kind(x: Any) -> str:
    if isinstance(x, np.ndarray):
        return f"a 0-d array ({x!r:.40})"
    return f"a single {type(x).__name__} ({x!r:.40})"


class WorkerDiedError(RuntimeError):
    """A worker process died (segfault, ``os._exit``, out of memory) while scoring an item."""


#: A failure as a chunk's scorer reports it: (index in the chunk, type, message, traceback).
RawError = tuple[int, str, str, str]
#: A finished evaluation as an evaluator's ``_collect`` hands it to the base class:
#: (key, raw value, (type, message, traceback) or None, seconds it took).
Raw = tuple[int, Any, "tuple[str, str, str] | None", float]


def _format(exc: BaseException) -> tuple[str, str, str]:
    return (
        type(exc).__name__,
        str(exc),
        "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
    )


def _cache_key(x: Any) -> Hashable | None:
    if isinstance(x, np.ndarray):
        return (x.dtype.str, x.shape, x.tobytes())
    try:
        hash(x)
    except TypeError:
        return None
    key: Hashable = x
    return key


def check_batch(candidates: Any) -> int:
    """The length of a batch of candidates, or a clear error for something that is not one.

    Parameters
    ----------
    candidates : array of shape (n, ...) or sequence of length n
        What an evaluator was given.

    Returns
    -------
    int
        ``n``.

    Raises
    ------
    TypeError
        If ``candidates`` is a single number or string, a 1-d numeric array, or has no length.
    """
    if isinstance(candidates, (str, bytes)) or (
        isinstance(candidates, np.ndarray) and candidates.ndim == 0
    ):
        raise TypeError(
            f"an evaluator takes a batch (array or sequence), got {_kind(candidates)}; "
            "wrap a single candidate in a list"
        )
    try:
        n = len(candidates)
    except TypeError:
        raise TypeError(
            f"an evaluator takes a batch (array or sequence), got {type(candidates).__name__}"
        ) from None
    if (isinstance(candidates, np.ndarray) and candidates.ndim == 1
            and candidates.dtype.kind in "fiu"):
        raise TypeError(
            f"an evaluator takes a batch, got a 1-d numeric array of shape "
            f"{candidates.shape}: a batch of points has shape (n, d); pass one point as "
            "x[None, :], or a list of numbers if each number is a candidate"
        )
    return n


def take(candidates: Any, idx: Sequence[int]) -> Any:
    """The candidates at positions ``idx`` (an array stays an array, anything else a list).

    Parameters
    ----------
    candidates : array or sequence
        A batch.
    idx : sequence of int
        Positions.

    Returns
    -------
    array or list
    """
    if isinstance(candidates, np.ndarray):
        return candidates[np.asarray(idx, dtype=np.intp)]
    return [candidates[i] for i in idx]


class Finished(NamedTuple):
    """One finished evaluation, as :meth:`Evaluator.results` returns it (a named tuple: cheap
    to make, as every evaluation makes one).

    Attributes
    ----------
    key : int
        The key the candidate was submitted under (its index in the batch for a plain call).
    value : float or object
        The value: a float (NaN for a failure) for ``output="scalar"``, the object returned (None
        for a failure) for ``output="object"``.
    error : EvaluationError or None
        The failure, with ``index`` equal to ``key``; None for a success.
    seconds : float
        Time the evaluation took where it ran (NaN where unknown, 0 for a cache hit).
    """

    key: int
    value: Any
    error: EvaluationError | None
    seconds: float = math.nan


class Evaluator(abc.ABC):
    """Base of the evaluators: the streaming protocol, caching and value conversion.

    Subclasses implement ``_submit(items, keys)`` (queue or start work) and
    ``_collect(timeout)`` (block until at least one queued item finished, or the timeout
    passed, and return the finished ones as :data:`Raw` tuples), and optionally ``_cancel()``
    and :meth:`close`.

    Parameters
    ----------
    f : callable
        The function to score candidates with (one candidate, or a batch for
        :class:`BatchEvaluator`).
    raise_errors : bool
        Re-raise the first exception instead of recording it.
    cache : bool or int
        ``True`` scores identical candidates once (unbounded); an int bounds the cache to that
        many entries (least recently used dropped). Only successful values are cached.
    output : {"scalar", "object"}
        ``"scalar"``: values become a float64 array and a failure is NaN (what optimisers take).
        ``"object"``: values are returned as a list untouched (simulated data sets, say) and a
        failure is None.
    """

    def __init__(
        self,
        f: Callable[..., Any],
        *,
        raise_errors: bool = False,
        cache: bool | int = False,
        output: str = "scalar",
    ) -> None:
        if not callable(f):
            raise TypeError(f"f must be callable, got {type(f).__name__}")
        if output not in ("scalar", "object"):
            raise ValueError(f"output must be 'scalar' or 'object', got {output!r}")
        if isinstance(cache, bool):
            self._cache_size = None if cache else 0
        elif isinstance(cache, int) and cache >= 0:
            self._cache_size = cache
        else:
            raise TypeError(f"cache must be a bool or a non-negative int, got {cache!r}")
        self.f = f
        self.raise_errors = bool(raise_errors)
        self.output = output
        self._cache: OrderedDict[Hashable, Any] = OrderedDict()
        #: Cache hits over the evaluator's life.
        self.cache_hits = 0
        #: Items actually scored over the evaluator's life.
        self.n_evaluated = 0
        self._warned = False
        self._ready: deque[Finished] = deque()
        self._followers: dict[Hashable, list[int]] = {}
        self._scoring: dict[int, Hashable] = {}
        self._n_in_flight = 0

    # ------------------------------------------------------------------ streaming

    @property
    def capacity(self) -> int:
        """Evaluations this evaluator runs at once (1 in this process; its workers, in
        parallel): an asynchronous controller keeps this many candidates in flight."""
        return 1

    @property
    def in_flight(self) -> int:
        """Candidates submitted whose results have not been returned by :meth:`results`."""
        return self._n_in_flight

    def submit(self, candidates: Sequence[Any] | np.ndarray,
               keys: Sequence[int] | None = None) -> None:
        """Queue candidates for evaluation; :meth:`results` returns them as they finish.

        Parameters
        ----------
        candidates : array of shape (n, ...) or sequence of length n
            The candidates.
        keys : sequence of int, optional
            One key per candidate, returned with its result (default ``0 .. n-1``). Keys of
            candidates in flight must be distinct.

        Raises
        ------
        TypeError
            If ``candidates`` is not a batch.
        ValueError
            If ``keys`` has another length than ``candidates``.
        """
        self._queue_batch(candidates, keys)

    def _queue_batch(self, candidates: Sequence[Any] | np.ndarray,
                     keys: Sequence[int] | None) -> int:
        n = check_batch(candidates)
        keys = list(range(n)) if keys is None else [int(k) for k in keys]
        if len(keys) != n:
            raise ValueError(f"got {len(keys)} keys for {n} candidates")
        if self._cache_size == 0:
            todo = list(range(n))
        else:
            todo = []
            cache, followers = self._cache, self._followers
            for i in range(n):
                ck = _cache_key(candidates[i])
                if ck is not None and ck in cache:
                    cache.move_to_end(ck)
                    self.cache_hits += 1
                    self._ready.append(Finished(keys[i], cache[ck], None, 0.0))
                elif ck is not None and ck in followers:
                    followers[ck].append(keys[i])
                else:
                    if ck is not None:
                        followers[ck] = []
                        self._scoring[keys[i]] = ck
                    todo.append(i)
        self._n_in_flight += n
        if todo:
            items = candidates if len(todo) == n else take(candidates, todo)
            self._submit(items, keys if len(todo) == n else [keys[i] for i in todo])
        return n

    def results(self, timeout: float | None = None) -> list[Finished]:
        """Evaluations that finished since the last call (blocking until at least one has).

        Parameters
        ----------
        timeout : float, optional
            Return an empty list after this many seconds if nothing finished.

        Returns
        -------
        list of Finished
            In the order they finished; empty when nothing is in flight or the timeout passed.
        """
        out = list(self._ready)
        self._ready.clear()
        if not out and self._n_in_flight > 0:
            for key, v, err, sec in self._collect(timeout):
                out.extend(self._finish(key, v, err, sec))
            out.extend(self._ready)
            self._ready.clear()
        self._n_in_flight -= len(out)
        return out

    def cancel(self) -> None:
        """Drop every queued evaluation and stop running ones where the backend can."""
        self._ready.clear()
        self._followers.clear()
        self._scoring.clear()
        self._n_in_flight = 0
        self._cancel()

    def _finish(self, key: int, v: Any, err: tuple[str, str, str] | None,
                seconds: float) -> list[Finished]:
        self.n_evaluated += 1
        if err is None and type(v) is float and not self._scoring:  # the common case
            return [Finished(key, v, None, seconds)]
        error: EvaluationError | None = None
        if err is not None:
            error = EvaluationError(key, *err)
        elif self.output == "scalar":
            conv = self._to_float(v)
            if isinstance(conv, EvaluationError):
                error = EvaluationError(key, conv.type, conv.message, conv.traceback)
            else:
                v = conv
        if error is not None:
            v = math.nan if self.output == "scalar" else None
            if self.raise_errors:
                raise RuntimeError(f"item {key} failed: {error.error}")
        out = [Finished(key, v, error, seconds)]
        ck = self._scoring.pop(key, None) if self._scoring else None
        if ck is not None:
            if error is None:
                self._cache[ck] = v
                self._trim_cache()
            for fk in self._followers.pop(ck, ()):
                if error is None:
                    self.cache_hits += 1
                    out.append(Finished(fk, v, None, 0.0))
                else:
                    out.append(Finished(fk, v, EvaluationError(
                        fk, error.type, error.message, error.traceback), 0.0))
        return out

    def _trim_cache(self) -> None:
        if self._cache_size is not None:
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)

    @abc.abstractmethod
    def _submit(self, items: Sequence[Any] | np.ndarray, keys: list[int]) -> None:
        """Queue or start the scoring of ``items`` (keys: one per item)."""

    @abc.abstractmethod
    def _collect(self, timeout: float | None) -> list[Raw]:
        """Block until at least one queued item finished (or ``timeout`` passed)."""

    def _cancel(self) -> None:  # noqa: B027 - optional hook
        """Drop queued work (subclasses that queue)."""

    # ------------------------------------------------------------------ one batch

    def __call__(self, candidates: Sequence[Any] | np.ndarray) -> Evaluation:
        """Score a batch.

        Parameters
        ----------
        candidates : array of shape (n, ...) or sequence of length n
            The batch, as asked.

        Returns
        -------
        Evaluation
            One value per candidate (a float64 array for ``output="scalar"``, failures NaN; a
            tuple for ``output="object"``, failures None), and the failures' errors.

        Raises
        ------
        TypeError
            If ``candidates`` is not a batch (a single number or string).
        RuntimeError
            If the evaluator has streamed evaluations in flight.
        """
        if self._n_in_flight:
            raise RuntimeError(f"{type(self).__name__} has {self._n_in_flight} submitted "
                               "evaluations in flight; collect them with results() first")
        values: list[Any] = []
        errors: list[EvaluationError] = []
        try:
            n = self._queue_batch(candidates, None)
            values = [None] * n
            while self._n_in_flight:
                for r in self.results():
                    values[r.key] = r.value
                    if r.error is not None:
                        errors.append(r.error)
        except BaseException:
            self.cancel()
            raise
        errors.sort(key=lambda e: e.index)
        self.log_failures(errors, n)
        if self.output == "scalar":
            return Evaluation(np.array(values, dtype=np.float64), tuple(errors))
        return Evaluation(tuple(values), tuple(errors))

    def log_failures(self, errors: Sequence[EvaluationError], n: int) -> None:
        """Log a batch's failures: a warning for the first batch with any, then INFO lines.

        Parameters
        ----------
        errors : sequence of EvaluationError
            The batch's failures, sorted by index.
        n : int
            The batch size.
        """
        if errors:
            level = logging.INFO if self._warned else logging.WARNING
            self._warned = True
            log.log(level, "%d of %d evaluations failed; first: item %d: %s",
                    len(errors), n, errors[0].index, errors[0].error)

    def remember(self, known: Mapping[Any, Any]) -> None:
        """Store values for candidates not scored under that name (no-op without a cache).

        A caller that knows an equivalent candidate for a value just scored (a molecule's
        canonical SMILES for the spelling it was asked as) adds it here, so that a later batch
        holding it is a cache hit.

        Parameters
        ----------
        known : mapping
            Candidate → value, as :meth:`__call__` would have returned it.
        """
        if self._cache_size == 0:
            return
        cache = self._cache
        for x, v in known.items():
            k = _cache_key(x)
            if k is not None:
                cache[k] = v
                cache.move_to_end(k)
        self._trim_cache()

    @staticmethod
    def _to_float(v: Any) -> float | EvaluationError:
        if v is None:
            return np.nan
        if isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_)):
            return float(v)
        if isinstance(v, np.ndarray) and v.size == 1 and v.dtype.kind in "fiu":
            return float(v.reshape(()))
        msg = f"the function returned {type(v).__name__}, expected a real number"
        return EvaluationError(0, "TypeError", msg)

    def close(self) -> None:  # noqa: B027 - optional hook, most evaluators hold nothing
        """Release workers or devices (a no-op for evaluators that hold none)."""

    def __enter__(self) -> Evaluator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SequentialEvaluator(Evaluator):
    """Score candidates one after another in this process.

    Parameters
    ----------
    f : callable
        ``f(candidate) -> value``.
    raise_errors, cache, output
        See :class:`Evaluator`.

    Examples
    --------
    >>> ev = SequentialEvaluator(lambda x: 1 / x)
    >>> result = ev([1.0, 0.0, 4.0])
    >>> result.tolist()
    [1.0, nan, 0.25]
    >>> result.errors[0].index, result.errors[0].error
    (1, 'ZeroDivisionError: float division by zero')
    """

    def __init__(self, f: Callable[[Any], Any], *, raise_errors: bool = False,
                 cache: bool | int = False, output: str = "scalar") -> None:
        super().__init__(f, raise_errors=raise_errors, cache=cache, output=output)
        self._todo: deque[tuple[int, Any]] = deque()
        self._interrupted: BaseException | None = None

    def _submit(self, items: Sequence[Any] | np.ndarray, keys: list[int]) -> None:
        self._todo.extend(zip(keys, items, strict=True))

    def _collect(self, timeout: float | None) -> list[Raw]:
        # Items until _SLICE seconds have passed: a cheap batch comes back in one piece, an
        # expensive one item by item, so that a caller streaming results keeps each as it ends.
        if self._interrupted is not None:
            e, self._interrupted = self._interrupted, None
            raise e
        todo, f = self._todo, self.f
        out: list[Raw] = []
        clock = time.perf_counter
        start = t0 = clock()
        while todo and t0 - start < _SLICE:
            key, x = todo.popleft()
            try:
                v, err = f(x), None
            except Exception as e:
                if self.raise_errors:
                    return self._interrupt(out, key, x, e)
                v, err = None, _format(e)
            except BaseException as e:  # KeyboardInterrupt: hand back what finished first
                return self._interrupt(out, key, x, e)
            t1 = clock()
            out.append((key, v, err, t1 - t0))
            t0 = t1
        return out

    def _interrupt(self, out: list[Raw], key: int, x: Any, e: BaseException) -> list[Raw]:
        if not out:
            raise e
        self._todo.appendleft((key, x))
        self._interrupted = e  # raised by the next call, after the finished items are kept
        return out

    def _cancel(self) -> None:
        self._todo.clear()
        self._interrupted = None


#: Seconds of work a sequential evaluator does before it hands back what finished.
_SLICE = 0.05


class _ContractError(ValueError):
    """The batch function broke its contract (a bug in it, not a failed candidate)."""


class BatchEvaluator(Evaluator):
    """Score whole chunks at once with a batch function (a torch model), on a CPU or GPU.

    Parameters
    ----------
    f : callable
        ``f(batch) -> values``: takes a chunk of at most ``max_batch`` candidates and returns one
        value per candidate (a tensor, array or list). Numeric batches arrive as a torch tensor on
        ``device``; other batches (strings) as a list.
    max_batch : int
        Largest chunk handed to ``f``. On a CUDA out-of-memory error the chunk is halved and
        retried (and ``max_batch`` lowered for later calls).
    device : str or torch.device, optional
        Default: ``"cuda"`` when available, else ``"cpu"``.
    dtype : torch.dtype, optional
        Dtype of numeric batches; default torch's default dtype (float32).
    raise_errors, cache, output
        See :class:`Evaluator`.

    Notes
    -----
    ``f`` runs under ``torch.inference_mode()``. A chunk whose call raises is split and retried
    item by item, so one bad candidate fails alone. torch is imported when this class is
    instantiated, never by ``import asktell``.

    Examples
    --------
    >>> ev = BatchEvaluator(lambda x: (x**2).sum(dim=1), max_batch=2, device="cpu")
    >>> ev(np.array([[1.0, 2.0], [3.0, 4.0], [0.5, 0.5]])).tolist()
    [5.0, 25.0, 0.5]
    """

    def __init__(
        self,
        f: Callable[[Any], Any],
        max_batch: int = 1024,
        device: Any = None,
        *,
        dtype: Any = None,
        raise_errors: bool = False,
        cache: bool | int = False,
        output: str = "scalar",
    ) -> None:
        super().__init__(f, raise_errors=raise_errors, cache=cache, output=output)
        if isinstance(max_batch, bool) or not isinstance(max_batch, int) or max_batch < 1:
            raise ValueError(f"max_batch must be a positive int, got {max_batch!r}")
        try:
            import torch
        except ImportError as e:
            raise ImportError('BatchEvaluator needs torch: pip install "asktell[torch]"') from e
        self._torch = torch
        self.max_batch = max_batch
        if device is None:
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = torch.device(device)
        self.dtype = dtype if dtype is not None else torch.get_default_dtype()
        self._blocks: deque[tuple[Sequence[Any] | np.ndarray, list[int]]] = deque()

    def _to_input(self, chunk: Any) -> Any:
        if isinstance(chunk, np.ndarray) and chunk.dtype.kind in "fiub":
            return self._torch.as_tensor(chunk, dtype=self.dtype, device=self.device)
        return list(chunk)

    def _call(self, chunk: Any) -> list[Any]:
        torch = self._torch
        with torch.inference_mode():
            out = self.f(self._to_input(chunk))
        if self.output == "object":
            vals = list(out)
        elif isinstance(out, torch.Tensor):
            vals = out.detach().to("cpu", torch.float64).reshape(-1).numpy().tolist()
        else:
            vals = np.asarray(out, dtype=np.float64).reshape(-1).tolist()
        if len(vals) != len(chunk):
            raise _ContractError(
                f"the batch function returned {len(vals)} values for {len(chunk)} candidates; "
                "it must return one value per candidate"
            )
        return vals

    @property
    def capacity(self) -> int:
        """Candidates scored at once: ``max_batch``."""
        return self.max_batch

    def _submit(self, items: Sequence[Any] | np.ndarray, keys: list[int]) -> None:
        self._blocks.append((items, keys))

    def _collect(self, timeout: float | None) -> list[Raw]:
        # One submitted block per call: it is scored in chunks of max_batch on the device.
        items, keys = self._blocks.popleft()
        t0 = time.perf_counter()
        values, errors = self._evaluate(items)
        seconds = (time.perf_counter() - t0) / max(1, len(keys))
        failed = {i: (t, m, tb) for i, t, m, tb in errors}
        return [(k, values[i], failed.get(i), seconds) for i, k in enumerate(keys)]

    def _cancel(self) -> None:
        self._blocks.clear()

    def _evaluate(self, items: Any) -> tuple[list[Any], list[RawError]]:
        values: list[Any] = []
        errors: list[RawError] = []
        n, start = len(items), 0
        oom = getattr(self._torch.cuda, "OutOfMemoryError", MemoryError)
        while start < n:
            stop = min(n, start + self.max_batch)
            chunk = items[start:stop]
            try:
                values.extend(self._call(chunk))
            except oom:
                if stop - start == 1:
                    if self.raise_errors:
                        raise
                    errors.append((start, "OutOfMemoryError", "one candidate does not fit", ""))
                    values.append(None)
                    start = stop
                    continue
                self.max_batch = max(1, (stop - start) // 2)
                log.warning("out of device memory; max_batch lowered to %d", self.max_batch)
                self._torch.cuda.empty_cache()
                continue
            except _ContractError:
                raise
            except Exception as e:
                if self.raise_errors:
                    raise
                if stop - start == 1:
                    errors.append((start, *_format(e)))
                    values.append(None)
                else:
                    for i in range(start, stop):
                        try:
                            values.extend(self._call(items[i : i + 1]))
                        except Exception as e1:
                            errors.append((i, *_format(e1)))
                            values.append(None)
            start = stop
        return values, errors
