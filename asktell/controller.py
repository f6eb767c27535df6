"""The run controller: drives ask → evaluate → tell with stopping rules, callbacks and a store."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import async_run, serialization
from .evaluation import Evaluation, EvaluationError, as_evaluation
from .evaluators import Evaluator, Finished, take
from .protocol import AskTell, Told
from .stopping import StoppingRules, StopTracker
from .store import RunStore, StoredEvaluation, batch_best

__all__ = ["Controller", "IterationInfo", "ReplayError", "RunResult"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IterationInfo:
    """What a callback receives after each told batch.

    Attributes
    ----------
    iteration, evaluations : int
        Batches and values told so far.
    candidates : batch
        The batch just told.
    values : ndarray
        Its recorded values (NaN for failures).
    xbest : candidate
        Best candidate so far.
    fbest : float
        Best value so far.
    elapsed : float
        Seconds since the run started (across resumes).
    optimiser : AskTell
        The method (read it, do not ask or tell it).
    evaluation : Evaluation or None
        What the evaluator returned for the batch (errors, extra columns).
    extras : mapping
        The method's per-batch extras (see :class:`asktell.Told`).
    """

    iteration: int
    evaluations: int
    candidates: Any
    values: np.ndarray
    xbest: Any
    fbest: float
    elapsed: float
    optimiser: AskTell
    evaluation: Evaluation | None = None
    extras: Any = field(default_factory=dict)


@dataclass(frozen=True)
class RunResult:
    """The outcome of :meth:`Controller.run`.

    Attributes
    ----------
    xbest, fbest
        Best candidate and value.
    iterations, evaluations, failures : int
        Totals over the whole run (across resumes).
    stop_reason : dict
        The rule that stopped the run and its setting, e.g. ``{"max_iterations": 500}``.
    elapsed : float
        Seconds, across resumes.
    run_dir : Path or None
        The run directory when a store was used.
    """

    xbest: Any
    fbest: float
    iterations: int
    evaluations: int
    failures: int
    stop_reason: dict[str, Any]
    elapsed: float
    run_dir: Path | None = field(default=None)


Callback = Callable[[IterationInfo], Any]


def _no_stop() -> None:
    return None


class ReplayError(RuntimeError):
    """Resuming a run, the method asked other candidates than those stored: it, its arguments
    or the code changed since the run was written."""


class Controller:
    """Run an ask/tell method to a stop.

    Parameters
    ----------
    optimiser : AskTell
        What asks and is told (an :class:`~asktell.Optimiser` or an
        :class:`~asktell.Estimator`).
    evaluate : Evaluator or callable
        Scores a whole batch: ``evaluate(batch)`` returns an :class:`~asktell.Evaluation` (every
        asktell evaluator and reward does) or one value per candidate.
    stop : StoppingRules or dict, optional
        Stopping rules; by default only the method's own :meth:`~asktell.AskTell.stop`.
    callbacks : iterable of callables
        Each is called with an :class:`IterationInfo` after every batch; a callback that returns
        a truthy value stops the run (with reason ``{"callback": value}``).
    store : RunStore, optional
        Append every batch to this run store, with a checkpoint of the full state now and then
        (crash-safe resume).
    progress : bool or None
        Show a tqdm progress bar; None shows it only on a terminal.
    log_every : int
        Log a line at INFO level every this many batches (0: never).
    checkpoint_every : int
        With a store: write the method's full state at least every this many batches.
    checkpoint_seconds : float
        With a store: and at least every this many seconds. A resume replays the batches told
        after the last checkpoint (asks them again and tells the stored results), so these bound
        the work a resume repeats, not what it evaluates.
    commit_seconds : float
        With a store: batches told within this many seconds of the last commit are committed
        together, in one transaction, so that a cheap objective does not pay a commit per batch.
        A batch that took longer is committed at once. Once a batch has run this long, its
        evaluations are committed as they come back (with an :class:`~asktell.Evaluator`;
        another callable scores whole batches), so a resumed run repeats only those that were
        running at the crash, and those that finished within the batch's first
        ``commit_seconds``. 0 commits every batch and every evaluation at once.
    mode : {"sync", "async"}
        ``"sync"`` (default): ask a batch, evaluate it whole, tell it. ``"async"``: keep
        ``max_in_flight`` candidates submitted to a streaming :class:`~asktell.Evaluator` and
        tell each result as it arrives, asking a new candidate at once, for methods that
        declare :class:`~asktell.AsyncAskTell` (see :mod:`asktell.async_run`). Stopping rules
        and callbacks then run at each update; with a store, the state is checkpointed at
        each update and every finished evaluation is kept.
    max_in_flight : int, optional
        With ``mode="async"``: candidates kept in flight; default the evaluator's
        :attr:`~asktell.Evaluator.capacity` (its workers; 1 in process), at most the method's
        own bound.

    Examples
    --------
    >>> import asktell, numpy as np
    >>> opt = asktell.create("xnes", x0=[1.0, 1.0], sigma0=0.5, seed=1)
    >>> ctl = Controller(opt, asktell.SequentialEvaluator(lambda x: float(x @ x)),
    ...                  stop={"max_iterations": 50}, progress=False)
    >>> result = ctl.run()
    >>> result.iterations, result.stop_reason
    (50, {'max_iterations': 50})
    """

    def __init__(
        self,
        optimiser: AskTell,
        evaluate: Evaluator | Callable[[Any], Any],
        *,
        stop: StoppingRules | dict[str, Any] | None = None,
        callbacks: Iterable[Callback] = (),
        store: RunStore | None = None,
        progress: bool | None = None,
        log_every: int = 0,
        checkpoint_every: int = 100,
        checkpoint_seconds: float = 60.0,
        commit_seconds: float = 0.1,
        mode: str = "sync",
        max_in_flight: int | None = None,
    ) -> None:
        if not isinstance(optimiser, AskTell):
            raise TypeError(f"optimiser must be an asktell.Optimiser or Estimator, got "
                            f"{type(optimiser).__name__}")
        if not callable(evaluate):
            raise TypeError("evaluate must be an Evaluator or a callable taking a batch")
        if stop is None:
            stop = StoppingRules()
        elif isinstance(stop, dict):
            stop = StoppingRules.from_dict(stop)
        elif not isinstance(stop, StoppingRules):
            raise TypeError(f"stop must be StoppingRules, a dict or None, got "
                            f"{type(stop).__name__}")
        if isinstance(checkpoint_every, bool) or not isinstance(checkpoint_every, int) \
                or checkpoint_every < 1:
            raise ValueError(f"checkpoint_every must be a positive int, got {checkpoint_every!r}")
        for key, val in (("checkpoint_seconds", checkpoint_seconds),
                         ("commit_seconds", commit_seconds)):
            if isinstance(val, bool) or not isinstance(val, (int, float)) or not 0 <= val < 1e300:
                raise ValueError(f"{key} must be a non-negative number, got {val!r}")
        if mode not in ("sync", "async"):
            raise ValueError(f"mode must be 'sync' or 'async', got {mode!r}")
        if max_in_flight is not None and (isinstance(max_in_flight, bool) or not isinstance(
                max_in_flight, int) or max_in_flight < 1):
            raise ValueError(f"max_in_flight must be a positive int or None, got "
                             f"{max_in_flight!r}")
        self.mode = mode
        self.max_in_flight = max_in_flight
        self.optimiser = optimiser
        self.evaluate = evaluate
        self.rules = stop
        self.callbacks = list(callbacks)
        self.store = store
        self.progress = progress
        self.log_every = int(log_every)
        self.checkpoint_every = int(checkpoint_every)
        self.checkpoint_seconds = float(checkpoint_seconds)
        self.commit_seconds = float(commit_seconds)
        #: The method's direction, fixed at its construction (+1 minimising, -1 maximising).
        self._sign = optimiser.direction.sign
        # The commit and checkpoint clocks are time.perf_counter(), the run loop's own.
        self._commit_time = time.perf_counter()
        self._tracker = StopTracker(stop, self._sign)
        self._elapsed_before = 0.0
        self._last_batch: Any = None
        self._checkpointed = optimiser.iterations if store is not None else 0
        self._checkpoint_time = time.perf_counter()
        #: Finished evaluations of the batch a resumed run starts with, by index.
        self._known: dict[int, StoredEvaluation] = {}
        self._after_seq = 0
        self._async_limit = 1
        if mode == "async":
            async_run.check_async(self)
            self._async_limit = async_run.async_limit(self)

    @classmethod
    def resume(
        cls,
        run_dir: str | Path,
        optimiser: AskTell,
        evaluate: Evaluator | Callable[[Any], Any],
        **kwargs: Any,
    ) -> Controller:
        """Continue a run from its directory.

        Parameters
        ----------
        run_dir : path-like
            Directory of a run made with a store.
        optimiser : AskTell
            A fresh method built with the same arguments as the original. Its state is loaded
            from the last checkpoint and the batches told after it are replayed.
        evaluate : Evaluator or callable
            The evaluator.
        **kwargs
            As for the constructor (``stop``, ``callbacks``, ``progress``...); ``store`` is the
            run's own.

        Returns
        -------
        Controller
            Ready to :meth:`run`; the next asks equal those the uninterrupted run would make.

        Raises
        ------
        ValueError
            If the method's settings (dimension, population size, boundaries) differ from the
            stored run's, naming each difference.
        ReplayError
            If the method does not ask again what the stored batches hold.
        """
        store = RunStore.open(run_dir)
        try:
            cls._check_settings(store, optimiser)
            async_run.check_mode(store, kwargs.get("mode", "sync"))
            ctl = cls(optimiser, evaluate, store=store, **kwargs)
            if ctl.mode == "async":
                async_run.restore_async(ctl)
            else:
                ctl._restore()
        except BaseException:
            store.close()
            raise
        return ctl

    @staticmethod
    def _check_settings(store: RunStore, optimiser: AskTell) -> None:
        stored = store.get_meta("settings")
        if stored is None:
            return
        now = serialization.loads(serialization.dumps(optimiser.settings()))
        diff = [f"{k}: stored {stored.get(k)!r}, now {now.get(k)!r}"
                for k in sorted(set(stored) | set(now))
                if not serialization.plain_equal(stored.get(k), now.get(k))]
        if diff:
            raise ValueError(f"{store.path}: the method's settings differ from the stored "
                             f"run's ({'; '.join(diff)}); a resumed run must have the same shape")

    def _restore(self) -> None:
        store, opt = self.store, self.optimiser
        assert store is not None
        t0 = time.perf_counter()
        latest = store.latest_checkpoint()
        after, elapsed = 0, 0.0
        if latest is not None:
            after, opt_state, ctl_state = latest
            opt.load_state_dict(opt_state)
            if opt.iterations != after:  # never replay or append on a mismatched state
                raise ReplayError(f"{store.path}: the checkpoint of batch {after} holds a state "
                                  f"after {opt.iterations} batches (a damaged or edited store)")
            self._tracker.load(ctl_state["tracker"])
            elapsed = float(ctl_state["elapsed"])
        n = 0
        for b in store.batches(after=after):
            xs = opt.pending if opt.awaiting_tell else opt.ask()
            if serialization.dumps(xs) != serialization.dumps(b.candidates):
                raise ReplayError(
                    f"{store.path}: replaying batch {b.iteration}, {opt.name} asked other "
                    "candidates than those stored: the method, its arguments or the code changed "
                    "since the run was written"
                )
            opt.tell(b.results if b.results is not None else b.values)
            self._tracker.update(self._best_loss())  # the stopping rules' counters, rebuilt
            elapsed = b.elapsed
            n += 1
        self._elapsed_before = elapsed
        self._last_batch = store.last_candidates()
        self._checkpointed = after
        kept = store.evaluations(iteration=opt.iterations + 1)
        if kept:
            xs = opt.pending if opt.awaiting_tell else opt.ask()
            for e in kept:
                if e.index >= len(xs) or serialization.dumps(take(xs, [e.index])[0]) != \
                        serialization.dumps(e.candidate):
                    raise ReplayError(
                        f"{store.path}: batch {e.iteration} was asked again with other "
                        "candidates than the evaluations kept for it: the method, its "
                        "arguments or the code changed since the run was written")
            self._known = {e.index: e for e in kept}
            log.info("batch %d: %d of %d evaluations were kept before the interruption; "
                     "the others run now", opt.iterations + 1, len(kept), len(xs))
        if n:
            log.info("replayed %d batches after the checkpoint at batch %d in %.2f s", n, after,
                     time.perf_counter() - t0)

    def _best_loss(self) -> float:
        return self._sign * self.optimiser.fbest()

    def run(self) -> RunResult:
        """Ask, evaluate and tell until a stopping rule is met.

        Returns
        -------
        RunResult

        Notes
        -----
        With a store, each batch is committed before the next ask, or with the batches told
        within ``commit_seconds`` of the last commit in one transaction (see the constructor),
        and the run's status ("running", "finished" or "interrupted") is kept in the store's
        meta.
        """
        if self.mode == "async":
            return async_run.run_async(self)
        opt, store, evaluate = self.optimiser, self.store, self.evaluate
        tracker, callbacks = self._tracker, self.callbacks
        perf = time.perf_counter
        start = perf()
        base = self._elapsed_before
        bar = self._progress_bar()
        if store is not None:
            meta: dict[str, Any] = {"status": "running"}
            if store.get_meta("settings") is None:
                meta["settings"] = opt.settings()
            store.set_meta(**meta)
        reason: dict[str, Any] | None = None
        sign, fbest, ask, tell, log_every = self._sign, opt.fbest, opt.ask, opt.tell, self.log_every
        pending = opt.pending if opt.awaiting_tell else None  # a resumed run's batch
        # With a store, an Evaluator's evaluations are kept as they finish in a long batch; a
        # cheap numeric batch told while no commit or checkpoint is due is queued as it is.
        streamed = evaluate if store is not None and isinstance(evaluate, Evaluator) else None
        queue = store.queue_batch if store is not None else None
        queue_below, queue_until = self._queue_limits()
        try:
            own_stop = opt.stop if self.rules.optimiser_stop else _no_stop
            while True:
                reason = tracker.check(
                    opt.iterations, opt.evaluations, sign * fbest(),
                    base + perf() - start, self._last_batch, own_stop(),
                )
                if reason is not None:
                    break
                t0 = perf()
                if pending is None:
                    xs = ask()
                else:
                    xs, pending = pending, None
                t1 = perf()
                if streamed is not None and store is not None:
                    evaluation = self._evaluate_kept(xs, streamed, store)
                else:
                    evaluation = as_evaluation(evaluate(xs))
                t2 = perf()
                tell(evaluation)
                told = opt.last_told
                assert told is not None
                t3 = perf()
                self._last_batch = xs
                tracker.update(sign * fbest())
                elapsed = base + t3 - start
                if queue is not None:
                    it = opt.iterations
                    if (it < queue_below and t3 < queue_until and type(xs) is np.ndarray
                            and xs.dtype.kind in "biufc" and not evaluation.errors
                            and evaluation.is_scalar and not evaluation.extras
                            and not told.extras):
                        queue(it, xs, told.values, told.n_failed, sign, fbest(), t1 - t0,
                              t2 - t1, t3 - t2, elapsed)
                    else:
                        assert store is not None
                        self._commit(store, xs, evaluation, told, t1 - t0, t2 - t1, t3 - t2,
                                     elapsed, t3)
                        queue_below, queue_until = self._queue_limits()
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(fbest=f"{fbest():.6g}", refresh=False)
                if log_every and opt.iterations % log_every == 0:
                    log.info("iteration %d, evaluations %d, fbest %.8g",
                             opt.iterations, opt.evaluations, fbest())
                if callbacks:
                    info = IterationInfo(opt.iterations, opt.evaluations, xs, told.values,
                                         opt.xbest(), opt.fbest(), elapsed, opt, evaluation,
                                         told.extras)
                    for cb in callbacks:
                        out = cb(info)
                        if out:
                            reason = {"callback": out if isinstance(out, (str, int, float))
                                      else True}
                    if reason is not None:
                        break
        except BaseException:
            if store is not None:
                self._final_checkpoint(base + perf() - start)
                store.set_meta(status="interrupted")
            raise
        finally:
            if bar is not None:
                bar.close()
        elapsed = base + perf() - start
        if store is not None:  # one transaction: the last batches, the checkpoint, the status
            store.queue_meta(status="finished", stop_reason=reason, elapsed=elapsed)
            self._final_checkpoint(elapsed)
        return self._result(reason, elapsed)

    def _result(self, reason: dict[str, Any], elapsed: float) -> RunResult:
        """The run's outcome (logged), for the synchronous and the asynchronous loop."""
        opt = self.optimiser
        log.info("stopped after %d iterations: %s", opt.iterations, reason)
        return RunResult(
            xbest=opt.xbest(), fbest=opt.fbest(), iterations=opt.iterations,
            evaluations=opt.evaluations, failures=opt.failures, stop_reason=reason,
            elapsed=elapsed, run_dir=None if self.store is None else self.store.path,
        )

    def _evaluate_kept(self, xs: Any, evaluate: Evaluator, store: RunStore) -> Evaluation:
        """Score a batch, keeping each finished evaluation in the store while it runs long."""
        n = len(xs)
        scalar = evaluate.output == "scalar"
        values: list[Any] = [None] * n
        errors: list[EvaluationError] = []
        todo = None
        if self._known:  # a resumed run's batch: those that finished before the interruption
            known, self._known = self._known, {}
            for i, e in known.items():
                values[i] = e.value if scalar else e.result
                if e.error is not None:
                    errors.append(EvaluationError(i, e.error["type"], e.error["message"]))
            todo = [i for i in range(n) if i not in known]
        pending: list[Finished] = []  # finished, not kept yet
        clock = time.monotonic
        start = clock()
        every = self.commit_seconds
        try:
            if todo is None:
                evaluate.submit(xs)
            elif todo:
                evaluate.submit(take(xs, todo), todo)
            while evaluate.in_flight:
                finished = evaluate.results()
                for r in finished:
                    values[r.key] = r.value
                    if r.error is not None:
                        errors.append(r.error)
                pending += finished
                if pending and clock() - start >= every:
                    self._keep(store, xs, pending, scalar)  # a long batch: it survives a crash
        except BaseException:
            evaluate.cancel()
            if pending:
                try:
                    self._keep(store, xs, pending, scalar)
                except Exception:  # the store is what failed: nothing more to save
                    log.debug("could not keep the finished evaluations", exc_info=True)
            raise
        if errors:
            errors.sort(key=lambda e: e.index)
            evaluate.log_failures(errors, n)
        if scalar:  # a failure's value is NaN already
            return Evaluation(np.array(values, dtype=np.float64), tuple(errors))
        return Evaluation(tuple(values), tuple(errors))

    def _keep(self, store: RunStore, xs: Any, pending: list[Finished], scalar: bool) -> None:
        """Commit the finished evaluations of the batch being scored (and empty ``pending``)."""
        store.add_evaluations(self.optimiser.iterations + 1, [
            (r.key, take(xs, [r.key])[0], r.value if scalar else math.nan,
             None if scalar else r.value, None if r.error is None else r.error.to_plain(),
             r.seconds)
            for r in pending])
        pending.clear()

    def _controller_state(self, elapsed: float) -> dict[str, Any]:
        return {"tracker": self._tracker.state(), "elapsed": elapsed}

    def _final_checkpoint(self, elapsed: float) -> None:
        """Checkpoint at a stop, so that a resume replays nothing (best effort on errors).

        What is queued (batches, meta) is committed in the checkpoint's transaction when the
        last batch told is among it, else first and on its own.
        """
        opt, store = self.optimiser, self.store
        assert store is not None
        last = store.last_queued()
        if last is None or last != opt.iterations:
            store.flush()
            last = store.last_iteration()
        if opt.iterations == self._checkpointed or opt.iterations != last:
            store.flush()
            return
        try:
            store.checkpoint(opt.iterations, opt.state_dict(), self._controller_state(elapsed))
            self._checkpointed = opt.iterations
        except Exception:  # the batches are committed below: a resume replays them instead
            log.warning("could not write the final checkpoint", exc_info=True)
            store.flush()

    def _batch_best(self, vals: np.ndarray) -> float:
        """The best recorded value of a batch in the method's direction (NaN: none finite)."""
        return batch_best(vals, self._sign)

    def _commit(
        self, store: RunStore, xs: Any, evaluation: Evaluation, told: Told, t_ask: float,
        t_eval: float, t_tell: float, elapsed: float, now: float,
    ) -> None:
        """Append the batch just told (queued within ``commit_seconds`` of the last commit),
        with a checkpoint when one is due. ``now``: ``time.perf_counter()`` after the tell."""
        opt = self.optimiser
        iteration = opt.iterations
        vals = told.values
        errors = evaluation.errors
        due = (iteration - self._checkpointed >= self.checkpoint_every
               or now - self._checkpoint_time >= self.checkpoint_seconds)
        defer = now - self._commit_time < self.commit_seconds
        # RunStore.append's arguments, in order (keywords cost more than the row here).
        store.append(
            iteration, xs, vals,
            [e.to_plain() for e in errors] if errors else [],
            self._batch_best(vals), opt.fbest(), t_ask, t_eval, t_tell, elapsed,
            None,  # controller_state: rebuilt on replay from the stored values
            None if evaluation.is_scalar else list(evaluation.values),  # results
            told.extras, evaluation.extras,  # extras, columns
            opt.state_dict() if due else None,  # optimiser_state
            self._controller_state(elapsed) if due else None,  # checkpoint_controller
            defer,
            told.n_failed,
        )
        if due:
            self._checkpointed = iteration
            self._checkpoint_time = now
        if not store.queued:
            self._commit_time = now

    def _queue_limits(self) -> tuple[int, float]:
        """A batch may be queued as it is (see :meth:`RunStore.queue_batch`) while its
        iteration is below the first and ``time.perf_counter()`` below the second: no
        checkpoint is due and the last commit is within ``commit_seconds`` (as in
        :meth:`_commit`)."""
        return (self._checkpointed + self.checkpoint_every,
                min(self._commit_time + self.commit_seconds,
                    self._checkpoint_time + self.checkpoint_seconds))

    def _progress_bar(self) -> Any:
        if self.progress is False:
            return None
        from tqdm.auto import tqdm

        bar = tqdm(
            total=self.rules.max_iterations,
            initial=self.optimiser.iterations,
            disable=None if self.progress is None else not self.progress,
            unit="batch",
            dynamic_ncols=True,
        )
        if bar.disable:
            bar.close()
            return None
        return bar
