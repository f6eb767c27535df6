"""The cINN on the paper's kinds of model: a population-dynamics model (stochastic Ricker) and an
epidemic (stochastic SIR), each with a learned summary network, against sbi's NPE with a learned
embedding net on the same simulations, in one process.

Paper
    Radev, Mertens, Voss, Ardizzone & Köthe (2020). BayesFlow: Learning complex stochastic
    models with invertible neural networks. *IEEE TNNLS* 33(4), 1452-1466.
    doi:10.1109/TNNLS.2020.3042395. Its applications include population dynamics and
    epidemiology, with summary networks learned jointly with the cINN (recurrent and
    convolutional ones for time series).

What is run
    Per task, 10,000 simulations (θ from the prior; ``--n-sims``) drawn once and given to every
    method; 200 test data sets from the prior (another seed), 1,000 posterior draws each:

    * ``ricker``: N_{t+1} = r N_t exp(-N_t + e_t), e_t ~ N(0, σ²), y_t ~ Poisson(φ N_t),
      50 observed steps after 50 unobserved ones; θ = (log r, σ, φ) ~ U([3, 5] × [0.05, 0.6] ×
      [4, 15]) (Wood 2010, doi:10.1038/nature09319). Data: log(1 + y_t), shape (50, 1).
    * ``sir``: asktell's chain-binomial SIR, infected fraction every 10 days for 160 days,
      θ = (log β, log γ) with the sbibm SIR prior. Data: shape (16, 1).

    Methods (torch on 1 thread; the same epoch cap for all):

    * asktell ``cinn`` with the 1-D convolutional summary (``summary="conv1d"``) and with the
      LSTM summary (``summary="lstm"``), 16-d summary of width 32; 4 coupling blocks of width
      64; batch 256, up to ``--epochs`` epochs, patience 10;
    * sbi 0.27 ``NPE`` (MAF, 5 transforms of width 50, its defaults) with sbi's
      ``CNNEmbedding`` (2 conv layers, 16-d output) trained jointly, batch 256, the same epoch
      cap, its default early stopping (20 epochs).

What is reported
    SBC: the largest KS distance of the rank statistics from uniform over the dimensions, and
    whether every dimension passes at 5%; R² of posterior means against the true θ (mean over
    dimensions, and per dimension in the JSON); 90% coverage (mean over dimensions); training
    time and its ratio to sbi's in the same run; sampling time for 200 × 1,000 draws.

Run
    ``pip install sbi==0.27.0`` then ``python benchmarks/cinn_models.py`` (``--quick``:
    2,000 simulations, 20 epochs). Writes ``benchmarks/results/cinn_models.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from typing import Any

import numpy as np
import torch
from _common import machine_info, markdown_table, write_results
from threadpoolctl import threadpool_limits

import asktell
from asktell_cinn.diagnostics import coverage, r2, sbc_ranks, sbc_test

NAME = "cinn_models"
log = logging.getLogger(NAME)


class LogCounts:
    """The Ricker simulator with log(1 + y) data (the same input for every method)."""

    def __init__(self, sim: Any) -> None:
        self.sim, self.prior, self.name = sim, sim.prior, sim.name

    def simulate(self, theta: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return np.log1p(self.sim.simulate(theta, rng))


def make_task(name: str) -> Any:
    """The simulator of a task, with its data transform."""
    sim = asktell.get("simulator", name)()
    return LogCounts(sim) if name == "ricker" else sim


def torch_prior(prior: Any) -> Any:
    """The sbi/torch form of an asktell prior."""
    if hasattr(prior, "low"):
        from sbi.utils import BoxUniform

        return BoxUniform(torch.as_tensor(prior.low, dtype=torch.float32),
                          torch.as_tensor(prior.high, dtype=torch.float32))
    mean = torch.as_tensor(prior.mean(), dtype=torch.float32)
    sd = torch.as_tensor(prior.std(), dtype=torch.float32)
    return torch.distributions.Independent(torch.distributions.Normal(mean, sd), 1)


def scores(theta: np.ndarray, draws: np.ndarray, rng: np.random.Generator) -> dict[str, Any]:
    """SBC, R² of posterior means and 90% coverage of draws (B, n, d) for true θ (B, d)."""
    ok = np.isfinite(draws).all(axis=(1, 2))
    d, t = draws[ok], theta[ok]
    test = sbc_test(sbc_ranks(t, d), d.shape[1], rng)
    r = r2(t, d.mean(1))
    cov = coverage(t, d, 0.9)
    return {"sbc_ks_max": float(test["ks_max"]), "sbc_passed": bool(test["passed"]),
            "r2_mean": float(r.mean()), "r2": r.tolist(), "coverage90": float(cov.mean()),
            "coverage90_per_dim": cov.tolist(), "nonfinite_sets": int((~ok).sum())}


def make_cinn(task: Any, n: int, summary: str, epochs: int, subnets: int = 2) -> Any:
    """asktell's cINN for a task (seed 0: every one asks the same θ first)."""
    return asktell.create("cinn", prior=task.prior, batch_size=n, seed=0, summary=summary,
                          summary_dim=16, summary_hidden=32, n_blocks=4, hidden=64,
                          train_batch_size=256, max_epochs=epochs, patience=10, subnets=subnets)


