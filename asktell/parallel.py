"""The parallel evaluator: candidates scored on worker processes (loky) or threads of this machine.

Each worker is a *lane*: a one-worker executor that holds at most one task at a time. A task is
one candidate, or a chunk of cheap ones (chunks are sized from the measured cost of an item, so
that a task takes about :data:`TARGET_TASK_SECONDS`). Because a lane runs one task at a time:

* results stream back task by task, so a run store keeps every finished evaluation and a killed
  run repeats at most the evaluations that were running;
* a worker that dies takes only its own task with it: the other lanes go on, finished results are
  kept, and the dead task is retried once on a fresh worker, item by item, before an item that
  kills its worker on its own is blamed (:class:`~asktell.WorkerDiedError`);
* an item over the per-evaluation ``timeout`` is ended (its worker process killed and replaced)
  and recorded as a ``TimeoutError``; the batch goes on.

The function is sent to each worker process once, with its first task, not with every task (a
large objective, such as one holding a distance matrix, would cost more to pickle than a chunk
costs to score). Workers limit their BLAS threads and exit by themselves within a second of the
driver's death (no orphans scoring for nobody). No temporary folders are made (candidates travel
by pickle).
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import math
import os
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .evaluators import Evaluator, Raw, RawError, WorkerDiedError, _format

__all__ = ["ParallelEvaluator"]

log = logging.getLogger(__name__)

#: Seconds of work one task aims at: cheap items are chunked up to this, expensive ones go alone.
TARGET_TASK_SECONDS = 0.02
#: Seconds between a worker's checks that the process that started it is alive.
WATCHDOG_SECONDS = 0.25
#: Seconds an idle worker process waits for work before it exits (a later call starts another).
IDLE_TIMEOUT = 300

BACKENDS = ("loky", "threading")


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(WATCHDOG_SECONDS)
        if os.getppid() != parent:
            os._exit(0)  # the driver died: nobody will read what this worker computes


#: Environment variables that cap the threads of BLAS and OpenMP libraries (those joblib sets in
#: its workers), read when a library loads.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def _worker_env(blas_threads: int | None) -> dict[str, str] | None:
    """A worker process's environment changes: its BLAS/OpenMP thread caps."""
    if blas_threads is None:
        return None
    return dict.fromkeys(THREAD_VARIABLES, str(blas_threads))


def _worker_init(parent: int) -> None:
    """Run once in each worker process: exit with the driver."""
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True,
                     name="asktell-watchdog").start()


#: In a worker process: the function last sent, by its evaluator's token. A function is sent to
#: a worker once, with its first task (pickling a large objective for every task would cost more
#: than scoring a chunk), and looked up here by the tasks after it.
_FUNCTIONS: dict[str, Callable[[Any], Any]] = {}


class _NeedFunction(LookupError):
    """The worker does not hold the function (loky replaced an idle worker): send it again."""


def _function(f: Callable[[Any], Any] | None, token: str) -> Callable[[Any], Any]:
    if f is not None:
        if token:
            _FUNCTIONS.clear()
            _FUNCTIONS[token] = f
        return f
    try:
        return _FUNCTIONS[token]
    except KeyError:
        raise _NeedFunction(token) from None


def _touch(f: Callable[[Any], Any] | None, token: str) -> int:
    """A new worker's ping: receiving ``f`` imports what it needs."""
    _function(f, token)
    return os.getpid()


def _run_chunk(
    f: Callable[[Any], Any] | None, items: Sequence[Any], raise_errors: bool, token: str = ""
) -> tuple[list[Any], list[RawError], list[float]]:
    """A task, as a worker runs it: score each item, keep failures and each item's seconds.

    ``f`` is None when the worker already holds it (under ``token``).
    """
    f = _function(f, token)
    out: list[Any] = []
    errs: list[RawError] = []
    secs: list[float] = []
    clock = time.perf_counter
    for i, x in enumerate(items):
        t0 = clock()
        try:
            out.append(f(x))
        except Exception as e:
            if raise_errors:
                raise
            errs.append((i, *_format(e)))
            out.append(None)
        secs.append(clock() - t0)
    return out, errs, secs


@dataclass
class _Task:
    keys: list[int]
    items: list[Any]
    retry: bool = False  # a retry after its worker died: runs alone, blamed if it dies again


