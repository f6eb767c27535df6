"""Runs for the dashboard's tests: a small XNES run whose objective fails on part of the domain.

As a script, ``python tests/dashboard_runs.py RUN_DIR ITERATIONS [SECONDS_PER_BATCH]`` writes one
in another process (the live run the browser test watches).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

import asktell
from asktell.store import RunStore

FAIL_MESSAGE = "below the model's domain"


def objective(x: np.ndarray) -> float:
    """Sphere, failing with a ValueError where x0 < -1."""
    if x[0] < -1.0:
        raise ValueError(f"x0 = {x[0]:.3f} is {FAIL_MESSAGE}")
    return float(np.sum(np.asarray(x) ** 2))


def make_run(path: str | Path, iterations: int, seconds_per_batch: float = 0.0,
             seed: int = 0) -> Path:
    """Run XNES from (1, 1) with sigma 1 (item 0 of batch 2 fails at seed 0) into ``path``."""
    opt = asktell.create("xnes", x0=[1.0, 1.0], sigma0=1.0, seed=seed)
    store = RunStore.create(path, {"optimiser": opt.name, "status": "created",
                                   "direction": "minimise"})
    callbacks = [lambda info: time.sleep(seconds_per_batch)] if seconds_per_batch else []
    ctl = asktell.Controller(opt, asktell.SequentialEvaluator(objective),
                             stop={"max_iterations": iterations, "optimiser_stop": False},
                             store=store,
                             callbacks=callbacks)
    try:
        ctl.run()
    finally:
        store.close()
    return Path(path)


if __name__ == "__main__":
    make_run(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]) if len(sys.argv) > 3 else 0.0)
