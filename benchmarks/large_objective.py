"""A large objective on worker processes: sent once per worker, against once per task.

What is measured
    Wall time of 10 batches of 100 cheap evaluations on 2 worker processes (workers started
    beforehand by one untimed batch) of an objective that holds a float64 matrix of
    ``SIZE`` x ``SIZE`` (8 MB at 1,000, as a KRR cross-validation objective holds its distance
    matrix):

    * ``asktell``: ``asktell.ParallelEvaluator(f, n_workers=2)``, which sends ``f`` to each
      worker once, with its first task;
    * ``per task`` (the baseline): the same chunks submitted by hand to two one-worker
      ``loky.ProcessPoolExecutor``s, ``f`` pickled with every task, as asktell did before
      (and as ``executor.submit(f_chunk, f, chunk)`` does).

    Both use the chunk sizes asktell chose (its ``n_tasks``), in the same run; medians of
    repeats, ratio = per task / asktell.

Run ``python benchmarks/large_objective.py [--quick]``; it writes
``benchmarks/results/large_objective.json`` and ``.md``.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from _common import benchmark_parser, fmt, machine_info, markdown_table, median, write_results
from loky import ProcessPoolExecutor

import asktell

NAME = "large_objective"
SIZE = 1000
BATCHES = 10
BATCH = 100


class Objective:
    """Holds a ``size`` x ``size`` matrix; scores a candidate by one row's sum."""

    def __init__(self, size: int) -> None:
        self.matrix = np.random.default_rng(0).random((size, size))

    def __call__(self, x: np.ndarray) -> float:
        """Score one candidate.

        Parameters
        ----------
        x : ndarray
            ``[row, anything]``.

        Returns
        -------
        float
        """
        return float(self.matrix[int(x[0]) % len(self.matrix)].sum())


def score_chunk(f: Objective, chunk: np.ndarray) -> list[float]:
    """What a hand-written per-task submission runs in the worker.

    Parameters
    ----------
    f : Objective
        Sent with the task.
    chunk : ndarray
        Candidates.

    Returns
    -------
    list of float
    """
    return [f(x) for x in chunk]


def run_asktell(f: Objective, xs: np.ndarray) -> tuple[float, int]:
    """Seconds for the timed batches, and the tasks per batch asktell used."""
    ev = asktell.ParallelEvaluator(f, n_workers=2)
    try:
        ev(xs)
        before = ev.n_tasks
        t0 = time.perf_counter()
        for _ in range(BATCHES):
            ev(xs)
        return time.perf_counter() - t0, (ev.n_tasks - before) // BATCHES
    finally:
        ev.close()


def run_per_task(f: Objective, xs: np.ndarray, tasks: int) -> float:
    """Seconds for the timed batches with ``f`` pickled into every one of ``tasks`` tasks."""
    pools = [ProcessPoolExecutor(max_workers=1) for _ in range(2)]
    chunks = np.array_split(xs, tasks)
    try:
        [p.submit(abs, -1).result() for p in pools]
        t0 = time.perf_counter()
        for _ in range(BATCHES):
            futures = [pools[i % 2].submit(score_chunk, f, c) for i, c in enumerate(chunks)]
            [fut.result() for fut in futures]
        return time.perf_counter() - t0
    finally:
        for p in pools:
            p.shutdown(wait=True)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark and write its results.

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments.

    Returns
    -------
    dict
        The payload written to ``results/large_objective.json``.
    """
    p = benchmark_parser(__doc__, "3 repeats")
    args = p.parse_args(argv)
    repeats = 3 if args.quick else 7
    f = Objective(SIZE)
    xs = np.column_stack([np.arange(BATCH, dtype=float), np.zeros(BATCH)])
    ours: list[float] = []
    theirs: list[float] = []
    tasks = 0
    for _ in range(repeats):
        secs, tasks = run_asktell(f, xs)
        ours.append(secs)
        theirs.append(run_per_task(f, xs, tasks))
    a, b = median(ours), median(theirs)
    table = markdown_table(
        ["objective", "tasks per batch", "asktell s", "per task s", "per task / asktell"],
        [[f"{SIZE} x {SIZE} float64 ({f.matrix.nbytes / 2**20:.1f} MiB)", tasks, fmt(a),
          fmt(b), f"**{b / a:.1f}**"]])
    payload = {"machine": machine_info(),
               "settings": {"size": SIZE, "batches": BATCHES, "batch": BATCH,
                            "repeats": repeats, "quick": args.quick},
               "figures": {"asktell_s": ours, "per_task_s": theirs, "tasks_per_batch": tasks,
                           "ratio": b / a}}
    print(table)
    write_results(NAME, payload, table, "A large objective on worker processes")
    return payload


if __name__ == "__main__":
    main()
