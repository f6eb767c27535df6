"""Parallel dispatch: milliseconds per 16-point batch of a free objective on 2 workers.

What is measured
    The wall time of scoring one batch of 16 points with ``f(x) = float(x[0])`` (a function
    that costs nothing, so only dispatch counts) on 2 worker processes, for

    * ``asktell.ParallelEvaluator(f, n_workers=2)`` (candidate; its ``__call__``),
    * ``pints.ParallelEvaluator(f, n_workers=2)`` (baseline; its ``evaluate(xs)``),
    * per-point joblib, ``joblib.Parallel(n_jobs=2)(joblib.delayed(f)(x) for x in xs)`` (a new
      ``Parallel`` per batch, as the usual idiom), and, informatively, the same with one
      ``joblib.Parallel`` object kept open (``with joblib.Parallel(n_jobs=2) as par``), and a
      floor: two tasks (one half-batch each) submitted straight to loky's reusable executor,
      which is what asktell's evaluator does underneath.

How
    Each evaluator lives in its own persistent process (started with ``spawn``), so that their
    worker pools cannot interfere: in one process, joblib's loky backend and asktell's
    evaluator share loky's process-wide executor (see ``coexistence`` in the results). Every
    evaluator is warmed up first (pool started, workers imported). The parent then asks each
    process in turn, in rotating order, to time a block of batches (each batch timed on its own
    inside that process, so the orchestration does not count); figures are medians over all
    timed batches. Values are checked against ``xs[:, 0]``.

Goal
    asktell <= 0.5 x PINTS (PINTS took about 3.35 ms per batch on the reference machine).

Run ``python benchmarks/parallel_dispatch.py [--quick]``; it writes
``benchmarks/results/parallel_dispatch.json`` and ``.md``.
"""

from __future__ import annotations

import multiprocessing as mp
import time
import warnings
from multiprocessing.connection import Connection
from typing import Any

import numpy as np
from _common import (
    benchmark_parser,
    fmt,
    machine_info,
    markdown_table,
    median,
    quartiles,
    write_results,
)

NAME = "parallel_dispatch"
N_WORKERS = 2
BATCH = 16
DIM = 2
GOAL_RATIO = 0.5
VARIANTS = (
    "asktell",
    "pints",
    "joblib",
    "joblib (Parallel kept open)",
    "loky executor, one task per worker",
)


def f(x: np.ndarray) -> float:
    """The free objective: the first coordinate.

    Parameters
    ----------
    x : ndarray
        One point.

    Returns
    -------
    float
    """
    return float(x[0])


def _make(kind: str) -> tuple[Any, Any]:
    """Build evaluator ``kind``; return (call(xs) -> values, closer)."""
    if kind == "asktell":
        import asktell

        ev = asktell.ParallelEvaluator(f, n_workers=N_WORKERS)
        return ev, ev.close
    if kind == "pints":
        import pints

        pev = pints.ParallelEvaluator(f, n_workers=N_WORKERS)
        return pev.evaluate, lambda: None
    if kind == "joblib":
        import joblib

        def call(xs: np.ndarray) -> list[float]:
            return joblib.Parallel(n_jobs=N_WORKERS)(joblib.delayed(f)(x) for x in xs)

        return call, lambda: None
    if kind == "joblib (Parallel kept open)":
        import joblib

        par = joblib.Parallel(n_jobs=N_WORKERS)
        par.__enter__()

        def call_open(xs: np.ndarray) -> list[float]:
            return par(joblib.delayed(f)(x) for x in xs)

        return call_open, lambda: par.__exit__(None, None, None)
    if kind == "loky executor, one task per worker":
        from joblib.externals.loky import get_reusable_executor

        ex = get_reusable_executor(max_workers=N_WORKERS)

        def call_loky(xs: np.ndarray) -> list[float]:
            half = (len(xs) + 1) // 2
            futs = [ex.submit(score_chunk, f, xs[:half]), ex.submit(score_chunk, f, xs[half:])]
            return [v for fut in futs for v in fut.result()]

        return call_loky, lambda: None
    raise ValueError(kind)


def score_chunk(fn: Any, items: np.ndarray) -> list[float]:
    """Score a chunk in a worker (the floor variant's task).

    Parameters
    ----------
    fn : callable
        The objective.
    items : ndarray
        Points.

    Returns
    -------
    list of float
    """
    return [fn(x) for x in items]


