"""The cINN estimator on a GPU: training and batched posterior sampling on CUDA.

What is measured
    The conjugate Gaussian mean model of ``cinn_gaussian.py`` (θ ∈ R^5, 10 observations, sd 0.1)
    with the same settings (``CINN_GAUSS``) and 10,000 simulations, trained on ``--device``:
    training time, the time of 200 × 1,000 and 1,000 × 1,000 posterior draws (one batched
    inverse pass each), MAE of posterior means in posterior sds, sd ratio, SBC KS max and 90%
    coverage against the analytic posterior, non-finite draws; then the trained estimator's
    state is loaded into a CPU estimator and both sample with the same seed (largest absolute
    difference reported: the checkpoint moves between devices).

Run
    ``python benchmarks/gpu_cinn.py --device cuda`` (under 2 minutes on one H100/H200); writes
    ``benchmarks/results/gpu_cinn.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from _common import fmt, machine_info, markdown_table, write_results
from cinn_gaussian import CINN_GAUSS, evaluate

import asktell
from asktell import serialization
from asktell_cinn import GaussianMean

NAME = "gpu_cinn"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--sims", type=int, default=10_000)
    args = ap.parse_args()
    sim = GaussianMean()
    rng = np.random.default_rng(0)
    est = asktell.create("cinn", simulator=sim, batch_size=args.sims, seed=0,
                         device=args.device, **CINN_GAUSS)
    xs = sim.simulate(np.asarray(est.ask()), rng)
    test_theta = sim.prior.sample(1000, rng)
    test_xs = sim.simulate(test_theta, rng)
    t0 = time.perf_counter()
    est.tell(list(xs))
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
    train_s = time.perf_counter() - t0
    est.sample(test_xs[:10], 100, batched=True, seed=0)  # warm-up
    t0 = time.perf_counter()
    d200 = est.sample(test_xs[:200], 1000, batched=True, seed=1)
    s200 = time.perf_counter() - t0
    t0 = time.perf_counter()
    d1000 = est.sample(test_xs, 1000, batched=True, seed=2)
    s1000 = time.perf_counter() - t0
    res = evaluate(d200, test_theta[:200], sim, test_xs[:200], np.random.default_rng(3))
    cpu = asktell.create("cinn", simulator=sim, batch_size=args.sims, seed=0, device="cpu",
                         **CINN_GAUSS)
    cpu.load_state_dict(serialization.loads(serialization.dumps(est.state_dict())))
    diff = float(np.abs(cpu.sample(test_xs[:5], 100, batched=True, seed=9)
                        - est.sample(test_xs[:5], 100, batched=True, seed=9)).max())
    figures = {"device": args.device, "train_s": train_s, "epochs": est.history[-1]["epochs"],
               "sample_200x1000_s": s200, "sample_1000x1000_s": s1000,
               "nonfinite_1000x1000": int(np.size(d1000) - np.count_nonzero(np.isfinite(d1000))),
               "cpu_vs_device_max_abs_diff": diff, **res}
    gpu_name = torch.cuda.get_device_name() if args.device.startswith("cuda") else "cpu"
    table = markdown_table(
        ["device", "train s", "epochs", "200×1000 draws s", "1000×1000 draws s",
         "MAE / post. sd", "sd ratio", "SBC KS max", "cov. 90%", "CPU vs device max |Δθ|"],
        [[gpu_name, fmt(train_s), str(figures["epochs"]), fmt(s200), fmt(s1000),
          fmt(res["mae_sd"]), fmt(res["sd_ratio"]), fmt(res["sbc_ks_max"]),
          fmt(res["coverage90"]), fmt(diff)]])
    print(table)
    write_results(NAME, {"machine": machine_info(), "settings": {"cinn": CINN_GAUSS,
                                                                 "sims": args.sims},
                         "results": figures}, table, "cINN estimator on a GPU")


if __name__ == "__main__":
    main()
