"""Evaluators: score a batch of candidates, sequentially, in parallel, or as one tensor batch.

An evaluator is called with the batch that :meth:`asktell.Optimiser.ask` returned and returns
what :meth:`asktell.Optimiser.tell` takes: one value per candidate, in order.

* Every call returns one :class:`~asktell.Evaluation` record: the values, a tuple of
  :class:`~asktell.EvaluationError` (index, exception type, message) and optional extra columns.
  Nothing is read off the evaluator afterwards.
* One failing item never loses the batch: it gets the failure value (NaN, or None for
  ``output="object"``) and its error in the record; ``raise_errors=True`` re-raises instead.
* ``cache=True`` (or a maximum size) scores identical candidates once, within and across batches.

:class:`ParallelEvaluator` runs on joblib: one task per worker-sized chunk (not one per point),
persistent workers, BLAS threads limited per worker. joblib's backends are the road past one
machine: ``backend="dask"`` runs the same code on a ``dask.distributed`` cluster, ``"ray"`` on Ray.
:class:`BatchEvaluator` hands whole chunks to a function that scores many candidates at once (a
torch model), on a CPU or GPU.
"""

from __future__ import annotations

import abc
import itertools
import logging
import numbers
import os
import traceback
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from .evaluation import Evaluation, EvaluationError

__all__ = [
    "BatchEvaluator",
    "EvaluationError",
    "Evaluator",
    "ParallelEvaluator",
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


#: A failure as workers send it back: (index in the chunk, type, message, traceback).
RawError = tuple[int, str, str, str]


def _format(exc: BaseException) -> tuple[str, str, str]:
    return (
        type(exc).__name__,
        str(exc),
        "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
    )


def _call_items(
    f: Callable[[Any], Any], items: Sequence[Any], raise_errors: bool
) -> tuple[list[Any], list[RawError]]:
    """Score items one by one, keeping failures (runs in workers)."""
    out: list[Any] = []
    errs: list[RawError] = []
    for i, x in enumerate(items):
        try:
            out.append(f(x))
        except Exception as e:
            if raise_errors:
                raise
            errs.append((i, *_format(e)))
            out.append(None)
    return out, errs


_THREADS_LIMITED: int | None = None


def _worker_chunk(
    f: Callable[[Any], Any], items: Sequence[Any], raise_errors: bool, blas_threads: int | None
) -> tuple[list[Any], list[RawError]]:
    """Task run by a parallel worker: limit BLAS threads once per process, score a chunk."""
    global _THREADS_LIMITED
    if blas_threads is not None and _THREADS_LIMITED != blas_threads:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=blas_threads)
        _THREADS_LIMITED = blas_threads
    return _call_items(f, items, raise_errors)


def _cache_key(x: Any) -> Hashable | None:
    if isinstance(x, np.ndarray):
        return (x.dtype.str, x.shape, x.tobytes())
    try:
        hash(x)
    except TypeError:
        return None
    key: Hashable = x
    return key