def serve(kind: str, conn: Connection, n_warmup: int, seed: int) -> None:
    """Body of one evaluator's process: warm up, then time blocks on request.

    Parameters
    ----------
    kind : str
        One of :data:`VARIANTS`.
    conn : Connection
        Pipe to the parent: receives ``("time", k)`` or ``("stop",)``; sends lists of seconds.
    n_warmup : int
        Untimed batches before reporting ready.
    seed : int
        Seed of the batches' points.
    """
    warnings.simplefilter("ignore", DeprecationWarning)
    try:
        call, close = _make(kind)
        rng = np.random.default_rng(seed)
        for _ in range(n_warmup):
            xs = rng.standard_normal((BATCH, DIM))
            _check(call(xs), xs)
        conn.send(("ready", None))
        perf = time.perf_counter
        while True:
            msg = conn.recv()
            if msg[0] == "stop":
                break
            times = []
            for _ in range(msg[1]):
                xs = rng.standard_normal((BATCH, DIM))
                xs.setflags(write=False)
                t0 = perf()
                out = call(xs)
                times.append(perf() - t0)
                _check(out, xs)
            conn.send(("times", times))
        close()
        if kind != "pints":
            _shutdown_loky()
        conn.send(("stopped", None))
    except Exception as e:  # report, do not hang the parent
        conn.send(("error", f"{type(e).__name__}: {e}"))


def _shutdown_loky() -> None:
    """Stop loky's process-wide executor and its workers.

    Without this, a ``multiprocessing`` child that used loky waits at exit for its idle workers
    to time out (120 s for asktell's evaluator, 300 s for joblib's): ``Process._bootstrap``
    joins them before the interpreter's exit hooks could shut them down.
    """
    from joblib.externals.loky import get_reusable_executor

    get_reusable_executor(max_workers=N_WORKERS).shutdown(wait=True, kill_workers=True)


def _check(values: Any, xs: np.ndarray) -> None:
    v = np.asarray(values, dtype=float)
    if v.shape != (len(xs),) or not np.array_equal(v, xs[:, 0]):
        raise AssertionError(f"wrong values: {values!r} for {xs[:, 0]!r}")


def coexistence_check(conn: Connection) -> None:
    """In a fresh process: use asktell's evaluator, then a per-point ``joblib.Parallel``.

    Sends ``None`` when both work, else the error of the joblib call.
    """
    import joblib

    import asktell

    xs = np.zeros((4, DIM))
    ev = asktell.ParallelEvaluator(f, n_workers=N_WORKERS)
    ev(xs)
    try:
        joblib.Parallel(n_jobs=N_WORKERS)(joblib.delayed(f)(x) for x in xs)
        conn.send(None)
    except Exception as e:
        conn.send(f"{type(e).__name__}: {e}")
    ev.close()
    _shutdown_loky()


def _recv(conn: Connection, kind: str, timeout: float = 300.0) -> Any:
    if not conn.poll(timeout):
        raise TimeoutError(f"{kind}: no answer in {timeout} s")
    tag, payload = conn.recv()
    if tag == "error":
        raise RuntimeError(f"{kind}: {payload}")
    return payload


