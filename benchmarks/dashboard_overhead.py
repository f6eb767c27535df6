"""Dashboard overhead: the writer's time in the run store while ``asktell dashboard`` watches the
run, against the same run unwatched, measured in one run.

What is measured
    Runs of XNES (d = 10, seed fixed) on the sphere through ``asktell.Controller`` with a
    ``RunStore``, each batch committed before the next ask (the store path of every configured
    run). The objective sleeps ``--eval-ms`` per batch, so a run lasts long enough to be polled
    several times; the sleep is outside the measured time. The figure is the time spent inside
    ``RunStore.append`` and ``RunStore.flush`` (the store's writes: batches and states, committed
    in SQLite transactions), summed per run.

How
    One ``asktell dashboard`` server process serves the runs' folder (127.0.0.1, a free port).
    Runs alternate unwatched / watched (the order flips every pair). While a run is watched, a
    poller process requests what the run's page requests: the new rows of the trace
    (``/api/trace?since=``) every ``--interval`` seconds, and the batch table and the summary
    every third time; 1 s is the page's default refresh (the headline), 0.1 s is as much as ten
    open pages (the stress row). Both the
    server and the poller are separate processes, as a browser and a dashboard are, so they take
    no time from the writer's interpreter; on a 2-CPU machine they do compete for the CPUs.

Goal
    Watched store time within 5 % of unwatched (ratio of medians <= 1.05) at the page's rate.

Run ``python benchmarks/dashboard_overhead.py [--quick]``; it writes
``benchmarks/results/dashboard_overhead.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
from _common import fmt, machine_info, markdown_table, median, quartiles, write_results

import asktell
from asktell.store import RunStore

# What a run's page requests while its run is live (asktell/dashboard/static/dashboard.js): the
# new rows of the trace every tick, the batch table and the summary every 3 ticks.
POLLER = r"""
import json, sys, time, urllib.request
base, key, interval = sys.argv[1], sys.argv[2], float(sys.argv[3])
ok = seen = tick = 0
def get(url):
    global ok
    try:
        body = urllib.request.urlopen(url, timeout=10).read()
        ok += 1
        return body
    except OSError:
        return None
while True:
    t = time.monotonic()
    body = get(f"{base}/api/trace/{key}?since={seen}")
    if body:
        seen += len(json.loads(body).get("columns", {}).get("iteration", []))
    if tick % 3 == 0:
        get(f"{base}/fragment/batches/{key}")
        get(f"{base}/fragment/summary/{key}")
    tick += 1
    print(ok, flush=True)
    time.sleep(max(0.0, interval - (time.monotonic() - t)))
