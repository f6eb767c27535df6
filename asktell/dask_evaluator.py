"""The Dask evaluator: candidates scored on a ``dask.distributed`` cluster, through its futures API.

:class:`DaskEvaluator` submits one Dask task per candidate (or per small chunk of cheap ones,
sized from the measured cost of an item) with ``Client.submit`` and streams the results back as
the tasks finish. Dask's scheduler does the scheduling: the evaluator keeps no queue of its own.

What happens when things go wrong:

* **A candidate raises**: its item fails with the exception (type, message, the worker's
  traceback); the batch goes on.
* **A worker dies** (killed, out of memory, its machine gone) while running tasks: Dask's
  scheduler reruns them on the other workers; the batch completes, nothing is lost or doubled.
* **A candidate kills its worker** every time it runs (a segfault, ``os._exit``): the scheduler
  gives up on it after ``distributed.scheduler.allowed-failures + 1`` dead workers and the item
  fails with ``KilledWorker`` and the scheduler's message; the batch goes on. (A chunk of cheap
  items that ends so is split, and its items are run again one by one.)
* **Every worker is gone**: the batch ends after ``lost_timeout`` seconds without a worker with a
  :class:`ClusterLostError` naming the scheduler. Losing the connection to the scheduler ends
  it at once with the same error.
* **An evaluation runs over** ``timeout``: its item fails with a ``TimeoutError`` and the worker
  thread moves on to the next task.

``distributed`` is imported when a :class:`DaskEvaluator` is made, never by ``import asktell``.
"""

from __future__ import annotations

import logging
import math
import os
import queue
import re
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .evaluators import Evaluator, Raw, RawError, _format

__all__ = ["ClusterLostError", "DaskEvaluator", "ObjectiveLoadError", "SchedulerUnreachableError"]

log = logging.getLogger(__name__)

#: Seconds of work one task aims at: cheap items are chunked up to this, expensive ones go alone.
TARGET_TASK_SECONDS = 0.05
#: Seconds :meth:`DaskEvaluator.results` waits for a finished task before it looks at the cluster.
POLL_SECONDS = 0.2
#: Seconds between two questions to the scheduler about its workers while waiting.
CHECK_SECONDS = 0.5
#: Default of ``lost_timeout``: seconds without any worker before a batch ends.
LOST_TIMEOUT = 30.0
#: Default of ``connect_timeout``: seconds to reach the scheduler (or see its file appear).
CONNECT_TIMEOUT = 10.0
#: Seconds after which a submission asks the scheduler again how many worker threads it has.
REFRESH_SECONDS = 5.0
#: Threads that fetch finished results from the workers.
FETCH_THREADS = 4


class ClusterLostError(RuntimeError):
    """The Dask cluster has had no worker for ``lost_timeout`` seconds, or its scheduler is gone."""


class SchedulerUnreachableError(ConnectionError, ValueError):
    """The Dask scheduler could not be reached (a wrong address, or no scheduler running there).

    Also a ``ValueError``: in a run configuration it is reported as a bad ``evaluator.scheduler``.
    """


class ObjectiveLoadError(RuntimeError):
    """A Dask worker could not load the objective (its module is not installed there)."""


# ---------------------------------------------------------------------------------- the workers

#: Worker side: objectives unpickled once per worker process, by the evaluator's token.
_OBJECTIVES: OrderedDict[str, Callable[[Any], Any]] = OrderedDict()
_OBJECTIVES_LOCK = threading.Lock()


def _objective(token: str, blob: bytes) -> Callable[[Any], Any]:
    with _OBJECTIVES_LOCK:
        known = _OBJECTIVES.get(token)
        if known is not None:
            _OBJECTIVES.move_to_end(token)
            return known
    import cloudpickle

    try:
        f: Callable[[Any], Any] = cloudpickle.loads(blob)
    except Exception as e:
        raise ObjectiveLoadError(
            f"a Dask worker could not load the objective: {type(e).__name__}: {e}; install "
            "its module (and asktell) in the workers' environment, or start the workers where "
            "it can be imported (PYTHONPATH)") from None
    with _OBJECTIVES_LOCK:
        _OBJECTIVES[token] = f
        while len(_OBJECTIVES) > 8:
            _OBJECTIVES.popitem(last=False)
    return f


