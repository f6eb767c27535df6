"""Asynchronous against batch-synchronous evaluation: worker utilisation, evaluations to a target.

What is measured
    Objectives that sleep, on :class:`asktell.ParallelEvaluator` with ``backend="threading"``
    (4 workers), so the figures measure scheduling, not CPU: the same on 2 loaded cores. A call
    sleeps a base time, and 1 call in 20 (chosen by a hash of the candidate, so the same points
    are slow in both modes) sleeps a straggler time instead. Each case runs the library's
    :class:`asktell.Controller` twice with the same evaluator settings: ``mode="sync"`` (ask a
    batch, evaluate it whole, tell it) and ``mode="async"`` (4 candidates in flight, each
    result told as it arrives and a free worker refilled at once).

    (a) **Stragglers** (issue 16's case): XNES, popsize 16, sphere d = 10, 0.05 s per call,
        2 s for 1 call in 20, 320 evaluations (20 batches) in each mode. Worker utilisation =
        busy worker-seconds / (workers x wall), the busy time measured inside the objective.
        Goal: async utilisation >= 0.9.
    (b) **Evaluations to a target**: XNES (default popsize 10) and CMA-ES on sphere
        (x0 = 1) and Rosenbrock (x0 = 0.5), d = 10, sigma0 = 0.5, until f < 1e-8, with
        the straggler distribution of (a) scaled by 0.05 (2.5 ms per call, 100 ms for 1 in
        20) to keep the run short. Goal: async needs <= 1.3x the evaluations of sync, in
        <= 0.6x the wall time.

    Settings (x0, sigma0, the time scale of (b), the NES stale-result policy) were chosen on
    seeds 0-1; the figures reported are seeds 2-4 (``--seeds`` changes that).

Run ``python benchmarks/async_stragglers.py [--quick]`` (about 10 minutes; ``--quick``: one
seed, (b) on sphere only); it writes ``benchmarks/results/async_stragglers.json`` and ``.md``.
"""

from __future__ import annotations

import threading
import time
import zlib
from typing import Any

import numpy as np
from _common import benchmark_parser, fmt, machine_info, markdown_table, median, write_results

import asktell

NAME = "async_stragglers"
WORKERS = 4
GOAL_UTIL = 0.9
GOAL_EVALS = 1.3
GOAL_WALL = 0.6


def sphere(x: np.ndarray) -> float:
    return float(x @ x)


def rosenbrock(x: np.ndarray) -> float:
    return float(np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2))


PROBLEMS = {"sphere": (sphere, 1.0), "rosenbrock": (rosenbrock, 0.5)}


class Sleeper:
    """An objective that sleeps (base, or straggler for 1 call in 20) and logs busy time."""

    def __init__(self, f: Any, base: float, straggler: float) -> None:
        self.f, self.base, self.straggler = f, base, straggler
        self.spans: list[tuple[float, float]] = []
        self._lock = threading.Lock()

    def __call__(self, x: np.ndarray) -> float:
        t0 = time.perf_counter()
        slow = zlib.crc32(np.ascontiguousarray(x).tobytes()) % 20 == 0
        time.sleep(self.straggler if slow else self.base)
        v = self.f(x)
        with self._lock:
            self.spans.append((t0, time.perf_counter()))
        return v

    def busy(self, start: float, end: float) -> float:
        with self._lock:
            return sum(max(0.0, min(b, end) - max(a, start)) for a, b in self.spans)


def one_run(method: str, problem: str, mode: str, seed: int, *, base: float, straggler: float,
            stop: dict[str, Any], popsize: int | None = None) -> dict[str, Any]:
    f, x0 = PROBLEMS[problem]
    obj = Sleeper(f, base, straggler)
    opt = asktell.create(method, x0=np.full(10, x0), sigma0=0.5, popsize=popsize, seed=seed)
    with asktell.ParallelEvaluator(obj, WORKERS, backend="threading") as ev:
        ctl = asktell.Controller(opt, ev, mode=mode, stop=stop, progress=False)
        t0 = time.perf_counter()
        r = ctl.run()
        t1 = time.perf_counter()
    wall = t1 - t0
    return {"method": method, "problem": problem, "mode": mode, "seed": seed,
            "evaluations": r.evaluations, "iterations": r.iterations, "fbest": r.fbest,
            "wall_s": wall, "stop": r.stop_reason,
            "utilisation": obj.busy(t0, t1) / (WORKERS * wall)}


def stragglers(seeds: list[int]) -> list[dict[str, Any]]:
    out = []
    for seed in seeds:
        for mode in ("sync", "async"):
            out.append(one_run("xnes", "sphere", mode, seed, base=0.05, straggler=2.0,
                               popsize=16, stop={"max_evaluations": 320}))
            print(f"  (a) seed {seed} {mode}: utilisation {out[-1]['utilisation']:.3f}, "
                  f"wall {out[-1]['wall_s']:.1f} s", flush=True)
    return out


def to_target(seeds: list[int], methods: list[str], problems: list[str],
              scale: float) -> list[dict[str, Any]]:
    out = []
    stop = {"target": 1e-8, "max_evaluations": 60_000}
    for method in methods:
        for problem in problems:
            for seed in seeds:
                for mode in ("sync", "async"):
                    r = one_run(method, problem, mode, seed, base=0.05 * scale,
                                straggler=2.0 * scale, stop=stop)
                    r["reached"] = r["stop"] == {"target": 1e-8}
                    out.append(r)
                    print(f"  (b) {method} {problem} seed {seed} {mode}: {r['evaluations']} "
                          f"evaluations, {r['wall_s']:.1f} s, stop {r['stop']}", flush=True)
    return out


