"""The run controller: drives ask → evaluate → tell with stopping rules, callbacks and a store."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .evaluators import Evaluator
from .protocol import Optimiser
from .stopping import StoppingRules, StopTracker
from .store import RunStore

__all__ = ["Controller", "IterationInfo", "RunResult"]

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
        Its values (NaN for failures).
    xbest : candidate
        Best candidate so far.
    fbest : float
        Best value so far.
    elapsed : float
        Seconds since the run started (across resumes).
    optimiser : Optimiser
        The optimiser (read it, do not ask or tell it).
    """

    iteration: int
    evaluations: int
    candidates: Any
    values: np.ndarray
    xbest: Any
    fbest: float
    elapsed: float
    optimiser: Optimiser


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


class Controller:
    """Run an optimiser to a stop.

    Parameters
    ----------
    optimiser : Optimiser
        What asks and is told.
    evaluate : Evaluator or callable
        Scores a whole batch: ``evaluate(batch) -> values`` (an :class:`asktell.Evaluator`, or
        any callable taking the batch).
    stop : StoppingRules or dict, optional
        Stopping rules; by default only the optimiser's own :meth:`~asktell.Optimiser.stop`.
    callbacks : iterable of callables
        Each is called with an :class:`IterationInfo` after every batch; a callback that returns
        a truthy value stops the run (with reason ``{"callback": value}``).
    store : RunStore, optional
        Commit every batch and the states to this run store (crash-safe resume).
    progress : bool or None
        Show a tqdm progress bar; None shows it only on a terminal.
    log_every : int
        Log a line at INFO level every this many batches (0: never).

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
        optimiser: Optimiser,
        evaluate: Evaluator | Callable[[Any], Sequence[float] | np.ndarray],
        *,
        stop: StoppingRules | dict[str, Any] | None = None,
        callbacks: Iterable[Callback] = (),
        store: RunStore | None = None,
        progress: bool | None = None,
        log_every: int = 0,
    ) -> None:
        if not isinstance(optimiser, Optimiser):
            raise TypeError(f"optimiser must be an asktell.Optimiser, got {type(optimiser)}")
        if not callable(evaluate):
            raise TypeError("evaluate must be an Evaluator or a callable taking a batch")
        if stop is None:
            stop = StoppingRules()
        elif isinstance(stop, dict):
            stop = StoppingRules.from_dict(stop)
        self.optimiser = optimiser
        self.evaluate = evaluate
        self.rules = stop
        self.callbacks = list(callbacks)
        self.store = store
        self.progress = progress
        self.log_every = int(log_every)
        self._tracker = StopTracker(stop, 1.0 if optimiser.direction == "minimise" else -1.0)
        self._elapsed_before = 0.0
        self._last_batch: Any = None

    @classmethod
    def resume(
        cls,
        run_dir: str | Path,
        optimiser: Optimiser,
        evaluate: Evaluator | Callable[[Any], Any],
        **kwargs: Any,
    ) -> Controller:
        """Continue a run from its directory.

        Parameters
        ----------
        run_dir : path-like
            Directory of a run made with a store.
        optimiser : Optimiser
            A fresh optimiser built with the same arguments as the original; its state is
            loaded from the last committed batch.
        evaluate : Evaluator or callable
            The evaluator.
        **kwargs
            As for the constructor (``stop``, ``callbacks``, ``progress``...); ``store`` is the
            run's own.

        Returns
        -------
        Controller
            Ready to :meth:`run`; the next asks equal those the uninterrupted run would make.
        """
        store = RunStore.open(run_dir)
        ctl = cls(optimiser, evaluate, store=store, **kwargs)
        latest = store.latest_state()
        if latest is not None:
            _, opt_state, ctl_state = latest
            optimiser.load_state_dict(opt_state)
            ctl._tracker.load(ctl_state["tracker"])
            ctl._elapsed_before = float(ctl_state["elapsed"])
            last = store.last_candidates()
            ctl._last_batch = last if isinstance(last, np.ndarray) else None
        return ctl

    def _best_loss(self) -> float:
        return self._tracker._sign * self.optimiser.fbest()

    def run(self) -> RunResult:
        """Ask, evaluate and tell until a stopping rule is met.

        Returns
        -------
        RunResult

        Notes
        -----
        With a store, each batch is committed before the next ask, and the run's status
        ("running", "finished" or "interrupted") is kept in the store's meta.
        """
        opt, store, evaluate = self.optimiser, self.store, self.evaluate
        tracker, callbacks = self._tracker, self.callbacks
        perf = time.perf_counter
        start = perf()
        base = self._elapsed_before
        bar = self._progress_bar()
        if store is not None:
            store.set_meta(status="running")
        reason: dict[str, Any] | None = None
        try:
            own_stop = opt.stop if self.rules.optimiser_stop else _no_stop
            while True:
                reason = tracker.check(
                    opt.iterations, opt.evaluations, self._best_loss(),
                    base + perf() - start, self._last_batch, own_stop(),
                )
                if reason is not None:
                    break
                t0 = perf()
                xs = opt.ask()
                t1 = perf()
                values = evaluate(xs)
                t2 = perf()
                opt.tell(values)
                t3 = perf()
                record = getattr(opt, "recorded_values", None)
                if record is not None and getattr(evaluate, "output", "scalar") == "object":
                    # tell() took objects (simulated data sets): keep the floats it derived
                    values = record()
                self._last_batch = xs
                best_loss = self._best_loss()
                tracker.update(best_loss)
                elapsed = base + t3 - start
                if store is not None:
                    self._commit(xs, values, t1 - t0, t2 - t1, t3 - t2, elapsed)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(fbest=f"{opt.fbest():.6g}", refresh=False)
                if self.log_every and opt.iterations % self.log_every == 0:
                    log.info("iteration %d, evaluations %d, fbest %.8g",
                             opt.iterations, opt.evaluations, opt.fbest())
                if callbacks:
                    info = IterationInfo(opt.iterations, opt.evaluations, xs,
                                         np.asarray(values), opt.xbest(), opt.fbest(), elapsed,
                                         opt)
                    for cb in callbacks:
                        out = cb(info)
                        if out:
                            reason = {"callback": out if isinstance(out, (str, int, float))
                                      else True}
                    if reason is not None:
                        break
        except BaseException:
            if store is not None:
                store.set_meta(status="interrupted")
            raise
        finally:
            if bar is not None:
                bar.close()
        elapsed = base + perf() - start
        if store is not None:
            store.set_meta(status="finished", stop_reason=reason, elapsed=elapsed)
        log.info("stopped after %d iterations: %s", opt.iterations, reason)
        return RunResult(
            xbest=opt.xbest(), fbest=opt.fbest(), iterations=opt.iterations,
            evaluations=opt.evaluations, failures=opt.failures, stop_reason=reason,
            elapsed=elapsed, run_dir=None if store is None else store.path,
        )

    def _commit(
        self, xs: Any, values: Any, t_ask: float, t_eval: float, t_tell: float, elapsed: float
    ) -> None:
        opt = self.optimiser
        vals = np.asarray([np.nan if v is None else v for v in values], dtype=np.float64) \
            if not isinstance(values, np.ndarray) else values.astype(np.float64, copy=False)
        finite = vals[np.isfinite(vals)]
        if finite.size:
            batch_best = float(finite.min() if opt.direction == "minimise" else finite.max())
        else:
            batch_best = float("nan")
        errors = [{"index": e.index, "error": e.error}
                  for e in getattr(self.evaluate, "errors", ())]
        self.store.append(  # type: ignore[union-attr]
            iteration=opt.iterations,
            restart=int(getattr(opt, "restart_index", 0)),
            candidates=xs,
            values=vals,
            errors=errors,
            batch_best=batch_best,
            best=opt.fbest(),
            t_ask=t_ask,
            t_eval=t_eval,
            t_tell=t_tell,
            elapsed=elapsed,
            optimiser_state=opt.state_dict(),
            controller_state={"tracker": self._tracker.state(), "elapsed": elapsed},
        )

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