class Evaluator(abc.ABC):
    """Base of the evaluators: caching, failure bookkeeping and value conversion.

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
        if self._cache_size == 0:
            todo = list(range(n))
            keys: list[Any] = []
        else:
            keys = [_cache_key(candidates[i]) for i in range(n)]
            todo, first = [], {}
            for i, k in enumerate(keys):
                if k is not None and (k in self._cache or k in first):
                    continue
                if k is not None:
                    first[k] = i
                todo.append(i)
        if len(todo) == n:
            items = candidates
        elif isinstance(candidates, np.ndarray):
            items = candidates[todo]
        else:
            items = [candidates[i] for i in todo]
        raw, errs = self._evaluate(items) if len(todo) else ([], [])
        self.n_evaluated += len(todo)
        values: list[Any] = [None] * n
        errors = [EvaluationError(todo[j], t, m, tb) for j, t, m, tb in errs]
        failed = {j for j, _, _, _ in errs}
        for j, i in enumerate(todo):
            if j in failed:
                continue
            v = raw[j]
            if self.output == "scalar":
                v = self._to_float(v)
                if isinstance(v, EvaluationError):
                    errors.append(EvaluationError(i, v.type, v.message, v.traceback))
                    continue
            values[i] = v
        if self._cache_size != 0:
            self._use_cache(keys, todo, values, errors)
        errors.sort(key=lambda e: e.index)
        if errors and self.raise_errors:
            raise RuntimeError(f"item {errors[0].index} failed: {errors[0].error}")
        if errors:
            # The first failing batch is worth a warning; later ones are in the records.
            level = logging.INFO if self._warned else logging.WARNING
            self._warned = True
            log.log(level, "%d of %d evaluations failed; first: item %d: %s",
                    len(errors), n, errors[0].index, errors[0].error)
        if self.output == "scalar":
            return Evaluation(np.array([np.nan if v is None else v for v in values],
                                       dtype=np.float64), tuple(errors))
        return Evaluation(tuple(values), tuple(errors))

    def _use_cache(
        self, keys: list[Any], todo: list[int], values: list[Any],
        errors: list[EvaluationError],
    ) -> None:
        """Store new successes; fill repeated candidates from the cache (or copy the failure of
        the copy that was scored)."""
        cache = self._cache
        failed = {e.index: e for e in errors}
        failed_by_key = {keys[i]: e for i, e in failed.items()}
        for i in todo:
            k = keys[i]
            if k is not None and i not in failed:
                cache[k] = values[i]
        scored = set(todo)
        for i, k in enumerate(keys):
            if i in scored:
                continue
            if k in cache:
                values[i] = cache[k]
                cache.move_to_end(k)
                self.cache_hits += 1
            else:  # a repeat of a candidate that failed in this batch
                e = failed_by_key[k]
                errors.append(EvaluationError(i, e.type, e.message, e.traceback))
        if self._cache_size is not None:
            while len(cache) > self._cache_size:
                cache.popitem(last=False)

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
        if self._cache_size is not None:
            while len(cache) > self._cache_size:
                cache.popitem(last=False)

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

    @abc.abstractmethod
    def _evaluate(self, items: Any) -> tuple[list[Any], list[RawError]]:
        """Score ``items``; return (raw values, [(index, error, traceback), ...])."""

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

    def _evaluate(self, items: Sequence[Any]) -> tuple[list[Any], list[RawError]]:
        return _call_items(self.f, items, self.raise_errors)


class ParallelEvaluator(Evaluator):
    """Score candidates in parallel through joblib.

    Each call splits the batch into ``n_workers * chunks_per_worker`` contiguous chunks and sends
    one task per chunk (per-point tasks cost ~0.75 ms each here). Workers persist across calls
    until :meth:`close`.

    Parameters
    ----------
    f : callable
        ``f(candidate) -> value``; must be picklable by cloudpickle (lambdas and closures are).
    n_workers : int, optional
        Worker count; default: the CPUs available (``os.cpu_count()``). With
        ``backend="dask"`` or ``"ray"``, the cluster's worker count is used when omitted.
    backend : str
        A joblib backend: ``"loky"`` (processes, default), ``"threading"``, ``"multiprocessing"``,
        ``"dask"`` (needs a ``distributed.Client``), or ``"ray"``.
    chunks_per_worker : int
        Chunks per worker and call; more balances uneven costs at more dispatch overhead.
    blas_threads : int or None
        BLAS/OpenMP threads per worker (set once per worker with threadpoolctl), 1 by default
        so that ``n_workers`` processes do not oversubscribe the CPUs. None leaves them alone.
    raise_errors, cache, output
        See :class:`Evaluator`.

    Notes
    -----
    A worker that dies (segfault, ``os._exit``, killed for memory) breaks the pool. The chunks
    already returned are kept; the pool is rebuilt and the remaining items are scored one per
    task, so the item that kills its worker is identified: it gets a :class:`WorkerDiedError`
    failure, and the others their values. Items that were being scored when the worker died are
    scored again.

    Examples
    --------
    >>> with ParallelEvaluator(abs, n_workers=2) as ev:
    ...     ev([-1.0, 2.0, -3.0]).tolist()
    [1.0, 2.0, 3.0]
    """

    def __init__(
        self,
        f: Callable[[Any], Any],
        n_workers: int | None = None,
        *,
        backend: str = "loky",
        chunks_per_worker: int = 1,
        blas_threads: int | None = 1,
        raise_errors: bool = False,
        cache: bool | int = False,
        output: str = "scalar",
    ) -> None:
        super().__init__(f, raise_errors=raise_errors, cache=cache, output=output)
        if n_workers is not None and (isinstance(n_workers, bool)
                                      or not isinstance(n_workers, int) or n_workers < 1):
            raise ValueError(f"n_workers must be a positive int or None, got {n_workers!r}")
        if isinstance(chunks_per_worker, bool) or not isinstance(chunks_per_worker, int) \
                or chunks_per_worker < 1:
            raise ValueError(f"chunks_per_worker must be a positive int, got {chunks_per_worker}")
        if not isinstance(backend, str) or backend not in _known_backends():
            raise ValueError(f"backend must be one of {sorted(_known_backends())}, got "
                             f"{backend!r}")
        if blas_threads is not None and (isinstance(blas_threads, bool)
                                         or not isinstance(blas_threads, int) or blas_threads < 1):
            raise ValueError(f"blas_threads must be a positive int or None, got {blas_threads!r}")
        if backend == "ray":
            try:
                from ray.util.joblib import register_ray
            except ImportError as e:
                raise ImportError(
                    'backend="ray" needs Ray: pip install "asktell[ray]"'
                ) from e
            register_ray()
        elif backend == "dask":
            try:
                import distributed
            except ImportError as e:
                raise ImportError(
                    'backend="dask" needs dask.distributed: pip install "asktell[dask]"'
                ) from e
            if n_workers is None:
                client = distributed.get_client()
                n_workers = max(1, sum(client.nthreads().values()))  # type: ignore[no-untyped-call]
        self.backend = backend
        self.n_workers = int(n_workers or os.cpu_count() or 1)
        self.chunks_per_worker = chunks_per_worker
        self.blas_threads = blas_threads
        self._parallel: Any = None
        self._executor: Any = None
        #: Number of times the worker pool was rebuilt after a worker died.
        self.pool_restarts = 0

    def _chunks(self, n: int) -> list[tuple[int, int]]:
        k = min(n, self.n_workers * self.chunks_per_worker)
        edges = np.linspace(0, n, k + 1).round().astype(int)
        return [(int(a), int(b)) for a, b in itertools.pairwise(edges) if b > a]

    def _loky(self) -> Any:
        if self._executor is None:
            from joblib.executor import get_memmapping_executor

            self._executor = get_memmapping_executor(self.n_workers, timeout=_IDLE_TIMEOUT)
        return self._executor

    def _run(self, chunks: list[Sequence[Any]]) -> Iterator[Any]:
        """Score chunks on the pool; yield each chunk's result, in order."""
        args = (self.raise_errors, self.blas_threads)
        if self.backend == "loky":
            # joblib's own reusable (memmapping) loky executor, the one joblib.Parallel uses:
            # ~0.3 ms per task here, where a joblib.Parallel call costs ~10 ms whatever it runs.
            try:
                futures = [self._loky().submit(_worker_chunk, self.f, c, *args) for c in chunks]
            except RuntimeError as e:  # shut down by someone else (joblib, another evaluator)
                if "shutdown" not in str(e):
                    raise
                self._executor = None
                futures = [self._loky().submit(_worker_chunk, self.f, c, *args) for c in chunks]
            for fut in futures:
                yield fut.result()
        else:
            from joblib import Parallel, delayed, parallel_config

            if self._parallel is None:
                # parallel_config registers joblib's external backends (dask) on first use.
                with parallel_config(backend=self.backend, n_jobs=self.n_workers):
                    self._parallel = Parallel(return_as="generator")
                self._parallel.__enter__()
            yield from self._parallel(delayed(_worker_chunk)(self.f, c, *args) for c in chunks)

    def _evaluate(self, items: Sequence[Any]) -> tuple[list[Any], list[RawError]]:
        n = len(items)
        if self.n_workers == 1 and self.backend in ("loky", "threading", "multiprocessing"):
            return _call_items(self.f, items, self.raise_errors)
        spans = self._chunks(n)
        values: list[Any] = []
        errors: list[RawError] = []
        done = 0
        try:
            for (a, _), (vals, errs) in zip(spans, self._run([items[a:b] for a, b in spans])):
                values.extend(vals)
                errors.extend((a + i, t, m, tb) for i, t, m, tb in errs)
                done = len(values)
        except Exception as e:
            if not _is_worker_death(e):
                raise
            _raise_if_unloadable(e, self.f)
            log.warning("a worker died (%s); rebuilding the pool and isolating items", e)
            self._rebuild()
            for i in range(done, n):
                v, errs = self._isolated(items, i)
                values.append(v)
                errors.extend((i, t, m, tb) for _, t, m, tb in errs)
        return values, errors

    def _isolated(self, items: Sequence[Any], i: int) -> tuple[Any, list[RawError]]:
        try:
            ((vals, errs),) = list(self._run([items[i : i + 1]]))
            return vals[0], errs
        except Exception as e:
            if not _is_worker_death(e):
                raise
            _raise_if_unloadable(e, self.f)
            self._rebuild()
            if self.raise_errors:
                raise WorkerDiedError(f"the worker scoring item {i} died: {e}") from e
            err = WorkerDiedError(f"the worker scoring item {i} died: {type(e).__name__}: {e}")
            return None, [(0, *_format(err))]

    def _rebuild(self) -> None:
        self.pool_restarts += 1
        self.close()

    def close(self) -> None:
        """Shut the worker pool down (a later call starts a new one).

        The loky pool is joblib's process-wide one: joblib and other evaluators start a new one
        when they next need it. Without ``close``, idle workers end after 120 s.
        """
        ex, self._executor = self._executor, None
        if ex is not None:
            try:
                ex.shutdown(wait=True)
            except Exception:  # a broken pool may fail to shut down; it is dropped either way
                log.debug("shutting a broken pool down failed", exc_info=True)
        if self._parallel is not None:
            p, self._parallel = self._parallel, None
            try:
                p.__exit__(None, None, None)
            except Exception:  # a broken pool may fail to close; it is dropped either way
                log.debug("closing a broken pool failed", exc_info=True)

    def __del__(self) -> None:
        try:
            if self._parallel is not None:
                self.close()
        except Exception:
            pass

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_parallel"] = None
        state["_executor"] = None
        return state