def run_cinn(task: Any, theta: np.ndarray, xs: np.ndarray, summary: str, epochs: int,
             test_x: np.ndarray, n_draws: int, subnets: int = 2) -> dict[str, Any]:
    """Train asktell's cINN on the simulations; draws for the test sets."""
    est = make_cinn(task, len(theta), summary, epochs, subnets)
    asked = np.asarray(est.ask())
    if not np.array_equal(asked, theta):
        raise RuntimeError("the estimator asked other θ than the simulations were made for")
    t0 = time.perf_counter()
    est.tell(list(xs))
    train_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    draws = est.sample(list(test_x), n_draws, batched=True, seed=1)
    return {"train_s": train_s, "sample_s": time.perf_counter() - t1,
            "epochs": est.history[-1]["epochs"], "draws": draws}


def run_sbi(task: Any, theta: np.ndarray, xs: np.ndarray, epochs: int, test_x: np.ndarray,
            n_draws: int) -> dict[str, Any]:
    """sbi's NPE (MAF) with a CNN embedding net trained jointly."""
    from sbi.inference import NPE
    from sbi.neural_nets import posterior_nn
    from sbi.neural_nets.embedding_nets import CNNEmbedding
    from torch.utils.tensorboard import SummaryWriter

    torch.manual_seed(0)
    steps = xs.shape[1]
    embed = CNNEmbedding(input_shape=(steps,), in_channels=1, num_conv_layers=2,
                         output_dim=16, kernel_size=5, pool_kernel_size=2)
    net = posterior_nn("maf", embedding_net=embed)
    inf = NPE(prior=torch_prior(task.prior), density_estimator=net, show_progress_bars=False,
              summary_writer=SummaryWriter(tempfile.mkdtemp(prefix="sbi-logs-")))
    x = torch.as_tensor(xs.reshape(len(xs), steps), dtype=torch.float32)
    t0 = time.perf_counter()
    inf.append_simulations(torch.as_tensor(theta, dtype=torch.float32), x)
    inf.train(training_batch_size=256, max_num_epochs=epochs)
    train_s = time.perf_counter() - t0
    post = inf.build_posterior()
    tx = torch.as_tensor(test_x.reshape(len(test_x), steps), dtype=torch.float32)
    t1 = time.perf_counter()
    out = post.sample_batched((n_draws,), x=tx, show_progress_bars=False)
    return {"train_s": train_s, "sample_s": time.perf_counter() - t1,
            "epochs": int(inf._summary["epochs_trained"][-1]),
            "draws": out.permute(1, 0, 2).double().numpy()}


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", nargs="+", default=["ricker", "sir"])
    ap.add_argument("--n-sims", type=int, default=10000)
    ap.add_argument("--n-test", type=int, default=200)
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--methods", nargs="+", default=["sbi", "conv1d", "lstm"])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--name", default=NAME)
    args = ap.parse_args(argv)
    if args.quick:
        args.n_sims, args.epochs, args.n_test, args.draws = 2000, 20, 100, 500
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    threadpool_limits(1)
    torch.set_num_threads(1)
    t_all = time.perf_counter()
    results: dict[str, Any] = {}
    rows = []
    for tname in args.tasks:
        task = make_task(tname)
        rng = np.random.default_rng(0)
        # the θ the cINN asks first (seed 0), simulated once and given to every method
        theta = np.array(make_cinn(task, args.n_sims, "conv1d", args.epochs).ask())
        xs = np.asarray(task.simulate(theta, rng), dtype=float)
        trng = np.random.default_rng(1)
        test_theta = task.prior.sample(args.n_test, trng)
        test_x = np.asarray(task.simulate(test_theta, trng), dtype=float)
        res: dict[str, Any] = {}
        for method in args.methods:
            log.info("%s: %s", tname, method)
            if method == "sbi":
                out = run_sbi(task, theta, xs, args.epochs, test_x, args.draws)
            else:
                out = run_cinn(task, theta, xs, method, args.epochs, test_x, args.draws)
            draws = out.pop("draws")
            out.update(scores(test_theta, draws, np.random.default_rng(2)))
            res[method] = out
            log.info("%s %s: %s", tname, method, {k: v for k, v in out.items()
                                                  if not isinstance(v, list)})
        base = res.get("sbi", {}).get("train_s")
        for method, out in res.items():
            out["train_ratio_to_sbi"] = None if base is None else out["train_s"] / base
            label = {"sbi": "sbi NPE-MAF + CNNEmbedding", "conv1d": "asktell cinn + conv1d",
                     "lstm": "asktell cinn + LSTM"}[method]
            rows.append([tname, label, f"{out['sbc_ks_max']:.3f}",
                         "yes" if out["sbc_passed"] else "no", f"{out['r2_mean']:.3f}",
                         f"{out['coverage90']:.3f}", out["epochs"], f"{out['train_s']:.1f}",
                         "-" if base is None else f"{out['train_ratio_to_sbi']:.2f}",
                         f"{out['sample_s']:.2f}"])
        results[tname] = res
        table = markdown_table(["task", "method", "SBC KS max", "SBC passes (5%)",
                                "R² of posterior means", "90% coverage", "epochs", "train s",
                                "× sbi", "200×1000 draws s"], rows)
        write_results(args.name, {
            "machine": machine_info(),
            "settings": vars(args) | {"threads": 1},
            "results": results, "seconds": time.perf_counter() - t_all,
            "goal": {"text": "information: the paper's kinds of model against sbi's NPE with an "
                     "embedding net on the same simulations", "met": True},
        }, table, f"cINN on a population-dynamics and an epidemic model, {args.n_sims:,} "
           f"simulations, {args.n_test} test sets × {args.draws} draws")
        print(table, flush=True)


if __name__ == "__main__":
    main()