"""


class SleepySphere:
    """Sphere whose evaluation sleeps a fixed time per batch (no CPU)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __call__(self, xs: np.ndarray) -> np.ndarray:
        time.sleep(self.seconds)
        return np.einsum("ij,ij->i", xs, xs)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def one_run(path: Path, batches: int, eval_s: float, watch: tuple[str, str, float] | None,
            seed: int) -> dict[str, float]:
    opt = asktell.create("xnes", x0=np.ones(10), sigma0=1.0, seed=seed)
    store = RunStore.create(path, {"optimiser": opt.name, "status": "created",
                                   "direction": "minimise"})
    times: list[float] = []

    def timed(method: Any) -> Any:
        def wrapper(*a: Any, **kw: Any) -> Any:
            t = time.perf_counter()
            try:
                return method(*a, **kw)
            finally:
                times.append(time.perf_counter() - t)
        return wrapper

    # Every write the store does for the run: append (and queue_batch and flush, where commits
    # are grouped).
    for name in ("append", "queue_batch", "flush"):
        if hasattr(store, name):
            setattr(store, name, timed(getattr(store, name)))
    poller = None
    polls = 0
    try:
        if watch is not None:
            base, key, interval = watch
            poller = subprocess.Popen([sys.executable, "-c", POLLER, base, key, str(interval)],
                                      stdout=subprocess.PIPE, text=True)
            assert poller.stdout is not None
            while int(poller.stdout.readline() or 0) == 0:  # the page has loaded once
                pass
        ctl = asktell.Controller(opt, SleepySphere(eval_s), stop={"max_iterations": batches,
                                                      "optimiser_stop": False}, store=store)
        t0 = time.perf_counter()
        ctl.run()
        wall = time.perf_counter() - t0
    finally:
        if poller is not None:
            poller.terminate()
            out, _ = poller.communicate(timeout=10)
            lines = out.split()
            polls = int(lines[-1]) if lines else 0
        store.close()
    return {"store_s": float(np.sum(times)), "per_commit_us": 1e6 * float(np.mean(times)),
            "wall_s": wall, "requests": polls, "calls": len(times)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pairs", type=int, default=6, help="unwatched/watched pairs per rate")
    p.add_argument("--batches", type=int, default=600, help="batches per run")
    p.add_argument("--eval-ms", type=float, default=5.0, help="evaluation sleep per batch")
    p.add_argument("--intervals", type=float, nargs="+", default=[1.0, 0.1],
                   help="poll intervals in seconds (1 s: the page's default refresh)")
    p.add_argument("--quick", action="store_true", help="2 pairs of 200-batch runs")
    args = p.parse_args(argv)
    if args.quick:
        args.pairs, args.batches = 2, 200
    eval_s = args.eval_ms / 1000

    tmp = Path(tempfile.mkdtemp(prefix="dashboard-overhead-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "asktell.cli", "dashboard", str(tmp),
                               "--port", str(port), "--stop-after", "3600"],
                              stdout=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(base + "/api/runs", timeout=2).read()
                break
            except OSError:
                time.sleep(0.05)
        else:
            raise RuntimeError("the dashboard did not start")
        one_run(tmp / "warmup", 50, eval_s, None, seed=99)  # imports, caches, first file

        rows, raw = [], {}
        n = 0
        for interval in args.intervals:
            results: dict[str, list[dict[str, float]]] = {"unwatched": [], "watched": []}
            for pair in range(args.pairs):
                order = ["unwatched", "watched"] if pair % 2 == 0 else ["watched", "unwatched"]
                for mode in order:
                    n += 1
                    name = f"run-{n:03d}"
                    watch = (base, f"0/{name}", interval) if mode == "watched" else None
                    results[mode].append(one_run(tmp / name, args.batches, eval_s, watch,
                                                 seed=pair))
            u = [r["store_s"] for r in results["unwatched"]]
            w = [r["store_s"] for r in results["watched"]]
            ratio = median(w) / median(u)
            pair_ratios = [wi / ui for wi, ui in zip(w, u)]
            reqs = median([r["requests"] for r in results["watched"]])
            wall_w = median([r["wall_s"] for r in results["watched"]])
            rows.append([
                f"{interval:g} s" + (" (page default)" if interval == 1.0 else ""),
                fmt(1e6 * median(u) / args.batches), fmt(1e6 * median(w) / args.batches),
                f"{ratio:.3f}", f"[{quartiles(pair_ratios)[0]:.3f}, "
                f"{quartiles(pair_ratios)[1]:.3f}]", f"{reqs / wall_w:.1f}",
            ])
            raw[f"interval_{interval:g}"] = {"results": results, "ratio_of_medians": ratio,
                                             "pair_ratios": pair_ratios}
    finally:
        server.terminate()
        server.wait(10)

    headline = raw.get("interval_1", next(iter(raw.values())))["ratio_of_medians"]
    table = markdown_table(
        ["poll interval", "store µs/batch unwatched", "store µs/batch watched",
         "watched / unwatched", "pair ratios IQR", "requests/s"], rows)
    print(table)
    print(f"\nwatched / unwatched store time at the page's rate: {headline:.3f} "
          f"(goal <= 1.05: {'met' if headline <= 1.05 else 'missed'})")
    write_results("dashboard_overhead", {
        "machine": machine_info(),
        "settings": {"pairs": args.pairs, "batches": args.batches, "eval_ms": args.eval_ms,
                     "intervals": args.intervals, "quick": args.quick,
                     "optimiser": "xnes d=10", "store": "RunStore (SQLite, WAL)"},
        "raw": raw,
        "ratio": headline,
        "goal": {"text": "watched / unwatched store time <= 1.05 at the page's default refresh "
                         f"(measured {headline:.3f})",
                 "target": 1.05, "met": headline <= 1.05},
    }, table, "Dashboard overhead: the run store's time, watched against unwatched")
    return 0


if __name__ == "__main__":
    sys.exit(main())