_IDLE_TIMEOUT = 120


def _known_backends() -> set[str]:
    """joblib's registered backends, and the external ones joblib registers on first use."""
    from joblib.parallel import BACKENDS

    return set(BACKENDS) | {"dask", "ray"}


def _raise_if_unloadable(e: BaseException, f: Callable[..., Any]) -> None:
    """A task that workers cannot unpickle is a usage error, not a dying worker."""
    if "un-serialize" in str(e) or "unpickl" in str(e).lower():
        raise TypeError(
            f"the worker processes could not load the task (the function {f!r} or the "
            "candidates): define the function in an importable module, or make it and its "
            f"data picklable. loky said: {e}"
        ) from e


def _is_worker_death(e: BaseException) -> bool:
    names = {c.__name__ for c in type(e).__mro__}
    return bool(names & {"TerminatedWorkerError", "BrokenProcessPool", "BrokenExecutor"})


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
        if not isinstance(max_batch, int) or max_batch < 1:
            raise ValueError(f"max_batch must be a positive int, got {max_batch!r}")
        self._torch = torch
        self.max_batch = max_batch
        if device is None:
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = torch.device(device)
        self.dtype = dtype if dtype is not None else torch.get_default_dtype()

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

    def _evaluate(self, items: Sequence[Any]) -> tuple[list[Any], list[RawError]]:
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
