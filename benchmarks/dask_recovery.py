"""Dask recovery: a batch's wall time when one of two workers is killed, and how fast a
worker-killing candidate is reported.

What is measured
    On a real cluster of this machine (``dask scheduler`` and two ``dask worker`` commands on
    127.0.0.1, one thread each, started with the user guide's settings
    ``allowed-failures = 1`` and ``worker-saturation = 1.0``):

    1. *Worker killed mid-batch.* Wall time of ``asktell.DaskEvaluator`` scoring a batch of 16
       evaluations that sleep 0.25 s each, undisturbed (the baseline), and with one of the two
       ``dask worker`` commands (its nanny and its worker process) SIGKILLed once 4 evaluations
       have come back. Repeats alternate the two; the killed worker is started again between
       repeats, outside the timed region. The values are checked every time. Also reported: the
       *work-conserving bound* of a kill run: the time at which the kill came plus the
       evaluations not back by then (the one the killed worker was running included) on the
       one worker left.
    2. *Worker-killing candidate.* Seconds from submitting one candidate whose evaluation calls
       ``os._exit`` to its ``KilledWorker`` failure coming back from
       ``DaskEvaluator.results``, against the same task through Dask's own futures API
       (``client.submit(f, x).exception()``), interleaved; the nannies restart the workers
       between repeats.

Goal
    Kill / no-kill wall time within 1.25 x the work-conserving bound's ratio; the evaluator
    reports a worker-killing candidate within 1 s of what Dask's own futures take.

Run ``python benchmarks/dask_recovery.py [--quick]``; it writes
``benchmarks/results/dask_recovery.json`` and ``.md``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import benchmark_parser, fmt, machine_info, markdown_table, median, write_results

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "plugins"), str(ROOT / "tests")]

import dask_objectives  # noqa: E402 - the workers import it too (tests/ is on their path)
from dask_cluster import SCHEDULER_ENV, Cluster  # noqa: E402

import asktell  # noqa: E402

NAME = "dask_recovery"
BATCH = 16
SLEEP = 0.25
KILL_AFTER = 4
GOAL_BATCH = 1.25
GOAL_KILLED_S = 1.0


def timed_batch(ev: asktell.DaskEvaluator, cluster: Cluster | None) -> tuple[float, float]:
    """Wall time of one batch (and when the kill came), killing worker 0 after KILL_AFTER
    evaluations when ``cluster`` is given."""
    t0 = time.perf_counter()
    ev.submit([SLEEP] * BATCH)
    got: list[Any] = []
    killed_at = float("nan")
    kill = cluster is not None
    while ev.in_flight:
        got.extend(ev.results())
        if kill and cluster is not None and len(got) >= KILL_AFTER:
            cluster.kill_worker(0)
            killed_at = time.perf_counter() - t0
            kill = False
    seconds = time.perf_counter() - t0
    assert sorted(f.key for f in got) == list(range(BATCH)), "lost or doubled"
    assert all(f.error is None and f.value == SLEEP for f in got), got
    return seconds, killed_at


def killed_candidate(ev: asktell.DaskEvaluator) -> float:
    t0 = time.perf_counter()
    ev.submit([3])
    (f,) = ev.results()
    assert f.error is not None and f.error.type == "KilledWorker", f
    return time.perf_counter() - t0


def raw_dask(client: Any) -> float:
    t0 = time.perf_counter()
    fut = client.submit(dask_objectives.exit_on_three, 3, pure=False)
    exc = fut.exception()
    assert type(exc).__name__ == "KilledWorker", exc
    return time.perf_counter() - t0


def main() -> None:
    ap = benchmark_parser(__doc__, "3 repeats instead of 7")
    args = ap.parse_args()
    repeats = 3 if args.quick else 7
    info = machine_info()
    with tempfile.TemporaryDirectory() as tmp, Cluster(Path(tmp), n_workers=2) as cluster:
        address = cluster.wait()
        runs: dict[str, list[float]] = {"no kill": [], "kill": [], "kill at": []}
        with asktell.DaskEvaluator(dask_objectives.sleepy, scheduler=address) as ev:
            timed_batch(ev, None)  # warm-up: the objective loaded on both workers
            for _ in range(repeats):
                runs["no kill"].append(timed_batch(ev, None)[0])
                seconds, at = timed_batch(ev, cluster)
                runs["kill"].append(seconds)
                runs["kill at"].append(at)
                cluster.restart_worker(0)
                cluster.wait(2)
                timed_batch(ev, None)  # the new worker loads the objective
        killed: dict[str, list[float]] = {"DaskEvaluator": [], "client.submit": []}
        with asktell.DaskEvaluator(dask_objectives.exit_on_three, scheduler=address) as ev:
            from distributed import Client

            with Client(address, set_as_default=False) as client:
                for _ in range(repeats):
                    killed["DaskEvaluator"].append(killed_candidate(ev))
                    cluster.wait(2)
                    killed["client.submit"].append(raw_dask(client))
                    cluster.wait(2)

    no_kill, kill = median(runs["no kill"]), median(runs["kill"])
    at = median(runs["kill at"])
    # work-conserving bound: what was not back at the kill (the evaluation lost with the
    # worker included) on the one worker left
    bound = at + (BATCH - KILL_AFTER) * SLEEP
    ratio, bound_ratio = kill / no_kill, bound / no_kill
    ev_s, raw_s = median(killed["DaskEvaluator"]), median(killed["client.submit"])
    met = ratio <= GOAL_BATCH * bound_ratio and ev_s <= raw_s + GOAL_KILLED_S
    rows = [
        ["batch of 16 × 0.25 s on 2 workers, undisturbed", fmt(no_kill), "1"],
        ["the same, one worker SIGKILLed after 4 results", fmt(kill), fmt(ratio)],
        ["  work-conserving bound for that kill", fmt(bound), fmt(bound_ratio)],
        ["worker-killing candidate → KilledWorker, DaskEvaluator", fmt(ev_s), ""],
        ["  the same task through client.submit(...).exception()", fmt(raw_s), ""],
    ]
    table = markdown_table(["measurement", "seconds (median)", "ratio to undisturbed"], rows)
    print(table)
    write_results(NAME, {
        "machine": info,
        "settings": {"quick": args.quick, "repeats": repeats, "batch": BATCH, "sleep": SLEEP,
                     "kill_after": KILL_AFTER, "workers": 2, "threads_per_worker": 1,
                     "scheduler_env": SCHEDULER_ENV},
        "raw": {"batch": runs, "killed_candidate": killed},
        "medians": {"no_kill": no_kill, "kill": kill, "kill_at": at, "bound": bound,
                    "killed_candidate_evaluator": ev_s, "killed_candidate_raw": raw_s},
        "ratios": {"kill_over_no_kill": ratio, "bound_over_no_kill": bound_ratio},
        "goal": {"text": f"kill/no-kill <= {GOAL_BATCH} x the bound's ratio; KilledWorker "
                         f"reported within {GOAL_KILLED_S} s of Dask's own futures", "met": met},
    }, table, "Dask recovery")


if __name__ == "__main__":
    main()