def _call_with_timeout(f: Callable[[Any], Any], x: Any, timeout: float) -> Any:
    """``f(x)`` in a helper thread; a ``TimeoutError`` when it is not done within ``timeout``."""
    box: dict[str, Any] = {}
    done = threading.Event()

    def target() -> None:
        try:
            box["value"] = f(x)
        except BaseException as e:  # handed to the task's thread
            box["error"] = e
        finally:
            done.set()

    threading.Thread(target=target, daemon=True, name="asktell-evaluation").start()
    if not done.wait(timeout):
        raise TimeoutError(
            f"the evaluation ran over the timeout of {timeout:g} s; the worker moved on (the "
            "abandoned evaluation cannot be stopped: it runs to its end in the background and "
            "its result is dropped)")
    if "error" in box:
        raise box["error"]
    return box["value"]


def _run_task(
    token: str, blob: bytes, items: Sequence[Any], raise_errors: bool, timeout: float | None
) -> tuple[list[Any], list[RawError], list[float]]:
    """A task, as a Dask worker runs it: score each item, keep failures and each item's seconds."""
    f = _objective(token, blob)
    out: list[Any] = []
    errs: list[RawError] = []
    secs: list[float] = []
    clock = time.perf_counter
    for i, x in enumerate(items):
        t0 = clock()
        try:
            out.append(f(x) if timeout is None else _call_with_timeout(f, x, timeout))
        except Exception as e:
            if raise_errors:
                raise
            errs.append((i, *_format(e)))
            out.append(None)
        secs.append(clock() - t0)
    return out, errs, secs


def _make_task() -> Callable[..., Any]:
    # A function local to this one is pickled by value: a worker loads it without importing
    # asktell, so a worker without asktell reports an ImportError for the task. (A task
    # function it cannot unpickle stops the worker instead, and the cluster looks lost.)
    def asktell_task(*args: Any) -> Any:
        import importlib

        try:
            module = importlib.import_module("asktell.dask_evaluator")
        except ImportError as e:
            raise ImportError(f"this Dask worker cannot import asktell.dask_evaluator: {e}") \
                from None
        return module._run_task(*args)

    return asktell_task


_TASK = _make_task()


# ---------------------------------------------------------------------------------- the client


@dataclass
class _Task:
    keys: list[int]
    items: list[Any]


_ADDRESS = re.compile(r"[A-Za-z0-9_.\-\[\]:]+:\d+")


def _positive(name: str, value: Any, allow_none: bool) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not 0 < value < math.inf:
        raise ValueError(f"{name} must be a positive number of seconds"
                         f"{' or None' if allow_none else ''}, got {value!r}")
    return float(value)