def main() -> None:
    ap = benchmark_parser(__doc__, "one seed; (b) on sphere only")
    ap.add_argument("--seeds", type=int, nargs="+", default=None,
                    help="seeds to report (default 2 3 4; settings were chosen on 0 1)")
    ap.add_argument("--scale", type=float, default=0.05,
                    help="time scale of (b) against (a)'s 0.05 s / 2 s (default 0.05)")
    args = ap.parse_args()
    seeds = args.seeds or ([2] if args.quick else [2, 3, 4])
    problems = ["sphere"] if args.quick else ["sphere", "rosenbrock"]
    methods = ["xnes", "cmaes"]
    a = stragglers(seeds)
    b = to_target(seeds, methods, problems, args.scale)

    util = {m: median([r["utilisation"] for r in a if r["mode"] == m]) for m in ("sync", "async")}
    wall = {m: median([r["wall_s"] for r in a if r["mode"] == m]) for m in ("sync", "async")}
    rows = [[m, fmt(util[m]), fmt(wall[m])] for m in ("sync", "async")]
    table = ("(a) XNES popsize 16, 4 workers, 0.05 s per call, 2 s for 1 in 20, 320 evaluations "
             f"(median over seeds {seeds}):\n\n")
    table += markdown_table(["mode", "worker utilisation", "wall s"], rows)
    util_met = util["async"] >= GOAL_UTIL
    table += (f"\nasync utilisation {util['async']:.3f} (goal >= {GOAL_UTIL}: "
              f"{'met' if util_met else 'NOT met'}); sync {util['sync']:.3f}.\n\n")

    cases = []
    brows = []
    for method in methods:
        for problem in problems:
            for seed in seeds:
                s = next(r for r in b if (r["method"], r["problem"], r["seed"], r["mode"])
                         == (method, problem, seed, "sync"))
                q = next(r for r in b if (r["method"], r["problem"], r["seed"], r["mode"])
                         == (method, problem, seed, "async"))
                ok = s["reached"] and q["reached"]
                ev_ratio = q["evaluations"] / s["evaluations"]
                wall_ratio = q["wall_s"] / s["wall_s"]
                cases.append({"method": method, "problem": problem, "seed": seed,
                              "both_reached": ok, "evaluations_ratio": ev_ratio,
                              "wall_ratio": wall_ratio})
                brows.append([method, problem, seed,
                              f"{s['evaluations']}{'' if s['reached'] else ' (not reached)'}",
                              f"{q['evaluations']}{'' if q['reached'] else ' (not reached)'}",
                              f"**{ev_ratio:.2f}**", fmt(s["wall_s"]), fmt(q["wall_s"]),
                              f"**{wall_ratio:.2f}**"])
    table += (f"(b) f < 1e-8, d = 10, 4 workers, {0.05 * args.scale * 1e3:g} ms per call, "
              f"{2.0 * args.scale * 1e3:g} ms for 1 in 20:\n\n")
    table += markdown_table(["method", "problem", "seed", "sync evaluations",
                             "async evaluations", "async / sync", "sync wall s",
                             "async wall s", "async / sync"], brows)
    reached = [c for c in cases if c["both_reached"]]
    med_ev = median([c["evaluations_ratio"] for c in reached]) if reached else float("nan")
    med_wall = median([c["wall_ratio"] for c in reached]) if reached else float("nan")
    worst_ev = max((c["evaluations_ratio"] for c in reached), default=float("nan"))
    worst_wall = max((c["wall_ratio"] for c in reached), default=float("nan"))
    b_met = bool(reached) and len(reached) == len(cases) and worst_ev <= GOAL_EVALS \
        and worst_wall <= GOAL_WALL
    table += (f"\nmedian async/sync: evaluations {med_ev:.2f}, wall {med_wall:.2f}; worst: "
              f"evaluations {worst_ev:.2f}, wall {worst_wall:.2f} (goal <= {GOAL_EVALS} and "
              f"<= {GOAL_WALL} in every case: {'met' if b_met else 'NOT met'}); "
              f"{len(cases) - len(reached)} cases where a mode missed the target.\n")
    print(table)
    payload = {
        "machine": machine_info(),
        "settings": {"quick": args.quick, "seeds": seeds, "workers": WORKERS,
                     "backend": "threading", "scale_b": args.scale,
                     "chosen_on_seeds": [0, 1]},
        "stragglers": a, "to_target": b, "cases": cases,
        "summary": {"utilisation": util, "wall_a": wall, "median_evaluations_ratio": med_ev,
                    "median_wall_ratio": med_wall, "worst_evaluations_ratio": worst_ev,
                    "worst_wall_ratio": worst_wall},
        "goal": {"text": f"async utilisation >= {GOAL_UTIL}; async <= {GOAL_EVALS}x the "
                         f"evaluations of sync in <= {GOAL_WALL}x the wall time",
                 "met": util_met and b_met},
    }
    path = write_results(NAME, payload, table, "Asynchronous evaluation with stragglers")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