class _Lane:
    """One worker and the one task it runs."""

    def __init__(self, backend: str, blas_threads: int | None, token: str) -> None:
        self.backend = backend
        self.blas_threads = blas_threads
        self.token = token
        self.executor: Any = None
        self.future: cf.Future[Any] | None = None
        self.task: _Task | None = None
        self.started = 0.0
        self.warming = False
        self.holds_f = False  # the worker process was sent the function

    def _send(self, f: Callable[[Any], Any]) -> Callable[[Any], Any] | None:
        """``f`` for the next task, or None where the worker already holds it (processes
        only: threads share one table, and need no pickling)."""
        if self.backend != "loky":
            return f
        if self.holds_f:
            return None
        self.holds_f = True
        return f

    def start(self, f: Callable[[Any], Any], task: _Task, raise_errors: bool,
              warm: bool = False) -> None:
        """Run ``task``; with ``warm``, a new worker first answers a ping, so that its start-up
        does not count against the task's timeout (the task is sent by :meth:`go`)."""
        fresh = self.executor is None
        if self.executor is None:
            self.holds_f = False
            if self.backend == "loky":
                from loky import ProcessPoolExecutor

                self.executor = ProcessPoolExecutor(
                    max_workers=1, timeout=IDLE_TIMEOUT, initializer=_worker_init,
                    initargs=(os.getpid(),), env=_worker_env(self.blas_threads))
            else:
                self.executor = cf.ThreadPoolExecutor(max_workers=1,
                                                      thread_name_prefix="asktell-eval")
        self.task = task
        self.started = time.monotonic()
        self.warming = fresh and warm
        if self.warming:  # loads f (and the modules it imports) before the clock starts
            self.future = self.executor.submit(_touch, self._send(f), self.token)
        else:
            self.future = self.executor.submit(_run_chunk, self._send(f), task.items,
                                               raise_errors, self.token)

    def go(self, f: Callable[[Any], Any], raise_errors: bool) -> None:
        """Send the task once the worker answered its ping."""
        assert self.task is not None
        self.warming = False
        self.started = time.monotonic()
        self.future = self.executor.submit(_run_chunk, self._send(f), self.task.items,
                                           raise_errors, self.token)

    def release(self) -> tuple[_Task, cf.Future[Any]]:
        task, fut = self.task, self.future
        assert task is not None and fut is not None
        self.task = self.future = None
        return task, fut

    def kill(self) -> None:
        """End the worker (and what it runs); the next task starts a new one."""
        ex, self.executor = self.executor, None
        self.task = self.future = None
        if ex is None:
            return
        try:
            if self.backend == "loky":
                ex.shutdown(wait=False, kill_workers=True)
            else:  # a thread cannot be killed: it is left to finish, its result ignored
                ex.shutdown(wait=False, cancel_futures=True)
        except Exception:  # a broken executor may fail to shut down; it is dropped either way
            log.debug("shutting a worker down failed", exc_info=True)

    def close(self) -> None:
        ex, self.executor = self.executor, None
        if ex is None:
            return
        busy = self.future is not None and not self.future.done()
        self.task = self.future = None
        try:
            if self.backend == "loky":
                ex.shutdown(wait=not busy, kill_workers=busy)
            else:
                ex.shutdown(wait=False, cancel_futures=True)
        except Exception:
            log.debug("shutting a worker down failed", exc_info=True)


