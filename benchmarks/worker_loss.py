"""Worker loss on loky: what a dead worker costs a batch, against the same batch with no loss.

What is measured
    The wall time of one batch of 40 evaluations of 0.1 s each on 2 worker processes
    (``asktell.ParallelEvaluator(f, n_workers=2)``, workers started beforehand) in three cases,
    each repeated and reported as a median:

    * ``no loss`` (the baseline);
    * ``external kill``: one worker is killed with SIGKILL 0.35 s into the batch (a node lost,
      the out-of-memory killer);
    * ``killing candidate``: one candidate's evaluation kills its worker (``os._exit``); it is
      retried once alone before it is blamed.

    For each: the ratio to ``no loss`` in the same run, evaluations scored twice, and whether
    every value is right (and only the killing candidate failed). The ideal for a loss is the
    lost work plus a worker start (about 1.1x here); before the evaluator ran one task per
    worker, the rest of the batch ran one item at a time after a loss (2.5-3.7x, issue 16).

Run ``python benchmarks/worker_loss.py [--quick]``; it writes ``benchmarks/results/
worker_loss.json`` and ``.md``.
"""

from __future__ import annotations

import os
import signal
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import benchmark_parser, fmt, machine_info, markdown_table, median, write_results

import asktell

NAME = "worker_loss"
N_WORKERS = 2
BATCH = 40
DELAY = 0.1
KILL_AFTER = 0.35
KILLER = 13


class Objective:
    """Sleeps ``DELAY``; records each call's pid; the candidate ``KILLER`` may kill its worker."""

    def __init__(self, folder: str, killer: bool) -> None:
        self.folder = folder
        self.killer = killer

    def __call__(self, x: np.ndarray) -> float:
        """Score one candidate.

        Parameters
        ----------
        x : ndarray
            ``[index]``.

        Returns
        -------
        float
            The index.
        """
        with open(os.path.join(self.folder, "calls"), "a") as fh:
            fh.write(f"{int(x[0])} {os.getpid()}\n")
        if self.killer and int(x[0]) == KILLER:
            os._exit(9)
        time.sleep(DELAY)
        return float(x[0])


def _one(case: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        ev = asktell.ParallelEvaluator(Objective(tmp, case == "killing candidate"),
                                       n_workers=N_WORKERS)
        try:
            ev(np.full((N_WORKERS, 1), -1.0))  # start the workers
            calls = Path(tmp) / "calls"
            calls.unlink()
            xs = np.arange(BATCH, dtype=float)[:, None]
            if case == "external kill":
                def kill() -> None:
                    time.sleep(KILL_AFTER)
                    pid = int(calls.read_text().splitlines()[-1].split()[1])
                    os.kill(pid, signal.SIGKILL)

                threading.Thread(target=kill).start()
            t0 = time.perf_counter()
            out = ev(xs)
            wall = time.perf_counter() - t0
            n_calls = len(calls.read_text().splitlines())
        finally:
            ev.close()
    expect = xs[:, 0].copy()
    failed_ok = [e.index for e in out.errors] == ([KILLER] if case == "killing candidate" else [])
    if case == "killing candidate":
        expect[KILLER] = np.nan
    right = bool(np.array_equal(np.asarray(out), expect, equal_nan=True)) and failed_ok
    return {"wall": wall, "calls": n_calls, "right": right}


def main() -> int:
    """Run the benchmark; write the results; return 0."""
    args = benchmark_parser(__doc__, "3 repeats instead of 7").parse_args()
    repeats = 3 if args.quick else 7
    cases = ("no loss", "external kill", "killing candidate")
    raw: dict[str, list[dict[str, Any]]] = {c: [] for c in cases}
    for _ in range(repeats):
        for c in cases:  # interleaved, so that the machine's load is shared alike
            raw[c].append(_one(c))
    wall = {c: median([r["wall"] for r in raw[c]]) for c in cases}
    rows = []
    for c in cases:
        twice = median([r["calls"] - BATCH for r in raw[c]])
        rows.append([c, fmt(wall[c]), f"{wall[c] / wall['no loss']:.2f}x", fmt(twice),
                     all(r["right"] for r in raw[c])])
    table = markdown_table(["case (40 x 0.1 s, 2 workers)", "median s", "vs no loss",
                            "extra calls (median)", "values right"], rows)
    print(table)
    write_results(NAME, {
        "benchmark": NAME, "machine": machine_info(),
        "settings": {"quick": args.quick, "repeats": repeats, "batch": BATCH, "delay": DELAY,
                     "n_workers": N_WORKERS, "kill_after": KILL_AFTER},
        "wall_median": wall,
        "ratios": {c: wall[c] / wall["no loss"] for c in cases},
        "raw": raw,
    }, table, "Worker loss on loky")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
