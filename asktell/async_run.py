"""The asynchronous run loop of :class:`asktell.Controller` (``mode="async"``).

A free worker gets the next candidate as soon as it is free: ``max_in_flight`` candidates are
kept submitted to a streaming :class:`~asktell.Evaluator`; each result is told to the method
(an :class:`~asktell.AsyncAskTell`) as it arrives and one new candidate is asked and submitted
at once. Callbacks run at each update (a generation's worth of results), the stopping rules
after each result.

With a store, every finished evaluation is kept (committed in groups, ``commit_seconds``), and
the method's state is checkpointed at every update together with the update's history row.
The order of events is a function of the order results are told in: after a checkpoint the
loop asks ``max_in_flight - outstanding`` candidates, then for each told result asks one more.
A resume loads the checkpoint and replays that pattern over the evaluations kept after it, so
it asks exactly the candidates of the interrupted run; what was outstanding is submitted again.
Nothing finished is lost or evaluated twice, except what was running at a crash; the result is
not bit-identical to an uninterrupted run (the arrival order differs).
"""

from __future__ import annotations

import logging
import math
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from . import serialization
from .evaluators import Evaluator, Finished
from .protocol import AsyncAskTell, AsyncUpdate

if TYPE_CHECKING:  # pragma: no cover
    from .controller import Controller, RunResult
    from .store import RunStore

__all__ = ["async_limit", "check_async", "check_mode", "restore_async", "run_async"]

log = logging.getLogger(__name__)


def check_async(ctl: Controller) -> None:
    """Refuse a method or evaluator that cannot run asynchronously, with a clear message."""
    opt = ctl.optimiser
    if not isinstance(opt, AsyncAskTell):
        raise TypeError(f"{opt.name} does not support asynchronous evaluation (it cannot use "
                        "results out of order or in partial batches); use mode='sync'")
    if not isinstance(ctl.evaluate, Evaluator):
        raise TypeError("mode='async' needs a streaming asktell.Evaluator (SequentialEvaluator, "
                        f"ParallelEvaluator, DaskEvaluator), got {type(ctl.evaluate).__name__}")


def check_mode(store: RunStore, mode: str) -> None:
    """Refuse to resume a run in the other mode (their stores are not replayed alike)."""
    stored = store.get_meta("mode") or "sync"
    if stored != mode and (len(store) or store.latest_checkpoint() is not None
                           or store.evaluations()):
        raise ValueError(f"{store.path}: the run was made with mode={stored!r}; resume it with "
                         f"mode={stored!r} (not {mode!r})")


def async_limit(ctl: Controller) -> int:
    """Candidates kept in flight: ``max_in_flight``, by default the evaluator's workers,
    capped by the method's own bound."""
    opt = ctl.optimiser
    assert isinstance(opt, AsyncAskTell)
    limit = ctl.max_in_flight
    if limit is None:
        limit = ctl.evaluate.capacity if isinstance(ctl.evaluate, Evaluator) else 1
    bound = opt.max_in_flight
    return int(limit if bound is None else min(limit, bound))


def _replay_error(msg: str) -> Exception:
    from .controller import ReplayError

    return ReplayError(msg)


def restore_async(ctl: Controller) -> None:
    """Load the last checkpoint and re-tell the evaluations kept after it (see the module)."""
    store, opt = ctl.store, ctl.optimiser
    assert store is not None and isinstance(opt, AsyncAskTell)
    latest = store.latest_checkpoint()
    after, limit = 0, async_limit(ctl)
    if latest is not None:
        _, opt_state, ctl_state = latest
        opt.load_state_dict(opt_state)
        ctl._tracker.load(ctl_state["tracker"])
        ctl._elapsed_before = float(ctl_state["elapsed"])
        after = int(ctl_state.get("after_seq", 0))
        limit = int(ctl_state.get("max_in_flight", limit))
    kept = store.evaluations(after=after)
    if not kept:
        return
    assert isinstance(ctl.evaluate, Evaluator)  # check_async made sure
    scalar = ctl.evaluate.output == "scalar"
    # The pattern of the interrupted run: top up, then one ask per told result.
    free = limit - len(opt.outstanding[0])
    if free > 0:
        opt.ask_async(free)
    for e in kept:
        keys, xs = opt.outstanding
        if e.index not in keys or xs is None or serialization.dumps(
                xs[keys.index(e.index)]) != serialization.dumps(np.asarray(e.candidate)):
            raise _replay_error(
                f"{store.path}: replaying evaluation {e.index}, {opt.name} asked another "
                "candidate than the one stored: the method, its arguments, the code or "
                "max_in_flight changed since the run was written")
        told = e.value if scalar else e.result
        for u in opt.tell_async([e.index], [told]):
            _updated(ctl, u, {}, replaying=True)
        if len(opt.outstanding[0]) < limit:
            opt.ask_async(1)
    ctl._after_seq = kept[-1].seq
    log.info("re-told %d evaluations kept after the last checkpoint", len(kept))


def _updated(ctl: Controller, u: AsyncUpdate, errors: dict[int, Any], *,
             replaying: bool = False, elapsed: float = math.nan) -> None:
    """Stopping counters and the store after one update."""
    opt, store = ctl.optimiser, ctl.store
    ctl._tracker.update(ctl._best_loss())
    ctl._last_batch = u.candidates
    if store is None:
        return
    vals = u.told.values
    batch_best = ctl._batch_best(vals)
    errs = [dict(errors.pop(k), index=i) for i, k in enumerate(u.keys) if k in errors]
    if math.isnan(elapsed):
        elapsed = ctl._elapsed_before
    state = {**ctl._controller_state(elapsed), "after_seq": 0,
             "max_in_flight": ctl._async_limit}
    store.append(
        iteration=opt.iterations, candidates=u.candidates, values=vals, errors=errs,
        extras=u.told.extras, batch_best=batch_best, best=opt.fbest(), t_ask=0.0,
        t_eval=0.0, t_tell=0.0, elapsed=elapsed, controller_state=None,
        optimiser_state=opt.state_dict(), checkpoint_controller=state,
        n_failed=u.told.n_failed)
    ctl._checkpointed = opt.iterations
    ctl._after_seq = 0


