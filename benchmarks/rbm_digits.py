"""BernoulliRBM against scikit-learn's on the binarised digits: exact log-likelihood and fit time.

Usage: ``python benchmarks/rbm_digits.py [--quick] [--device cuda]``.

Data: ``sklearn.datasets.load_digits`` binarised at >= 8 (1,797 images of 64 pixels), split
per seed into 1,500 training and 297 held-out images. Baseline, in the same run:
``sklearn.neural_network.BernoulliRBM(n_components=16, n_iter=20, batch_size=10,
learning_rate=0.05)`` (persistent CD-1 with batch-sized chains, as scikit-learn implements it).
Candidates: asktell's ``BernoulliRBM`` with 16 hidden units (a) with the baseline's settings
(CD-1, batch 10, 20 epochs, lr 0.05, no momentum), and (b) the tuned configuration
(CD-1, batch 50, 30 epochs, lr 0.05, momentum 0.9), on the CPU with one torch thread. Both
models are scored by the *exact* log-likelihood (log Z by enumerating the 2^16 hidden states,
float64), on the training and held-out images, in nats per image; never by pseudo-likelihood.
Five seeds; fit times interleaved (baseline, a, b per seed) after a warm-up, medians reported.
Reference: the independent-pixel (base-rate) model, -25.1 nats on all images.

Goal (issue 7): >= 1 nat better than scikit-learn at <= 1.0x its fit time (CPU).
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
import torch
from _common import fmt, machine_info, markdown_table, median, write_results

NAME = "rbm_digits"
BASELINE = {"n_components": 16, "n_iter": 20, "batch_size": 10, "learning_rate": 0.05}
SAME = {"lr": 0.05, "momentum": 0.0, "batch_size": 10, "epochs": 20}
TUNED = {"lr": 0.05, "momentum": 0.9, "batch_size": 50, "epochs": 30}


def exact_ll(W: np.ndarray, b: np.ndarray, c: np.ndarray, x: np.ndarray) -> float:
    """Mean exact log-likelihood (nats/image) of an RBM given as numpy arrays."""
    from asktell_rbm import BernoulliRBM

    r = BernoulliRBM(W.shape[0], W.shape[1], dtype=torch.float64)
    r.W, r.b, r.c = (torch.as_tensor(a, dtype=torch.float64) for a in (W, b, c))
    return float(r.log_likelihood(x).mean())


def fit_sklearn(x: np.ndarray, seed: int) -> tuple[float, tuple[np.ndarray, ...]]:
    from sklearn.neural_network import BernoulliRBM as SkRBM

    t = time.perf_counter()
    m = SkRBM(random_state=seed, **BASELINE).fit(x)
    dt = time.perf_counter() - t
    return dt, (m.components_.T, m.intercept_visible_, m.intercept_hidden_)


def fit_ours(x: np.ndarray, seed: int, opts: dict[str, Any],
             device: str = "cpu") -> tuple[float, tuple[np.ndarray, ...]]:
    from asktell_rbm import BernoulliRBM

    t = time.perf_counter()
    m = BernoulliRBM(64, 16, seed=seed, device=device, **opts).fit(x)
    if device != "cpu":
        torch.cuda.synchronize()
    dt = time.perf_counter() - t
    return dt, tuple(a.double().cpu().numpy() for a in (m.W, m.b, m.c))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="3 seeds")
    ap.add_argument("--device", default="cpu", help="also time candidate (b) on this device")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    from sklearn.datasets import load_digits

    x_all = (load_digits().data >= 8).astype(np.uint8)
    p = x_all.mean(axis=0)
    with np.errstate(divide="ignore"):
        indep = float(np.where(x_all == 1, np.log(p), np.log1p(-p)).sum(axis=1).mean())
    seeds = range(3 if args.quick else 5)
    # warm-up (imports, torch kernels, sklearn)
    fit_sklearn(x_all[:200], 0)
    fit_ours(x_all[:200], 0, SAME)
    fit_ours(x_all[:200], 0, TUNED)
    rows_raw: dict[str, dict[str, list[float]]] = {
        k: {"time": [], "train": [], "test": []} for k in ("sklearn", "same", "tuned", "device")}
    for seed in seeds:
        idx = np.random.default_rng(seed).permutation(len(x_all))
        tr, te = x_all[idx[:1500]], x_all[idx[1500:]]
        runs: list[tuple[str, Any, tuple]] = [
            ("sklearn", fit_sklearn, (tr, seed)), ("same", fit_ours, (tr, seed, SAME)),
            ("tuned", fit_ours, (tr, seed, TUNED))]
        if args.device != "cpu":
            runs.append(("device", fit_ours, (tr, seed, TUNED, args.device)))
        order = runs if seed % 2 == 0 else runs[::-1]
        for key, fn, fn_args in order:
            dt, params = fn(*fn_args)
            rows_raw[key]["time"].append(dt)
            rows_raw[key]["train"].append(exact_ll(*params, tr))
            rows_raw[key]["test"].append(exact_ll(*params, te))
    med = {k: {m: median(v) for m, v in d.items()} for k, d in rows_raw.items() if d["time"]}
    base = med["sklearn"]
    labels = {"sklearn": "sklearn BernoulliRBM (baseline)",
              "same": "asktell, baseline settings (CD-1, batch 10, 20 ep.)",
              "tuned": "asktell, tuned (CD-1, batch 50, 30 ep., momentum 0.9)",
              "device": f"asktell tuned on {args.device}"}
    rows = []
    for k, m in med.items():
        rows.append([labels[k], fmt(m["train"], 4), fmt(m["test"], 4),
                     fmt(m["train"] - base["train"], 3), fmt(m["time"]),
                     fmt(m["time"] / base["time"])])
    table = markdown_table(
        ["model", "train LL (nats)", "held-out LL", "train LL - sklearn", "fit s",
         "time / sklearn"], rows)
    table += f"\nIndependent-pixel baseline: {indep:.2f} nats/image (all 1,797 images).\n"
    gain = med["tuned"]["train"] - base["train"]
    gain_test = med["tuned"]["test"] - base["test"]
    ratio = med["tuned"]["time"] / base["time"]
    goal = {"text": "asktell tuned >= 1 nat better than sklearn (train and held-out) at <= 1.0x "
                    "its fit time, CPU",
            "met": bool(gain >= 1.0 and gain_test >= 1.0 and ratio <= 1.0),
            "gain_train_nats": gain, "gain_test_nats": gain_test, "time_ratio": ratio}
    payload = {"machine": machine_info(),
               "settings": {"quick": args.quick, "seeds": list(seeds), "baseline": BASELINE,
                            "same": SAME, "tuned": TUNED, "torch_threads": 1,
                            "torch": torch.__version__, "device": args.device},
               "independent_baseline_nats": indep, "raw": rows_raw, "medians": med,
               "goal": goal, "note": "machine shared with other jobs; fits interleaved"}
    write_results(NAME, payload, table, "BernoulliRBM vs scikit-learn on binarised digits")
    print(table)
    print(f"goal met: {goal['met']} ({goal})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
