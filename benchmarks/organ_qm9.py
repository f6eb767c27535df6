"""ORGAN and SA-ORGAN on QM9 5k: reward curves with R = validity and R = novelty, MOSES metrics
before and after reinforcement learning, and a QED run (the SA-ORGAN paper's figures 3–6).

What is run
    For each generator (``organ``, ``sa-organ``) and seed: maximum-likelihood pretraining on the
    shipped QM9 5k set (asktell's default preset: embedding 64, LSTM 256, early stopping on
    held-out NLL), then, from that pretrained state, ``--epochs`` adversarial epochs with
    R = validity and, separately, R = novelty (λ = 0.5, N = 16 rollouts, batch 64, KL penalty
    β = 0.1 towards the pretrained generator, reward baseline, small discriminator). One epoch is
    two policy-gradient steps, as in ORGAN (``GEN_ITERATIONS = 2``). ``--qed`` adds one QED run
    per generator (seed 0).

What is reported
    Per epoch: mean objective reward R of the batch (after ORGAN's duplicate penalty) and its
    mean ± sd over seeds; at the end and after pretraining, on 1,000 samples: MOSES validity,
    unique@1k, novelty against the training set, IntDiv, the fraction truncated at the maximum
    length, and IntDiv of the training set for reference.

Goals (the issue's): validity reward >= 0.80 and novelty reward >= 0.75 at the end; no collapse
(unique@1k >= 0.95, IntDiv within 0.03 of the training set, < 1% at max length); SA-ORGAN >=
ORGAN on novelty over the seeds, or an honest report that it is not. The paper runs 200 epochs.

Run ``python benchmarks/organ_qm9.py [--epochs 200] [--seeds 3] [--qed] [--device cuda]
[--jobs 6]``; runs are spread over ``--jobs`` processes (each with one torch thread).
``--generators organ --rewards validity --out organ_qm9_200`` runs a subset under another
results name. Writes ``benchmarks/results/organ_qm9.json``, ``.md`` and ``organ_qm9.png``.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import time
from typing import Any

import numpy as np
from _common import machine_info, markdown_table, write_results

NAME = "organ_qm9"
GOALS = {"validity_reward": 0.80, "novelty_reward": 0.75, "unique@1k": 0.95,
         "intdiv_gap": 0.03, "truncated": 0.01}


def sample_metrics(gen: Any, train: list[str], n: int = 2000) -> dict[str, float]:
    """MOSES metrics of ``n`` samples, the truncated ones included as invalid."""
    from asktell_chem import metrics

    g = gen.generator
    g.eval()
    seqs, _, truncated = g.sample(n, gen.max_length, gen._gen)
    smiles = gen.tokenizer.decode(seqs.cpu().numpy())
    smiles = ["" if t else s for s, t in zip(smiles, truncated.tolist())]
    out = metrics.metrics(smiles, train, k=(1000,), training_canonical=True)
    out["truncated"] = float(truncated.float().mean())
    return {k: float(v) for k, v in out.items()}


def run_one(job: tuple[str, int, int, str, bool, dict[str, Any], tuple[str, ...]]
            ) -> dict[str, Any]:
    """Pretrain one generator, then train it with each reward; returns curves and metrics."""
    kind, seed, epochs, device, with_qed, options, names = job
    import torch

    torch.set_num_threads(1)
    import asktell
    from asktell_chem import qm9_5k

    train = qm9_5k()
    cls = asktell.get("optimiser", kind)
    t0 = time.perf_counter()
    base = cls(train, seed=seed, device=device, **options)
    base.pretrain()
    t_pre = time.perf_counter() - t0
    state = base.state_dict()
    result: dict[str, Any] = {"kind": kind, "seed": seed, "pretrain_s": t_pre,
                              "pretrain_epochs": len(base.pretrain_history),
                              "pretrained": sample_metrics(base, train), "runs": {}}
    rewards = {}
    if "validity" in names:
        rewards["validity"] = asktell.get("reward", "validity")()
    if "novelty" in names:
        rewards["novelty"] = asktell.get("reward", "novelty")(training_smiles=train,
                                                              already_canonical=True)
    if with_qed:
        rewards["qed"] = asktell.get("reward", "qed")()
    for rname, reward in rewards.items():
        gen = cls(train, seed=seed, device=device, **options)
        gen.load_state_dict(state)
        t1 = time.perf_counter()
        for _ in range(2 * epochs):
            xs = gen.ask()
            gen.tell(reward(xs))
        hist = gen.history
        per_epoch = [float(np.mean([h["objective"] for h in hist[2 * e:2 * e + 2]]))
                     for e in range(epochs)]
        result["runs"][rname] = {"objective_per_epoch": per_epoch,
                                 "valid_per_epoch": [float(np.mean([h["valid"] for h in
                                                                    hist[2 * e:2 * e + 2]]))
                                                     for e in range(epochs)],
                                 "seconds": time.perf_counter() - t1,
                                 "final": sample_metrics(gen, train)}
    return result


def goal(summary: dict[str, Any], train_intdiv: float) -> dict[str, Any]:
    """The issue's quality goals for ORGAN's validity and novelty runs (and SA-ORGAN against
    ORGAN on novelty), each checked only where its runs were made."""
    checks: dict[str, bool] = {}
    floors = {"validity": GOALS["validity_reward"], "novelty": GOALS["novelty_reward"]}
    runs = {r: summary[f"organ/{r}"] for r in floors if f"organ/{r}" in summary}
    for r, s in runs.items():
        checks[f"{r} reward >= {floors[r]:.2f}"] = s["reward_end_mean"] >= floors[r]
    if runs:
        checks["unique@1k >= 0.95"] = min(s["final_unique@1000"] for s in runs.values()) \
            >= GOALS["unique@1k"]
        checks["IntDiv within 0.03 of the training set"] = max(
            abs(train_intdiv - s["final_IntDiv"]) for s in runs.values()) <= GOALS["intdiv_gap"]
        checks["< 1% at max length"] = max(s["final_truncated"] for s in runs.values()) \
            < GOALS["truncated"]
    if "organ/novelty" in summary and "sa-organ/novelty" in summary:
        checks["SA-ORGAN >= ORGAN on novelty"] = (summary["sa-organ/novelty"]["reward_end_mean"]
                                                  >= summary["organ/novelty"]["reward_end_mean"])
    text = "; ".join(f"{k}: {'met' if ok else 'MISSED'}" for k, ok in checks.items())
    return {"text": text, "met": bool(checks) and all(checks.values()), "checks": checks}


def main() -> None:
    """Run the reproduction and write its results."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=200)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--jobs", type=int, default=1, help="parallel processes")
    ap.add_argument("--qed", action="store_true", help="add a QED run (seed 0) per generator")
    ap.add_argument("--pretrain-epochs", type=int, default=None, help="override (smoke tests)")
    ap.add_argument("--hidden", type=int, default=None, help="override the LSTM width")
    ap.add_argument("--generators", nargs="+", default=["organ", "sa-organ"],
                    choices=["organ", "sa-organ"])
    ap.add_argument("--rewards", nargs="+", default=["validity", "novelty"],
                    choices=["validity", "novelty"])
    ap.add_argument("--out", default=NAME, help="results name (default organ_qm9)")
    args = ap.parse_args()
    options = {k: v for k, v in (("pretrain_epochs", args.pretrain_epochs),
                                 ("hidden_dim", args.hidden)) if v is not None}
    jobs = [(k, s, args.epochs, args.device, args.qed and s == 0, options, tuple(args.rewards))
            for s in range(args.seeds) for k in args.generators]
    t0 = time.perf_counter()
    results = []
    with mp.get_context("spawn").Pool(args.jobs) as pool:
        for r in pool.imap_unordered(run_one, jobs):
            results.append(r)
            ends = ", ".join(f"{k} {np.mean(v['objective_per_epoch'][-2:]):.3f}"
                             for k, v in r["runs"].items())
            print(f"[{len(results)}/{len(jobs)} {time.perf_counter() - t0:.0f} s] {r['kind']} "
                  f"seed {r['seed']}: mean R of the last 2 epochs: {ends}", flush=True)
    results.sort(key=lambda r: (r["seed"], r["kind"]))
    wall = time.perf_counter() - t0

    from asktell_chem import metrics, qm9_5k

    train = qm9_5k()
    train_intdiv = metrics.internal_diversity(train[:1000])
    rows, summary = [], {}
    for kind in args.generators:
        mine = [r for r in results if r["kind"] == kind]
        for rname in ("validity", "novelty", "qed"):
            runs = [r["runs"][rname] for r in mine if rname in r["runs"]]
            if not runs:
                continue
            curves = np.array([r["objective_per_epoch"] for r in runs])
            finals = [r["final"] for r in runs]
            last = curves[:, -max(1, args.epochs // 10):].mean(axis=1)  # last 10% of epochs
            s = {"reward_end_mean": float(last.mean()), "reward_end_sd": float(last.std()),
                 "curve_mean": curves.mean(0).tolist(), "curve_sd": curves.std(0).tolist(),
                 **{f"final_{k}": float(np.mean([f.get(k, np.nan) for f in finals]))
                    for k in ("valid", "unique@1000", "novelty", "IntDiv", "truncated")}}
            summary[f"{kind}/{rname}"] = s
            rows.append([kind, rname, len(runs), f"{s['reward_end_mean']:.3f} ± "
                         f"{s['reward_end_sd']:.3f}", f"{s['final_valid']:.3f}",
                         f"{s['final_unique@1000']:.3f}", f"{s['final_novelty']:.3f}",
                         f"{s['final_IntDiv']:.3f}", f"{s['final_truncated']:.3f}"])
        pre = [r["pretrained"] for r in mine]
        rows.append([kind, "after MLE only", len(pre), "-",
                     *(f"{np.mean([p.get(k, np.nan) for p in pre]):.3f}"
                       for k in ("valid", "unique@1000", "novelty", "IntDiv", "truncated"))])
    table = markdown_table(["generator", "R", "seeds", "mean R, last 10% of epochs",
                            "valid", "unique@1k", "novelty", "IntDiv", "at max length"], rows)
    text = (f"{args.epochs} epochs (2 policy-gradient steps each), {args.seeds} seeds, device "
            f"{args.device}, {wall:.0f} s wall on {args.jobs} processes. Training set IntDiv "
            f"(1,000 molecules): {train_intdiv:.3f}.\n\n{table}")
    print(text)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, len(args.rewards), figsize=(5 * len(args.rewards), 3.8),
                                 squeeze=False)
        for ax, rname in zip(axes[0], args.rewards):
            for kind, colour in (("organ", "tab:blue"), ("sa-organ", "tab:red")):
                s = summary.get(f"{kind}/{rname}")
                if s is None:
                    continue
                m, sd = np.array(s["curve_mean"]), np.array(s["curve_sd"])
                x = np.arange(1, len(m) + 1)
                ax.plot(x, m, color=colour, label=kind.upper())
                ax.fill_between(x, m - sd, m + sd, color=colour, alpha=0.2)
            ax.set_xlabel("epoch")
            ax.set_ylabel(f"mean {rname} reward")
            ax.set_ylim(0, 1)
            ax.legend()
        fig.tight_layout()
        from _common import RESULTS

        RESULTS.mkdir(exist_ok=True)
        fig.savefig(RESULTS / f"{args.out}.png", dpi=120)
    except ImportError:
        pass
    import torch

    gpu = torch.cuda.get_device_name() if args.device.startswith("cuda") else None
    write_results(args.out, {"machine": machine_info() | {"gpu": gpu},
                         "settings": vars(args) | {"quick": False},
                         "summary": summary, "runs": results, "train_intdiv": train_intdiv,
                         "goals": GOALS, "goal": goal(summary, train_intdiv), "wall_s": wall},
                  text, "ORGAN and SA-ORGAN on QM9 5k")


if __name__ == "__main__":
    main()