def _checkpoint_now(ctl: Controller, elapsed: float) -> None:
    """A checkpoint between updates: covers every evaluation kept so far."""
    store, opt = ctl.store, ctl.optimiser
    assert store is not None
    store.flush()
    kept = store.evaluations(after=ctl._after_seq)
    if kept:
        ctl._after_seq = kept[-1].seq
    state = {**ctl._controller_state(elapsed), "after_seq": ctl._after_seq,
             "max_in_flight": ctl._async_limit}
    store.checkpoint(opt.iterations, opt.state_dict(), state)
    ctl._checkpointed = opt.iterations


def run_async(ctl: Controller) -> RunResult:
    """The asynchronous loop (see the module notes)."""
    from .controller import IterationInfo

    opt, store, ev = ctl.optimiser, ctl.store, ctl.evaluate
    assert isinstance(opt, AsyncAskTell) and isinstance(ev, Evaluator)
    tracker, callbacks = ctl._tracker, ctl.callbacks
    limit = ctl._async_limit
    perf = time.perf_counter
    start = perf()
    base = ctl._elapsed_before
    scalar = ev.output == "scalar"
    if store is not None:
        meta: dict[str, Any] = {"status": "running", "mode": "async"}
        if store.get_meta("settings") is None:
            meta["settings"] = opt.settings()
        store.set_meta(**meta)
    own_stop = opt.stop if ctl.rules.optimiser_stop else (lambda: None)
    reason: dict[str, Any] | None = None
    errors: dict[int, Any] = {}
    rows: list[tuple[int, Any, float, Any, Any, float]] = []
    clock = time.monotonic
    last_commit = clock()

    def keep(force: bool = False) -> None:
        nonlocal last_commit
        if store is None or not rows:
            return
        store.add_evaluations(opt.iterations + 1, rows, defer=True)
        rows.clear()
        if force or clock() - last_commit >= ctl.commit_seconds:
            store.flush()
            last_commit = clock()

    def check() -> dict[str, Any] | None:
        return tracker.check(opt.iterations, opt.evaluations, ctl._best_loss(),
                             base + perf() - start, ctl._last_batch, own_stop())

    bar = ctl._progress_bar()
    try:
        reason = check()
        if reason is None:
            keys, xs = opt.outstanding
            if keys:  # resumed: what was in flight runs again
                ev.submit(xs, keys)  # type: ignore[arg-type]
            free = limit - len(keys)
            if free > 0:
                k, x = opt.ask_async(free)
                ev.submit(x, k)
            if store is not None:
                _checkpoint_now(ctl, base + perf() - start)
        okeys, oxs = opt.outstanding
        asked: dict[int, Any] = {} if oxs is None else dict(zip(okeys, oxs, strict=True))
        timeout = ctl.rules.timeout
        while reason is None:
            wait = None if timeout is None else max(0.0, timeout - (base + perf() - start))
            finished: list[Finished] = ev.results(wait)
            if not finished:
                reason = check()
                if reason is None and not ev.in_flight:
                    raise RuntimeError("the evaluator has nothing in flight (a bug)")
                continue
            for r in finished:
                x = asked.pop(r.key)
                if r.error is not None:
                    errors[r.key] = r.error.to_plain()
                rows.append((r.key, x, r.value if scalar else math.nan,
                             None if scalar else r.value,
                             None if r.error is None else r.error.to_plain(), r.seconds))
                keep()  # rows carry the iteration they feed: keep them before the tell
                for u in opt.tell_async([r.key], [r.value]):
                    elapsed = base + perf() - start
                    _updated(ctl, u, errors, elapsed=elapsed)
                    last_commit = clock()
                    if bar is not None:
                        bar.update(1)
                        bar.set_postfix(fbest=f"{opt.fbest():.6g}", refresh=False)
                    if ctl.log_every and opt.iterations % ctl.log_every == 0:
                        log.info("iteration %d, evaluations %d, fbest %.8g",
                                 opt.iterations, opt.evaluations, opt.fbest())
                    for cb in callbacks:
                        out = cb(IterationInfo(opt.iterations, opt.evaluations, u.candidates,
                                               u.told.values, opt.xbest(), opt.fbest(),
                                               elapsed, opt, None, u.told.extras))
                        if out:
                            reason = {"callback": out if isinstance(out, (str, int, float))
                                      else True}
                if reason is None:
                    reason = check()  # at each result: max_evaluations, target, timeout
                if reason is not None:
                    break
                k, xn = opt.ask_async(1)
                ev.submit(xn, k)
                asked[k[0]] = xn[0]
            if reason is None and timeout is not None:
                reason = check()
    except BaseException:
        ev.cancel()
        if store is not None:
            try:
                keep(force=True)
                _checkpoint_now(ctl, base + perf() - start)
            except Exception:
                log.debug("could not keep the state of the async run", exc_info=True)
            store.set_meta(status="interrupted")
        raise
    finally:
        if bar is not None:
            bar.close()
    ev.cancel()  # what is still running is not needed
    elapsed = base + perf() - start
    if store is not None:
        keep(force=True)
        _checkpoint_now(ctl, elapsed)
        store.set_meta(status="finished", stop_reason=reason, elapsed=elapsed)
    return ctl._result(reason, elapsed)