class DaskEvaluator(Evaluator):
    """Score candidates on a Dask cluster (``dask.distributed``), one task per candidate.

    Parameters
    ----------
    f : callable
        ``f(candidate) -> value``. It is pickled (with cloudpickle) once and loaded once per
        worker process: the workers must be able to import what it refers to (asktell, and the
        module that defines it unless it is a lambda or a closure).
    scheduler : str, path-like or distributed.Client, optional
        Where the cluster is: a scheduler address (``"tcp://10.0.0.5:8786"``), or the path of the
        file that ``dask scheduler --scheduler-file FILE`` writes, or a ``Client`` you made
        (kept open by :meth:`close`). Default: the ``DASK_SCHEDULER_ADDRESS`` environment
        variable, else the default client of this process (``distributed.default_client()``).
    timeout : float, optional
        Seconds one evaluation may take, counted on the worker from its start (time queued does
        not count): an item over it fails with ``TimeoutError`` and the batch goes on. A Dask
        worker runs tasks in threads, and a thread cannot be killed: the evaluation is run in a
        helper thread of the worker and abandoned at the timeout (it runs to its end in the
        background, its result dropped) while the worker goes on with its next task. With a
        timeout each item is its own task.
    lost_timeout : float
        Seconds the cluster may have no worker at all while evaluations are in flight (30 by
        default) before the batch ends with a :class:`ClusterLostError`.
    connect_timeout : float
        Seconds to reach the scheduler (and to wait for a scheduler file to appear), 10 by
        default; then :class:`SchedulerUnreachableError`.
    raise_errors, cache, output
        See :class:`~asktell.Evaluator`.

    Raises
    ------
    ValueError
        If no scheduler is given and none can be found, or a timeout is not positive.
    SchedulerUnreachableError
        If the scheduler cannot be reached within ``connect_timeout``.
    ImportError
        If ``distributed`` is not installed (``pip install "asktell[dask]"``).

    Notes
    -----
    How many times a task may kill its worker before it is failed with ``KilledWorker`` is the
    *scheduler's* setting ``distributed.scheduler.allowed-failures`` (3 by default: a candidate
    that kills its worker then costs four workers). For evaluations that may crash start the
    scheduler with ``DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES=1`` (a task whose worker died
    is retried once before it is blamed) and ``DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION=1``
    and the workers with ``--nthreads 1`` (then a worker holds only the task it runs, and no
    other task is blamed for its death). See "Running on a cluster" in the user guide.

    Examples
    --------
    A cluster in this process (on a real cluster: ``scheduler="tcp://host:8786"``):

    >>> from distributed import Client, LocalCluster
    >>> cluster = LocalCluster(n_workers=1, processes=False, dashboard_address=None)
    >>> client = Client(cluster, set_as_default=False)
    >>> with DaskEvaluator(abs, scheduler=client) as ev:
    ...     ev([-1.0, 2.0, -3.0]).tolist()
    [1.0, 2.0, 3.0]
    >>> client.close(); cluster.close()
    """

    def __init__(
        self,
        f: Callable[[Any], Any],
        *,
        scheduler: Any = None,
        timeout: float | None = None,
        lost_timeout: float = LOST_TIMEOUT,
        connect_timeout: float = CONNECT_TIMEOUT,
        raise_errors: bool = False,
        cache: bool | int = False,
        output: str = "scalar",
    ) -> None:
        super().__init__(f, raise_errors=raise_errors, cache=cache, output=output)
        self.timeout = _positive("timeout", timeout, allow_none=True)
        self.lost_timeout = float(_positive("lost_timeout", lost_timeout, allow_none=False) or 0)
        self.connect_timeout = float(_positive("connect_timeout", connect_timeout,
                                               allow_none=False) or 0)
        try:
            import distributed
        except ImportError as e:
            raise ImportError('DaskEvaluator needs dask.distributed: pip install '
                              '"asktell[dask]"') from e
        if scheduler is not None and not isinstance(scheduler, (str, os.PathLike,
                                                                distributed.Client)):
            raise TypeError(
                "scheduler must be an address (\"tcp://host:port\"), the path of a scheduler "
                f"file, or a distributed.Client; got {type(scheduler).__name__} "
                f"({scheduler!r:.60})")
        import cloudpickle

        try:
            self._blob: bytes = cloudpickle.dumps(f)
        except Exception as e:
            raise TypeError(f"f must be picklable (by cloudpickle) to be sent to Dask workers; "
                            f"{f!r} is not: {type(e).__name__}: {e}") from None
        self._token = uuid.uuid4().hex[:12]
        self._spec: tuple[str, Any] = self._resolve(scheduler, distributed)
        self._client: Any = None
        self._own_client = False
        self._running: dict[str, tuple[_Task, Any]] = {}
        self._done: queue.SimpleQueue[tuple[Any, tuple[str, Any]]] = queue.SimpleQueue()
        self._fetcher: ThreadPoolExecutor | None = None
        self._seq = 0
        self._item_seconds: float | None = None
        self._nthreads = 0
        self._last_check = -math.inf
        self._no_workers_since: float | None = None
        #: Tasks that ended with ``KilledWorker`` over the evaluator's life.
        self.killed_workers = 0
        #: The scheduler's address, once connected.
        self.scheduler = ""
        self._connect()

    # ------------------------------------------------------------------ connection

    def _resolve(self, scheduler: Any, distributed: Any) -> tuple[str, Any]:
        """("client", Client) | ("address", str) | ("file", Path)."""
        if scheduler is None:
            env = os.environ.get("DASK_SCHEDULER_ADDRESS", "").strip()
            if env:
                scheduler = env
        if scheduler is None:
            try:
                return "client", distributed.default_client()
            except ValueError:
                raise ValueError(
                    "scheduler: no Dask scheduler given: pass scheduler=\"tcp://host:port\" or "
                    "the path of the file written by `dask scheduler --scheduler-file FILE` "
                    "(in a config: [evaluator] scheduler = ...), set DASK_SCHEDULER_ADDRESS, or "
                    "create a distributed.Client first") from None
        if isinstance(scheduler, distributed.Client):
            return "client", scheduler
        if isinstance(scheduler, os.PathLike):
            return "file", Path(scheduler)
        text = str(scheduler).strip()
        if not text:
            raise ValueError("scheduler must be an address (\"tcp://host:port\") or the path of "
                             "a scheduler file, got an empty string")
        if "://" in text or (_ADDRESS.fullmatch(text) and not Path(text).exists()):
            return "address", text
        return "file", Path(text).expanduser()

    def _connect(self) -> None:
        import distributed

        Client: Any = distributed.Client
        kind, where = self._spec
        if kind == "client":
            self._client, self._own_client = where, False
            self.scheduler = str(where.scheduler.address)
            return
        t = self.connect_timeout
        if kind == "file":
            deadline = time.monotonic() + t
            while not where.is_file():
                if time.monotonic() >= deadline:
                    raise SchedulerUnreachableError(
                        f"scheduler file {str(where)!r} not found (waited {t:g} s): expected an "
                        "address like \"tcp://host:port\" or the file written by `dask "
                        "scheduler --scheduler-file FILE`")
                time.sleep(0.05)
        what = f"{'scheduler file ' if kind == 'file' else ''}{str(where)!r}"
        try:
            if kind == "file":
                client = Client(scheduler_file=str(where), timeout=t, set_as_default=False)
            else:
                client = Client(where, timeout=t, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as e:  # asyncio.TimeoutError is TimeoutError
            raise SchedulerUnreachableError(
                f"scheduler {what} cannot be reached within {t:g} s ({type(e).__name__}: "
                f"{e}); is `dask scheduler` running there?") from None
        self._client, self._own_client = client, True
        self.scheduler = str(getattr(client.scheduler, "address", where))
        log.info("connected to the Dask scheduler at %s", self.scheduler)

    @property
    def client(self) -> Any:
        """The ``distributed.Client`` in use (connecting again after :meth:`close`)."""
        if self._client is None:
            self._connect()
        return self._client

    @property
    def capacity(self) -> int:
        """Evaluations run at once: the cluster's worker threads (:attr:`n_workers`)."""
        return self.n_workers

    @property
    def n_workers(self) -> int:
        """The cluster's worker threads now (at least 1): what an asynchronous run keeps in
        flight by default. Asks the scheduler at most every :data:`CHECK_SECONDS`."""
        if self._client is not None and time.monotonic() - self._last_check > CHECK_SECONDS:
            self._count_threads()
        return max(1, self._nthreads)

    # ------------------------------------------------------------------ dispatch

    def _chunk_size(self, n: int) -> int:
        if self.timeout is not None or self._item_seconds is None:
            return 1
        target = max(1, int(TARGET_TASK_SECONDS / max(self._item_seconds, 1e-9)))
        balanced = -(-n // (2 * max(1, self._nthreads)))
        return max(1, min(target, balanced))

    def _submit(self, items: Sequence[Any] | Any, keys: list[int]) -> None:
        client = self.client
        if self._fetcher is None:
            self._fetcher = ThreadPoolExecutor(FETCH_THREADS,
                                               thread_name_prefix="asktell-dask-fetch")
        if not self._running:
            self._no_workers_since = None
        if time.monotonic() - self._last_check > REFRESH_SECONDS:
            self._count_threads()
        c = self._chunk_size(len(keys))
        for start in range(0, len(keys), c):
            idx = range(start, min(start + c, len(keys)))
            self._start(client, _Task([keys[i] for i in idx], [items[i] for i in idx]))

    def _start(self, client: Any, task: _Task) -> None:
        self._seq += 1
        name = f"asktell-{self._token}-{self._seq}"
        fut = client.submit(_TASK, self._token, self._blob, task.items, self.raise_errors,
                            self.timeout, key=name, retries=0)
        self._running[name] = (task, fut)
        fut.add_done_callback(self._on_done)

    def _on_done(self, fut: Any) -> None:
        """Runs in Dask's callback thread: fetch the result in a thread of ours (a fetch waits
        while Dask recomputes a result lost with its worker, and must not block the others)."""
        fetcher = self._fetcher
        if fetcher is None:
            return  # closed: nobody waits for this result
        try:
            fetcher.submit(self._fetch, fut)
        except RuntimeError:  # shut down meanwhile
            pass

    def _fetch(self, fut: Any) -> None:
        try:
            outcome: tuple[str, Any] = ("ok", fut.result())
        except BaseException as e:  # the task's own error, or fetching failed
            outcome = ("error" if fut.status == "error" else "failed", e)
        self._done.put((fut, outcome))

    def _collect(self, timeout: float | None) -> list[Raw]:
        end = None if timeout is None else time.monotonic() + timeout
        while self._running:
            wait = POLL_SECONDS if end is None else max(0.0, min(POLL_SECONDS,
                                                                 end - time.monotonic()))
            done = []
            try:
                done.append(self._done.get(timeout=wait))
                while True:
                    done.append(self._done.get_nowait())
            except queue.Empty:
                pass
            out: list[Raw] = []
            for fut, outcome in done:
                out.extend(self._harvest(fut, *outcome))
            if out:
                return out
            self._check_cluster()
            if end is not None and time.monotonic() >= end:
                return []
        return []

    def _harvest(self, fut: Any, how: str, what: Any) -> list[Raw]:
        entry = self._running.get(fut.key)
        if entry is None or entry[1] is not fut:
            return []  # cancelled by us
        task = entry[0]
        if how == "failed":  # not the task's doing: the scheduler, a worker or a user
            reason = f"{type(what).__name__}: {what}"
            if getattr(self._client, "status", "") != "running" \
                    or "connection-lost" in reason or "lost the connection" in reason:
                raise ClusterLostError(
                    f"lost the connection to the Dask scheduler at {self.scheduler} with "
                    f"{len(self._running)} tasks in flight ({reason})")
            if fut.status != "cancelled":
                # Its result went with a dead worker: Dask computes it again.
                log.info("fetching a result failed (%s); waiting for it again", reason)
                fut.add_done_callback(self._on_done)
                return []
            del self._running[fut.key]
            err = ("CancelledError", f"the task was cancelled on the cluster ({reason})", "")
            return [(k, None, err, math.nan) for k in task.keys]
        del self._running[fut.key]
        if how == "error":
            if type(what).__name__ == "KilledWorker":
                return self._killed(task, what)
            if isinstance(what, ImportError) and not self.raise_errors:
                # _run_task catches the objective's own errors: this is the task's loading
                raise ObjectiveLoadError(
                    f"a Dask worker could not load asktell's task: {type(what).__name__}: "
                    f"{what}; install asktell (the same version) and the objective's module "
                    "in the workers' environment") from what
            raise what
        vals, errs, secs = what
        mean = sum(secs) / max(1, len(secs))
        self._item_seconds = mean if self._item_seconds is None else (
            0.7 * self._item_seconds + 0.3 * mean)
        failed = {i: (t, m, tb) for i, t, m, tb in errs}
        return [(k, vals[i], failed.get(i), secs[i]) for i, k in enumerate(task.keys)]

    def _killed(self, task: _Task, exc: BaseException) -> list[Raw]:
        self.killed_workers += 1
        if len(task.keys) > 1:
            log.warning("a chunk of %d items killed its Dask workers; running each alone",
                        len(task.keys))
            client = self.client
            for k, x in zip(task.keys, task.items, strict=True):
                self._start(client, _Task([k], [x]))
            return []
        (key,) = task.keys
        if self.raise_errors:
            raise exc
        log.warning("item %d killed its Dask workers: %s", key, exc)
        return [(key, None, ("KilledWorker", str(exc), ""), math.nan)]

    def _count_threads(self) -> int:
        """The worker threads of the cluster (0 when the scheduler does not answer)."""
        self._last_check = time.monotonic()
        try:
            n = int(sum(self._client.nthreads(callback_timeout=CHECK_SECONDS * 4).values()))
        except Exception as e:  # the scheduler does not answer: no worker we can use
            log.debug("asking the scheduler for its workers failed: %s", e)
            n = 0
        if n > 0:
            self._nthreads = n
            self._no_workers_since = None
        return n

    def _check_cluster(self) -> None:
        """Raise :class:`ClusterLostError` after ``lost_timeout`` seconds without a worker."""
        now = time.monotonic()
        if now - self._last_check < CHECK_SECONDS or self._count_threads() > 0:
            return
        if self._no_workers_since is None:
            self._no_workers_since = now
            log.warning("the Dask cluster at %s has no workers; waiting up to %g s for one",
                        self.scheduler, self.lost_timeout)
        elif now - self._no_workers_since >= self.lost_timeout:
            raise ClusterLostError(
                f"the Dask cluster at {self.scheduler} has had no workers for "
                f"{self.lost_timeout:g} s (lost_timeout) with {len(self._running)} tasks in "
                "flight; start workers (dask worker ...) and resume the run")

    # ------------------------------------------------------------------ the end

    def _cancel(self) -> None:
        running, self._running = self._running, {}
        while True:
            try:
                self._done.get_nowait()
            except queue.Empty:
                break
        if running and self._client is not None:
            try:
                self._client.cancel([fut for _, fut in running.values()], force=True)
            except Exception:  # the cluster may be gone: nothing is left to cancel then
                log.debug("cancelling Dask tasks failed", exc_info=True)

    def close(self) -> None:
        """Cancel what is in flight and close the client this evaluator made (not yours)."""
        self._cancel()
        fetcher, self._fetcher = self._fetcher, None
        if fetcher is not None:
            fetcher.shutdown(wait=False)
        client, self._client = self._client, None
        if client is not None and self._own_client:
            try:
                client.close(timeout=self.connect_timeout)
            except Exception:
                log.debug("closing the Dask client failed", exc_info=True)

    def __del__(self) -> None:
        try:
            if self._client is not None and self._own_client:
                self.close()
        except Exception:
            pass

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        if self._spec[0] == "client":
            state["_spec"] = ("address", self.scheduler)
        state.update(_client=None, _own_client=False, _running={}, _done=None,
                     _fetcher=None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._done = queue.SimpleQueue()

    def __repr__(self) -> str:
        return f"DaskEvaluator({self.f!r}, scheduler={self.scheduler!r})"