def run(quick: bool) -> dict[str, Any]:
    """Start the evaluator processes, time interleaved blocks, return the results.

    Parameters
    ----------
    quick : bool
        Fewer rounds.

    Returns
    -------
    dict
        Settings, every batch's time per variant, medians, quartiles, ratios, the goal and
        the coexistence check.
    """
    # The processes run this file imported under its own name, so that ``f`` pickles as
    # ``parallel_dispatch.f`` (importable by every worker), not as ``__mp_main__.f``.
    import joblib
    import parallel_dispatch as this
    import pints

    import asktell

    n_rounds = 10 if quick else 40
    per_block = 10 if quick else 15
    n_warmup = 20 if quick else 50
    ctx = mp.get_context("spawn")
    procs: dict[str, Any] = {}
    conns: dict[str, Connection] = {}
    try:
        for i, kind in enumerate(VARIANTS):
            parent, child = ctx.Pipe()
            p = ctx.Process(target=this.serve, args=(kind, child, n_warmup, 100 + i))
            p.start()
            procs[kind], conns[kind] = p, parent
        for kind in VARIANTS:  # all warm-ups finish before any timing starts
            _recv(conns[kind], kind)
        times: dict[str, list[float]] = {k: [] for k in VARIANTS}
        block_medians: dict[str, list[float]] = {k: [] for k in VARIANTS}
        names = list(VARIANTS)
        for r in range(n_rounds):
            k = r % len(names)
            order = names[k:] + names[:k]
            for kind in order:
                conns[kind].send(("time", per_block))
                ts = _recv(conns[kind], kind)
                times[kind].extend(ts)
                block_medians[kind].append(median(ts))
        for kind in VARIANTS:
            conns[kind].send(("stop",))
            _recv(conns[kind], kind)
    finally:
        for p in procs.values():
            p.join(timeout=30)
            if p.is_alive():
                p.terminate()
                p.join()
    parent, child = ctx.Pipe()
    p = ctx.Process(target=this.coexistence_check, args=(child,))
    p.start()
    coexist = parent.recv() if parent.poll(300) else "timeout"
    p.join(timeout=30)

    ms = {k: 1e3 * median(v) for k, v in times.items()}
    ratios = {
        "asktell / pints": ms["asktell"] / ms["pints"],
        "asktell / joblib": ms["asktell"] / ms["joblib"],
        "asktell / joblib (Parallel kept open)":
            ms["asktell"] / ms["joblib (Parallel kept open)"],
        "asktell / loky floor": ms["asktell"] / ms["loky executor, one task per worker"],
        "joblib / pints": ms["joblib"] / ms["pints"],
    }
    paired = median([a / b for a, b in zip(block_medians["asktell"], block_medians["pints"])])
    ratio = ratios["asktell / pints"]
    return {
        "benchmark": NAME,
        "settings": {
            "quick": quick,
            "n_workers": N_WORKERS,
            "batch_size": BATCH,
            "dimension": DIM,
            "objective": "f(x) = float(x[0]), module level",
            "rounds": n_rounds,
            "batches_per_block": per_block,
            "warmup_batches": n_warmup,
            "process_start_method_of_the_evaluator_processes": "spawn",
            "versions": {"asktell": asktell.__version__, "pints": pints.__version__,
                         "joblib": joblib.__version__},
        },
        "ms_per_batch_median": ms,
        "ms_per_batch_quartiles": {k: tuple(1e3 * q for q in quartiles(v))
                                   for k, v in times.items()},
        "ms_per_batch_min": {k: 1e3 * min(v) for k, v in times.items()},
        "ratios": ratios,
        "ratio_asktell_over_pints_paired_blocks": paired,
        "raw_seconds": times,
        "coexistence": {
            "test": "asktell.ParallelEvaluator(f, 2) called, then joblib.Parallel(n_jobs=2) "
                    "in the same process",
            "error": coexist,
            "ok": coexist is None,
        },
        "goal": {
            "text": f"asktell <= {GOAL_RATIO} x PINTS per {BATCH}-point batch on {N_WORKERS} "
                    "workers",
            "ratio": ratio,
            "threshold": GOAL_RATIO,
            "met": bool(ratio <= GOAL_RATIO),
        },
    }


def table(res: dict[str, Any]) -> str:
    """The Markdown table of a result dict."""
    ms, q, lo = res["ms_per_batch_median"], res["ms_per_batch_quartiles"], res["ms_per_batch_min"]
    rows = []
    for k in VARIANTS:
        rel = ms[k] / ms["pints"]
        rows.append([k, fmt(ms[k]), f"{fmt(q[k][0])} - {fmt(q[k][1])}", fmt(lo[k]),
                     f"**{rel:.2f}x**" if k == "asktell" else f"{rel:.2f}x"])
    return markdown_table(
        [f"evaluator ({BATCH} points, {N_WORKERS} workers)", "median ms/batch", "IQR ms",
         "min ms", "vs PINTS"],
        rows,
    )


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = benchmark_parser(__doc__, "fewer rounds")
    args = ap.parse_args(argv)
    info = machine_info()
    res = run(args.quick)
    res["machine"] = info
    tab = table(res)
    g = res["goal"]
    print(f"## Parallel dispatch of a {BATCH}-point batch on {N_WORKERS} workers\n")
    print(tab)
    print(f"asktell/PINTS, paired per round: {res['ratio_asktell_over_pints_paired_blocks']:.3f}")
    c = res["coexistence"]
    print(f"asktell then joblib.Parallel in one process: {'ok' if c['ok'] else c['error']}")
    print(f"Goal: {g['text']}: ratio {g['ratio']:.3f} -> {'met' if g['met'] else 'NOT met'}")
    path = write_results(NAME, res, tab, "Parallel dispatch: asktell vs PINTS vs joblib")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
