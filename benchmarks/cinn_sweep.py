"""The settings sweep behind ``CINN_GAUSS`` in ``cinn_gaussian.py`` (docs/cinn.md).

Each configuration (JSON on the command line) trains asktell's cINN on the 10,000 Gaussian-task
simulations the estimator asks with seed 0, then reports training seconds, MAE of posterior means
in posterior sds, sd ratio, SBC KS max and 90% coverage on 200 test data sets × 1,000 draws (the
test sets of ``cinn_gaussian.py``). One thread. Prints one line per configuration; writes no
result file (the figures are quoted in docs/cinn.md).

Run, e.g.::

    python benchmarks/cinn_sweep.py '{"summary": "identity", "n_blocks": 2, "hidden": 16,
        "train_batch_size": 256, "max_epochs": 100, "patience": 100, "lr": 1e-3}'
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import torch
from cinn_gaussian import evaluate

import asktell
from asktell_cinn import GaussianMean


def main() -> None:
    torch.set_num_threads(1)
    for arg in sys.argv[1:]:
        kw = json.loads(arg)
        sim = GaussianMean()
        rng = np.random.default_rng(0)
        est = asktell.create("cinn", simulator=sim, batch_size=10000, seed=0, **kw)
        xs = sim.simulate(np.asarray(est.ask()), rng)
        tt = sim.prior.sample(200, rng)
        txs = sim.simulate(tt, rng)
        t0 = time.perf_counter()
        est.tell(list(xs))
        train = time.perf_counter() - t0
        d = est.sample(txs, 1000, batched=True, seed=1)
        r = evaluate(d, tt, sim, txs, rng)
        keep = ("mae_sd", "sd_ratio", "sbc_ks_max", "coverage90")
        print(kw, f"train {train:.1f} s", {k: round(r[k], 3) for k in keep}, flush=True)


if __name__ == "__main__":
    main()
