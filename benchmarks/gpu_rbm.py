"""GPU timing of the RBM plugin: a 784x500 RBM on MNIST-size random data, and RBM-EDA generations.

Usage: ``python benchmarks/gpu_rbm.py --device cuda [--quick]`` (runs in about a minute on one
H100; without CUDA, ``--device cpu`` times the CPU only).

Measured in one run, CPU (torch with all cores) against the device:

1. **Model building**: one epoch of CD-1 (batch 100, 600 updates) of a 784x500
   ``BernoulliRBM`` on 60,000 random binary images (pixels on with probability 0.13, MNIST's
   mean), float32. Then sampling 10,000 vectors by 25 Gibbs sweeps.
2. **RBM-EDA generations** (OneMax, as the fitness only drives selection), n = 100 and
   n = 784, m = n/2 hidden units, N = 5,000, the documented configuration of
   ``benchmarks/rbm_eda.py`` but 10 training epochs: seconds per generation of model building
   (``tell``: selection + training) and sampling (``ask``: 25 Gibbs sweeps), medians over
   generations after a warm-up generation. Probst et al. (2017) report a ~220x GPU speed-up at
   n = 100 over a nested-loop CPU code; this compares against a vectorised (BLAS) CPU code,
   so expect much less.
3. **AIS** (Salakhutdinov & Murray's 14,500 temperatures, 100 runs, float32) of the trained
   784x500 model on the device only (the CPU would take minutes).

Writes ``results/gpu_rbm.json`` and ``gpu_rbm.md``.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
import torch
from _common import fmt, machine_info, markdown_table, median, write_results

NAME = "gpu_rbm"


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def time_fit(device: str, data: np.ndarray, epochs: int) -> dict[str, Any]:
    from asktell_rbm import BernoulliRBM

    x = torch.as_tensor(data, dtype=torch.float32, device=device)
    rbm = BernoulliRBM(784, 500, lr=0.05, momentum=0.5, batch_size=100, seed=0, device=device)
    rbm.fit(x[:1000], epochs=1)  # warm-up
    sync(device)
    t = time.perf_counter()
    rbm.fit(x, epochs=epochs)
    sync(device)
    fit_s = (time.perf_counter() - t) / epochs
    t = time.perf_counter()
    n_s = min(10_000, x.shape[0])
    s = rbm.sample(n_s, k=25, init=x[:n_s])
    sync(device)
    sample_s = time.perf_counter() - t
    return {"epoch_s": fit_s, "sample_10k_25_sweeps_s": sample_s, "rbm": rbm,
            "mean_sample": float(s.mean())}


def time_eda(device: str, n: int, popsize: int, generations: int) -> dict[str, Any]:
    from asktell_rbm import RBMEDA

    opt = RBMEDA(n_bits=n, popsize=popsize, replacement="elitist", epochs=10, lr=0.1,
                 momentum=0.9, batch_size=100, seed=0, device=device)
    ask, tell = [], []
    for _ in range(generations + 1):
        sync(device)
        a = time.perf_counter()
        xs = opt.ask()
        sync(device)
        b = time.perf_counter()
        vals = xs.sum(axis=1)
        c = time.perf_counter()
        opt.tell(vals)
        sync(device)
        d = time.perf_counter()
        ask.append(b - a)
        tell.append(d - c)
    # the first ask is uniform sampling and the first tell includes start-up: dropped
    return {"model_s": median(tell[1:]), "sampling_s": median(ask[1:]),
            "generation_s": median([x + y for x, y in zip(ask[1:], tell[1:])]),
            "best": opt.fbest()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--quick", action="store_true", help="fewer generations, smaller data")
    args = ap.parse_args(argv)
    dev = args.device
    if dev.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit("--device cuda asked for, but torch sees no CUDA device")
    rng = np.random.default_rng(0)
    n_images = 10_000 if args.quick else 60_000
    data = (rng.random((n_images, 784)) < 0.13).astype(np.uint8)
    gens = 1 if args.quick else 2
    devices = ["cpu"] if dev == "cpu" else ["cpu", dev]
    out: dict[str, Any] = {"fit": {}, "eda": {}, "ais": None}
    for d in devices:
        r = time_fit(d, data, 1)
        rbm = r.pop("rbm")
        out["fit"][d] = r
        for n in (100, 784):
            out["eda"][f"{d}|n={n}"] = time_eda(d, n, 5_000, gens)
        if d != "cpu":
            t = time.perf_counter()
            z = rbm.log_partition("ais", n_runs=100, dtype=torch.float32)
            sync(d)
            out["ais"] = {"seconds": time.perf_counter() - t, "log_z": z.log_z,
                          "lower": z.lower, "upper": z.upper, "device": d}
    rows = []
    fit_cpu = out["fit"]["cpu"]
    for d in devices:
        f = out["fit"][d]
        rows.append([f"784x500 CD-1 epoch ({n_images:,} images, batch 100)", d,
                     fmt(f["epoch_s"]), fmt(fit_cpu["epoch_s"] / f["epoch_s"])])
        rows.append(["sample 10,000 x 25 Gibbs sweeps", d, fmt(f["sample_10k_25_sweeps_s"]),
                     fmt(fit_cpu["sample_10k_25_sweeps_s"] / f["sample_10k_25_sweeps_s"])])
    for n in (100, 784):
        cpu = out["eda"][f"cpu|n={n}"]
        for d in devices:
            e = out["eda"][f"{d}|n={n}"]
            rows.append([f"RBM-EDA n={n}, N=5,000: model building / gen", d,
                         fmt(e["model_s"]), fmt(cpu["model_s"] / e["model_s"])])
            rows.append([f"RBM-EDA n={n}, N=5,000: sampling / gen", d,
                         fmt(e["sampling_s"]), fmt(cpu["sampling_s"] / e["sampling_s"])])
    if out["ais"]:
        a = out["ais"]
        rows.append([f"AIS 784x500, 100 runs x 14,500 temperatures (log Z = {a['log_z']:.2f} "
                     f"[{a['lower']:.2f}, {a['upper']:.2f}])", a["device"], fmt(a["seconds"]),
                     "-"])
    table = markdown_table(["what", "device", "seconds", "CPU / device"], rows)
    gpu_name = torch.cuda.get_device_name(0) if dev.startswith("cuda") else None
    payload = {"machine": {**machine_info(), "gpu": gpu_name,
                           "torch_threads": torch.get_num_threads()},
               "settings": {"quick": args.quick, "device": dev, "n_images": n_images,
                            "eda_generations": gens, "torch": torch.__version__},
               "results": out, "goal": {}}
    write_results(NAME, payload, table, f"RBM timings, CPU vs {gpu_name or dev}")
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
