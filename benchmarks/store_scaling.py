"""Run-store scaling: does committing a batch cost more as the run grows, and does resuming?

What is measured
    1. **Commit cost per batch, early against late.** A run of XNES and of CMA-ES (d = 10,
       sphere, sequential evaluation) to 10,000 batches, and of the cINN (10 simulations a
       batch, Gaussian-mean task, a small network trained one epoch a round, one torch thread)
       to 300 batches (a round trains on every simulation so far: 10,000 batches do not fit),
       each under :class:`asktell.Controller` with a :class:`asktell.RunStore`, every batch
       committed as it is told (``commit_seconds=0``, the worst case) and the default checkpoint
       policy (the full state every 100 batches). The store's ``append`` and ``flush`` are
       timed (a subclass that wraps them); the cost of a batch is the time spent in them,
       checkpoints included, averaged over a window of 100 batches: batches 1-100 ("at batch
       10") against the last 100 ("at batch 10,000", or 300 for the cINN). Ratio late / early;
       and, as information, the same ratio over the 99 batches of each window that carry no
       checkpoint (what appending a batch costs), beside the checkpoint's own time: a method
       whose full state grows with the run (pycma keeps its best and median value every 5
       iterations, up to 20,000 of each, for its ``tolstagnation`` rule) has a checkpoint that
       grows with it. Also as information, the ratio of the windows' medians: a shared
       machine's hiccup, or SQLite folding its write-ahead log into the file (every few hundred
       batches, tens of milliseconds), moves a window's mean by tens of percent when it lands
       in it, the median hardly.
    2. **Resume time.** ``Controller.resume`` of the CMA-ES run directory after 100 and after
       10,000 batches, each killed (no final checkpoint) 50 batches after its last checkpoint,
       so that a resume loads the checkpoint and replays 50 batches: median of repeats.
       Ratio 10,000 / 100.

Baseline and goal (core v2 issue)
    Commit cost at batch 10,000 within 1.2x of batch 10 for XNES, CMA-ES and the cINN; resume
    of the 10,000-batch CMA-ES run within 2x of the 100-batch one. The store overhead against
    the raw loop on the main job's problem is measured by ``benchmarks/logistic_notebook.py``.

Run ``python benchmarks/store_scaling.py [--quick]``; it writes
``benchmarks/results/store_scaling.json`` and ``.md``.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import benchmark_parser, fmt, machine_info, markdown_table, median, write_results

import asktell
from asktell import Controller, RunStore, SequentialEvaluator
from asktell_optim.problems import Sphere

NAME = "store_scaling"
WINDOW = 100
GOAL_COMMIT = 1.2
GOAL_RESUME = 2.0


class TimedStore(RunStore):
    """A run store that adds up the seconds spent committing, per batch."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.seconds: list[float] = []

    def append(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        t = time.perf_counter()
        super().append(*args, **kwargs)
        self.seconds.append(time.perf_counter() - t)


def _method(name: str, seed: int = 1) -> Any:
    d = 10
    if name == "cinn":
        import torch

        from asktell_cinn import CINN

        torch.set_num_threads(1)

        return CINN(simulator=_cinn_simulator(), summary="deepset", batch_size=10, hidden=16,
                    n_blocks=2, summary_dim=4, summary_hidden=16, max_epochs=1,
                    warm_max_epochs=1, validation_fraction=0.0, seed=seed)
    return asktell.create(name, x0=np.full(d, 3.0), sigma0=1.0, seed=seed,
                          **({"max_iterations": 10**6, "tolfun": 0.0, "tolx": 0.0}
                             if name == "cmaes" else {}))


def _cinn_simulator() -> Any:
    from asktell_cinn import GaussianMean

    return GaussianMean(dim=2, n_obs=5)


def _evaluator(name: str) -> Any:
    if name == "cinn":
        return SequentialEvaluator(_cinn_simulator(), output="object")
    return SequentialEvaluator(Sphere())


def commit_cost(name: str, n_batches: int, root: Path) -> dict[str, Any]:
    """Per-batch commit seconds over the first and the last window of a run."""
    run_dir = root / f"commit-{name}"
    RunStore.create(run_dir, {}).close()
    store = TimedStore(run_dir)
    t0 = time.perf_counter()
    Controller(_method(name), _evaluator(name), stop={"max_iterations": n_batches,
                                                      "optimiser_stop": False},
               store=store, progress=False, commit_seconds=0.0,
               checkpoint_seconds=1e9).run()
    wall = time.perf_counter() - t0
    store.close()
    s = np.array(store.seconds)
    early, late = s[:WINDOW].mean(), s[-WINDOW:].mean()
    # the batches without a checkpoint (one every WINDOW batches, at batch WINDOW, 2 WINDOW...)
    plain = (np.arange(s.size) + 1) % WINDOW != 0
    early_plain = s[:WINDOW][plain[:WINDOW]].mean()
    late_plain = s[-WINDOW:][plain[-WINDOW:]].mean()
    return {"method": name, "batches": n_batches, "early_s": early, "late_s": late,
            "ratio": late / early, "run_wall_s": wall,
            "plain_early_s": early_plain, "plain_late_s": late_plain,
            "plain_ratio": late_plain / early_plain,
            "median_ratio": float(np.median(s[-WINDOW:]) / np.median(s[:WINDOW])),
            "checkpoint_early_s": float(s[WINDOW - 1]),
            "checkpoint_late_s": float(s[(len(s) // WINDOW) * WINDOW - 1])}


def resume_time(n_batches: int, root: Path, repeats: int) -> dict[str, Any]:
    """Median seconds of ``Controller.resume`` of a CMA-ES run killed 50 batches after its
    last checkpoint."""
    run_dir = root / f"resume-{n_batches}"
    store = RunStore.create(run_dir, {})
    ctl = Controller(_method("cmaes"), _evaluator("cmaes"),
                     stop={"max_iterations": n_batches + 50, "optimiser_stop": False},
                     store=store, progress=False, checkpoint_seconds=1e9)
    ctl._final_checkpoint = lambda elapsed: store.flush()  # type: ignore[method-assign]
    ctl.run()  # as if killed: the last 50 batches are not in a checkpoint
    store.close()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        r = Controller.resume(run_dir, _method("cmaes"), _evaluator("cmaes"), progress=False)
        times.append(time.perf_counter() - t)
        assert r.optimiser.iterations == n_batches + 50
        r.store.close()  # type: ignore[union-attr]
    return {"batches": n_batches + 50, "median_s": median(times), "times_s": times}


def main() -> None:
    ap = benchmark_parser(__doc__, "1,000 batches (cINN: 200), 3 repeats")
    args = ap.parse_args()
    n_long = 1000 if args.quick else 10_000
    n_cinn = 200 if args.quick else 300
    repeats = 3 if args.quick else 7
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        commits = [commit_cost("xnes", n_long, root), commit_cost("cmaes", n_long, root),
                   commit_cost("cinn", n_cinn, root)]
        short, long_ = resume_time(100, root, repeats), resume_time(n_long, root, repeats)
    resume_ratio = long_["median_s"] / short["median_s"]
    rows = [[c["method"], c["batches"], fmt(1e6 * c["early_s"]), fmt(1e6 * c["late_s"]),
             f"**{c['ratio']:.3f}**", fmt(1e3 * c["checkpoint_early_s"]),
             fmt(1e3 * c["checkpoint_late_s"]), f"{c['plain_ratio']:.3f}",
             f"{c['median_ratio']:.3f}",
             "met" if c["ratio"] <= GOAL_COMMIT else "NOT met"] for c in commits]
    table = markdown_table(
        ["method", "batches", "µs/batch, first 100", "µs/batch, last 100", "late / early",
         "checkpoint ms, early", "checkpoint ms, late",
         "late / early without the checkpoint batch", "late / early, medians",
         f"goal ≤ {GOAL_COMMIT}"], rows)
    table += "\n" + markdown_table(
        ["CMA-ES resume", "batches", "median s"],
        [["short run", short["batches"], fmt(short["median_s"])],
         ["long run", long_["batches"], fmt(long_["median_s"])],
         ["ratio", "", f"**{resume_ratio:.2f}** (goal ≤ {GOAL_RESUME}: "
          f"{'met' if resume_ratio <= GOAL_RESUME else 'NOT met'})"]])
    print(table)
    payload = {
        "machine": machine_info(),
        "settings": {"window": WINDOW, "long_batches": n_long, "cinn_batches": n_cinn,
                     "repeats": repeats, "commit_seconds": 0.0, "checkpoint_every": 100},
        "commits": commits,
        "resume": {"short": short, "long": long_, "ratio": resume_ratio},
        "goal": {"text": f"commit cost late / early <= {GOAL_COMMIT} for every method; "
                         f"resume of the long CMA-ES run / the short one <= {GOAL_RESUME}",
                 "commit_late_over_early": f"<= {GOAL_COMMIT}",
                 "resume_long_over_short": f"<= {GOAL_RESUME}",
                 "met": all(c["ratio"] <= GOAL_COMMIT for c in commits)
                 and resume_ratio <= GOAL_RESUME},
    }
    path = write_results(NAME, payload, table, "Run-store scaling: commit and resume cost")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