class ParallelEvaluator(Evaluator):
    """Score candidates in parallel on worker processes (loky) or threads.

    Parameters
    ----------
    f : callable
        ``f(candidate) -> value``; with ``backend="loky"`` it must be picklable by cloudpickle
        (lambdas and closures are).
    n_workers : int, optional
        Worker count; default: the CPUs available (``os.cpu_count()``).
    backend : {"loky", "threading"}
        Worker processes (default), or threads of this process (for functions that release the
        GIL or wait on something else). For a cluster use :class:`asktell.DaskEvaluator`.
    chunks_per_worker : int
        Cheap items are sent in chunks; a batch is split into at least this many chunks per
        worker (more balances uneven costs at more dispatch overhead).
    blas_threads : int or None
        BLAS/OpenMP threads per worker process, 1 by default so that ``n_workers`` processes do
        not oversubscribe the CPUs; None leaves them. Set in the worker's environment
        (``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``, ... : :data:`THREAD_VARIABLES`) before
        any module loads, as joblib does.
    timeout : float, optional
        Seconds one evaluation may take: an item over it is a failure (``TimeoutError``), its
        worker process is killed and replaced, and the batch goes on. With a timeout each item
        is its own task. With ``backend="threading"`` the thread cannot be killed: it is left
        to finish and its result ignored.
    raise_errors, cache, output
        See :class:`~asktell.Evaluator`.

    Notes
    -----
    A worker that dies (segfault, ``os._exit``, killed for memory or by a user) costs only the
    task it was running; the other workers go on and finished results are kept. The dead task's
    items are retried once, each alone on a fresh worker; an item whose worker dies again gets a
    :class:`~asktell.WorkerDiedError` failure. ``n_workers=1`` without a timeout scores in this
    process.

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
        timeout: float | None = None,
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
        if backend == "dask":
            raise ValueError('backend="dask": use asktell.DaskEvaluator (or [evaluator] '
                             'name = "dask" in a config) to run on a Dask cluster')
        if not isinstance(backend, str) or backend not in BACKENDS:
            raise ValueError(f"backend must be one of {list(BACKENDS)}, got {backend!r}")
        if blas_threads is not None and (isinstance(blas_threads, bool)
                                         or not isinstance(blas_threads, int) or blas_threads < 1):
            raise ValueError(f"blas_threads must be a positive int or None, got {blas_threads!r}")
        if timeout is not None and (isinstance(timeout, bool)
                                    or not isinstance(timeout, (int, float))
                                    or not 0 < timeout < math.inf):
            raise ValueError(f"timeout must be a positive number of seconds or None, got "
                             f"{timeout!r}")
        self.backend = backend
        self.n_workers = int(n_workers or os.cpu_count() or 1)
        self.chunks_per_worker = chunks_per_worker
        self.blas_threads = blas_threads
        self.timeout = None if timeout is None else float(timeout)
        self._lanes: list[_Lane] = []
        self._todo: deque[_Task] = deque()
        self._item_seconds: float | None = None
        self._balanced = 1
        #: Workers replaced after they died or ran over the timeout.
        self.pool_restarts = 0
        #: Tasks (single items or chunks) sent to workers over the evaluator's life.
        self.n_tasks = 0
        self._token = uuid.uuid4().hex  # names the function in the worker processes

    @property
    def capacity(self) -> int:
        """Evaluations run at once: ``n_workers``."""
        return self.n_workers

    # ------------------------------------------------------------------ dispatch

    @property
    def _inline(self) -> bool:
        return self.n_workers == 1 and self.timeout is None

    def _submit(self, items: Any, keys: list[int]) -> None:
        self._todo.extend(_Task([k], [x]) for k, x in zip(keys, items, strict=True))
        # Chunks of the work queued now split evenly over the workers (and chunks_per_worker).
        self._balanced = -(-len(self._todo) // (self.n_workers * self.chunks_per_worker))
        if not self._inline:
            self._fill()

    def _chunk_size(self) -> int:
        if self.timeout is not None or self._item_seconds is None:
            return 1
        target = max(1, int(TARGET_TASK_SECONDS / max(self._item_seconds, 1e-9)))
        return max(1, min(target, self._balanced))

    def _next_task(self) -> _Task:
        first = self._todo.popleft()
        if first.retry:
            return first
        c = self._chunk_size()
        while len(first.keys) < c and self._todo and not self._todo[0].retry:
            t = self._todo.popleft()
            first.keys += t.keys
            first.items += t.items
        return first

    def _fill(self) -> None:
        if not self._lanes:
            self._lanes = [_Lane(self.backend, self.blas_threads, self._token)
                           for _ in range(self.n_workers)]
        for lane in self._lanes:
            if not self._todo:
                return
            if lane.task is None:
                task = self._next_task()
                self.n_tasks += 1
                warm = self.timeout is not None
                try:
                    lane.start(self.f, task, self.raise_errors, warm)
                except RuntimeError as e:  # the executor was shut down under us
                    if "shutdown" not in str(e):
                        raise
                    lane.kill()
                    lane.start(self.f, task, self.raise_errors, warm)

    def _collect(self, timeout: float | None) -> list[Raw]:
        if self._inline:
            return self._collect_inline()
        end = None if timeout is None else time.monotonic() + timeout
        while True:
            self._fill()
            busy = [lane for lane in self._lanes if lane.future is not None]
            if not busy:
                return []
            now = time.monotonic()
            wait = None if end is None else max(0.0, end - now)
            running = [lane.started for lane in busy if not lane.warming]
            if self.timeout is not None and running:
                first = min(running) + self.timeout - now
                wait = max(0.0, first) if wait is None else min(wait, max(0.0, first))
            done, _ = cf.wait([lane.future for lane in busy if lane.future is not None],
                              timeout=wait, return_when=cf.FIRST_COMPLETED)
            out: list[Raw] = []
            for lane in busy:
                if lane.future in done:
                    out.extend(self._harvest(lane))
            if self.timeout is not None:
                now = time.monotonic()
                for lane in busy:
                    if lane.future is not None and not lane.warming \
                            and now - lane.started > self.timeout:
                        out.extend(self._expire(lane))
            self._fill()
            if out or (end is not None and time.monotonic() >= end):
                return out

    def _collect_inline(self) -> list[Raw]:
        out: list[Raw] = []
        start = time.perf_counter()
        while self._todo and time.perf_counter() - start < TARGET_TASK_SECONDS:
            task = self._todo.popleft()
            vals, errs, secs = _run_chunk(self.f, task.items, self.raise_errors)
            out.extend(self._raw(task, vals, errs, secs))
        return out

    @staticmethod
    def _raw(task: _Task, vals: list[Any], errs: list[RawError],
             secs: list[float]) -> list[Raw]:
        failed = {i: (t, m, tb) for i, t, m, tb in errs}
        return [(k, vals[i], failed.get(i), secs[i]) for i, k in enumerate(task.keys)]

    def _harvest(self, lane: _Lane) -> list[Raw]:
        if lane.warming:
            assert lane.future is not None
            lane.future.result()  # a worker that cannot even start is not a candidate's fault
            lane.go(self.f, self.raise_errors)
            return []
        task, fut = lane.release()
        try:
            vals, errs, secs = fut.result()
        except _NeedFunction:  # loky replaced the idle worker: send the function with the task
            lane.holds_f = False
            self._todo.appendleft(task)
            return []
        except Exception as e:
            if not _is_worker_death(e):
                raise  # raise_errors, or a bug of ours: the caller cancels the rest
            _raise_if_unloadable(e, self.f)
            lane.kill()
            self.pool_restarts += 1
            return self._died(task, e)
        mean = sum(secs) / len(secs)
        self._item_seconds = mean if self._item_seconds is None else (
            0.7 * self._item_seconds + 0.3 * mean)
        return self._raw(task, vals, errs, secs)

    def _died(self, task: _Task, e: BaseException) -> list[Raw]:
        if not task.retry:
            log.warning("a worker died (%s: %s) scoring %d item(s); retrying each alone on a "
                        "new worker", type(e).__name__, e, len(task.keys))
            retries = [_Task([k], [x], retry=True) for k, x in zip(task.keys, task.items,
                                                                    strict=True)]
            self._todo.extendleft(reversed(retries))
            return []
        (key,) = task.keys
        if self.raise_errors:
            raise WorkerDiedError(f"the worker scoring item {key} died: {e}") from e
        err = WorkerDiedError(f"the worker scoring item {key} died twice, the second time "
                              f"alone: {type(e).__name__}: {e}")
        return [(key, None, _format(err), math.nan)]

    def _expire(self, lane: _Lane) -> list[Raw]:
        task, _ = lane.release()
        lane.kill()
        self.pool_restarts += 1
        (key,) = task.keys
        err = TimeoutError(f"the evaluation ran over the timeout of {self.timeout:g} s; its "
                           "worker was stopped")
        if self.raise_errors:
            raise err
        return [(key, None, _format(err), float(self.timeout or math.nan))]

    def _cancel(self) -> None:
        self._todo.clear()
        for lane in self._lanes:
            if lane.future is not None and not lane.future.done():
                lane.kill()
            lane.task = lane.future = None

    def close(self) -> None:
        """Stop the workers (a later call starts new ones).

        Without ``close``, idle workers exit after :data:`IDLE_TIMEOUT` seconds, and with the
        process that started them.
        """
        self._todo.clear()
        lanes, self._lanes = self._lanes, []
        if len(lanes) < 2 or self.backend != "loky":
            for lane in lanes:
                lane.close()
            return
        # Each close waits for its worker process to exit: wait for all at once.
        closers = [threading.Thread(target=lane.close, name="asktell-close") for lane in lanes]
        for t in closers:
            t.start()
        for t in closers:
            t.join()

    def __del__(self) -> None:
        try:
            if self._lanes:
                self.close()
        except Exception:
            pass

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_lanes"] = []
        state["_todo"] = deque()
        return state


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
