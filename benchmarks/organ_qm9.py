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
[--jobs 12] [--time-limit SECONDS] [--checkpoint-dir DIR]``. Pretraining runs once per
generator and seed; then every (generator, seed, reward) run has its own process, ``--jobs`` at
a time, each with one torch thread. ``--time-limit`` ends every run at the last whole epoch that
leaves time for its final metrics (for a GPU lease); the table names the epochs reached, and
curves and means use the epochs all seeds reached. ``--checkpoint-dir`` keeps every pretrained
generator and run (asktell's plain-data states, every 10 epochs), so the same command run again,
on another lease for instance, continues each run from its last checkpoint. ``--generators
organ --rewards validity --out organ_qm9_200`` runs a subset under another results name. Writes
``benchmarks/results/organ_qm9.json``, ``.md`` and ``organ_qm9.png`` (or ``NAME.*``), rewritten
after every finished run.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import machine_info, markdown_table, write_results

NAME = "organ_qm9"
GOALS = {"validity_reward": 0.80, "novelty_reward": 0.75, "unique@1k": 0.95,
         "intdiv_gap": 0.03, "truncated": 0.01}
#: Seconds a run keeps free before ``--time-limit`` for its final metrics.
FINAL_RESERVE_S = 30.0
#: Generator labels: (registered optimiser, ``attention`` placement). "sa-organ" is asktell's
#: default SA-ORGAN (attention after the generator's LSTM); "sa-organ-d" has it after the
#: discriminator's convolutions, as the SA-ORGAN paper's §3.4 describes; "sa-organ-both" both.
VARIANTS = {"organ": ("organ", "none"), "sa-organ": ("sa-organ", "generator"),
            "sa-organ-d": ("sa-organ", "discriminator"), "sa-organ-both": ("sa-organ", "both")}
#: With ``--checkpoint-dir``, a run saves its state every this many epochs (and at its end).
CHECKPOINT_EVERY = 10


def _load(path: Path | None) -> Any:
    """The checkpoint at ``path``, or None where there is none."""
    if path is None or not path.exists():
        return None
    from asktell import serialization

    return serialization.loads(path.read_text())


def _save(path: Path | None, obj: Any) -> None:
    """Write a checkpoint atomically (a kill leaves the previous one whole)."""
    if path is None:
        return
    from asktell import serialization

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(serialization.dumps(obj))
    os.replace(tmp, path)


def epoch_means(history: list[dict[str, Any]], key: str) -> list[float]:
    """Per epoch (two policy-gradient steps), the mean of ``key`` over its steps' entries."""
    vals = [h[key] for h in history]
    return [float(np.mean(vals[i:i + 2])) for i in range(0, len(vals) - 1, 2)]


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


def pretrain_one(job: tuple[str, int, str, dict[str, Any], Path | None]) -> dict[str, Any]:
    """Pretrain one generator by maximum likelihood; its state and the metrics of its samples
    (read from the checkpoint directory where an earlier run left them)."""
    kind, seed, device, options, ckpt_dir = job
    path = None if ckpt_dir is None else ckpt_dir / f"pretrain_{kind}_s{seed}.json"
    if (done := _load(path)) is not None:
        return done
    import torch

    torch.set_num_threads(1)
    import asktell
    from asktell_chem import qm9_5k

    train = qm9_5k()
    t0 = time.perf_counter()
    name, placement = VARIANTS[kind]
    gen = asktell.get("optimiser", name)(train, seed=seed, device=device, attention=placement,
                                         **options)
    gen.pretrain()
    state = gen.state_dict()
    out = {"kind": kind, "seed": seed, "pretrain_s": time.perf_counter() - t0,
           "pretrain_epochs": len(gen.pretrain_history), "pretrained": sample_metrics(gen, train),
           "state": state}
    _save(path, out)
    return out


def train_one(job: tuple[str, int, str, int, str, dict[str, Any], dict[str, Any], float | None,
                         Path | None]) -> dict[str, Any]:
    """Train one pretrained generator with one reward for ``epochs`` epochs, or until the
    wall-clock ``deadline`` (``time.time()``) leaves no room for another epoch and the final
    metrics; returns its curves and metrics. With a checkpoint directory, the run continues
    from its last checkpoint and saves one every :data:`CHECKPOINT_EVERY` epochs."""
    kind, seed, rname, epochs, device, options, state, deadline, ckpt_dir = job
    path = None if ckpt_dir is None else ckpt_dir / f"run_{kind}_s{seed}_{rname}.json"
    import torch

    torch.set_num_threads(1)
    import asktell
    from asktell_chem import qm9_5k

    train = qm9_5k()
    if rname == "novelty":
        reward = asktell.get("reward", "novelty")(training_smiles=train, already_canonical=True)
    else:
        reward = asktell.get("reward", rname)()
    name, placement = VARIANTS[kind]
    gen = asktell.get("optimiser", name)(train, seed=seed, device=device, attention=placement,
                                         **options)
    saved = _load(path)
    gen.load_state_dict(state if saved is None else saved["state"])
    before = 0.0 if saved is None else saved["seconds"]  # training time of earlier sessions
    done = start = len(gen.history) // 2
    t1 = time.perf_counter()
    while done < epochs:
        spent = time.perf_counter() - t1
        if deadline is not None and done > start and \
                time.time() + 1.5 * spent / (done - start) + FINAL_RESERVE_S > deadline:
            break
        for _ in range(2):
            xs = gen.ask()
            gen.tell(reward(xs))
        done += 1
        if done % CHECKPOINT_EVERY == 0:
            _save(path, {"state": gen.state_dict(),
                         "seconds": before + time.perf_counter() - t1})
        if done % 25 == 0 or done == epochs:
            obj = np.mean([h["objective"] for h in gen.history[-2:]])
            print(f"  {kind} seed {seed} R = {rname}: epoch {done}/{epochs}, mean R {obj:.3f}, "
                  f"{(time.perf_counter() - t1) / (done - start):.2f} s/epoch", flush=True)
    if done > start:
        _save(path, {"state": gen.state_dict(), "seconds": before + time.perf_counter() - t1})
    return {"kind": kind, "seed": seed, "reward": rname, "epochs_done": done,
            "objective_per_epoch": epoch_means(gen.history, "objective"),
            "valid_per_epoch": epoch_means(gen.history, "valid"),
            "seconds": before + time.perf_counter() - t1, "final": sample_metrics(gen, train)}


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


def _pool(n: int) -> Any:
    """A pool of ``n`` fresh processes (spawned, so CUDA can start in each)."""
    return mp.get_context("spawn").Pool(n)


def main() -> None:
    """Run the reproduction and write its results (rewritten after every finished run)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=200)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--jobs", type=int, default=1, help="parallel processes")
    ap.add_argument("--qed", action="store_true", help="add a QED run (seed 0) per generator")
    ap.add_argument("--pretrain-epochs", type=int, default=None, help="override (smoke tests)")
    ap.add_argument("--hidden", type=int, default=None, help="override the LSTM width")
    ap.add_argument("--generators", nargs="+", default=["organ", "sa-organ"],
                    choices=list(VARIANTS),
                    help="sa-organ: attention after the generator's LSTM (asktell's default); "
                         "sa-organ-d: after the discriminator's convolutions (the paper's "
                         "text); sa-organ-both: both")
    ap.add_argument("--preset", default="default", choices=["default", "paper"],
                    help="ORGAN's settings to start from (paper: h32, 240 MLE epochs, ORGAN's "
                         "discriminator, no KL, no baseline)")
    ap.add_argument("--d-pretrain-rounds", type=int, default=None,
                    help="override the discriminator's pretraining rounds (paper: 50)")
    ap.add_argument("--d-samples", type=int, default=None,
                    help="override the fresh samples per discriminator epoch (paper: as many as "
                         "training molecules)")
    ap.add_argument("--rewards", nargs="+", default=["validity", "novelty"],
                    choices=["validity", "novelty"])
    ap.add_argument("--time-limit", type=float, default=None, metavar="SECONDS",
                    help="stop every run at the last whole epoch that ends this many seconds "
                         "after the start (the table names the epochs reached)")
    ap.add_argument("--checkpoint-dir", default=None, metavar="DIR",
                    help="save each pretrained generator and each run there (a run every "
                         f"{CHECKPOINT_EVERY} epochs); run again with the same arguments to "
                         "continue where they stopped")
    ap.add_argument("--out", default=NAME, help="results name (default organ_qm9)")
    args = ap.parse_args()
    options = {k: v for k, v in (("pretrain_epochs", args.pretrain_epochs),
                                 ("hidden_dim", args.hidden),
                                 ("d_pretrain_rounds", args.d_pretrain_rounds),
                                 ("d_samples", args.d_samples)) if v is not None}
    options["preset"] = args.preset
    t0 = time.perf_counter()
    deadline = None if args.time_limit is None else time.time() + args.time_limit
    ckpt = None if args.checkpoint_dir is None else Path(args.checkpoint_dir)
    pre_jobs = [(k, s, args.device, options, ckpt) for s in range(args.seeds)
                for k in args.generators]
    pre: dict[tuple[str, int], dict[str, Any]] = {}
    with _pool(min(args.jobs, len(pre_jobs))) as pool:
        for r in pool.imap_unordered(pretrain_one, pre_jobs):
            pre[r["kind"], r["seed"]] = r
            print(f"[{time.perf_counter() - t0:.0f} s] {r['kind']} seed {r['seed']}: "
                  f"pretrained, {r['pretrain_epochs']} epochs, valid "
                  f"{r['pretrained']['valid']:.3f}", flush=True)
    jobs = [(k, s, rname, args.epochs, args.device, options, pre[k, s]["state"], deadline, ckpt)
            for s in range(args.seeds) for k in args.generators
            for rname in (*args.rewards, *(("qed",) if args.qed and s == 0 else ()))]
    runs: list[dict[str, Any]] = []
    with _pool(args.jobs) as pool:
        for r in pool.imap_unordered(train_one, jobs):
            runs.append(r)
            print(f"[{len(runs)}/{len(jobs)} {time.perf_counter() - t0:.0f} s] {r['kind']} seed "
                  f"{r['seed']} R = {r['reward']}: {r['epochs_done']} epochs, mean R of the "
                  f"last 2 {np.mean(r['objective_per_epoch'][-2:]):.3f}", flush=True)
            report(args, pre, runs, len(jobs), time.perf_counter() - t0)


def report(args: argparse.Namespace, pre: dict[tuple[str, int], dict[str, Any]],
           runs: list[dict[str, Any]], n_jobs: int, wall: float) -> None:
    """Write the table, plot and JSON of the runs finished so far."""
    results = []
    for (kind, seed), p in sorted(pre.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        mine = {r["reward"]: {k: v for k, v in r.items() if k not in ("kind", "seed", "reward")}
                for r in runs if (r["kind"], r["seed"]) == (kind, seed)}
        results.append({k: v for k, v in p.items() if k != "state"} | {"runs": mine})

    from asktell_chem import metrics, qm9_5k

    train = qm9_5k()
    train_intdiv = metrics.internal_diversity(train[:1000])
    rows, summary = [], {}
    reached = [r["epochs_done"] for r in runs]
    for kind in args.generators:
        mine = [r for r in results if r["kind"] == kind]
        for rname in ("validity", "novelty", "qed"):
            group = [r["runs"][rname] for r in mine if rname in r["runs"]]
            if not group:
                continue
            n_ep = min(len(r["objective_per_epoch"]) for r in group)  # common to all seeds
            curves = np.array([r["objective_per_epoch"][:n_ep] for r in group])
            finals = [r["final"] for r in group]
            last = curves[:, -max(1, n_ep // 10):].mean(axis=1)  # last 10% of epochs
            s = {"epochs": n_ep, "reward_end_mean": float(last.mean()),
                 "reward_end_sd": float(last.std()),
                 "curve_mean": curves.mean(0).tolist(), "curve_sd": curves.std(0).tolist(),
                 **{f"final_{k}": float(np.mean([f.get(k, np.nan) for f in finals]))
                    for k in ("valid", "unique@1000", "novelty", "IntDiv", "truncated")}}
            summary[f"{kind}/{rname}"] = s
            rows.append([kind, rname, len(group), n_ep, f"{s['reward_end_mean']:.3f} ± "
                         f"{s['reward_end_sd']:.3f}", f"{s['final_valid']:.3f}",
                         f"{s['final_unique@1000']:.3f}", f"{s['final_novelty']:.3f}",
                         f"{s['final_IntDiv']:.3f}", f"{s['final_truncated']:.3f}"])
        pre_m = [r["pretrained"] for r in mine]
        rows.append([kind, "after MLE only", len(pre_m), "-", "-",
                     *(f"{np.mean([p.get(k, np.nan) for p in pre_m]):.3f}"
                       for k in ("valid", "unique@1000", "novelty", "IntDiv", "truncated"))])
    table = markdown_table(["generator", "R", "seeds", "epochs", "mean R, last 10% of epochs",
                            "valid", "unique@1k", "novelty", "IntDiv", "at max length"], rows)
    cut = (f" The time limit ({args.time_limit:.0f} s) stopped runs after {min(reached)}–"
           f"{max(reached)} epochs; curves and means use the epochs all seeds reached."
           if reached and min(reached) < args.epochs else "")
    text = (f"{args.epochs} epochs (2 policy-gradient steps each), {args.seeds} seeds, device "
            f"{args.device}, {wall:.0f} s wall on {args.jobs} processes; {len(runs)} of "
            f"{n_jobs} runs finished.{cut} Training set IntDiv (1,000 molecules): "
            f"{train_intdiv:.3f}.\n\n{table}")
    print(text, flush=True)
    _plot(args, summary)
    import torch

    gpu = torch.cuda.get_device_name() if args.device.startswith("cuda") else None
    write_results(args.out, {"machine": machine_info() | {"gpu": gpu},
                             "settings": vars(args) | {"quick": False},
                             "summary": summary, "runs": results, "train_intdiv": train_intdiv,
                             "goals": GOALS, "goal": goal(summary, train_intdiv), "wall_s": wall},
                  text, "ORGAN and SA-ORGAN on QM9 5k")


LABELS = {"organ": "ORGAN", "sa-organ": "SA-ORGAN (attention in G)",
          "sa-organ-d": "SA-ORGAN (attention in D)", "sa-organ-both": "SA-ORGAN (G and D)"}


def _plot(args: argparse.Namespace, summary: dict[str, Any]) -> None:
    """Mean reward per epoch ± sd over seeds, ORGAN beside SA-ORGAN, one panel per reward."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    fig, axes = plt.subplots(1, len(args.rewards), figsize=(5 * len(args.rewards), 3.8),
                             squeeze=False)
    for ax, rname in zip(axes[0], args.rewards):
        for kind, colour in (("organ", "tab:blue"), ("sa-organ", "tab:red"),
                             ("sa-organ-d", "tab:green"), ("sa-organ-both", "tab:purple")):
            s = summary.get(f"{kind}/{rname}")
            if s is None:
                continue
            m, sd = np.array(s["curve_mean"]), np.array(s["curve_sd"])
            x = np.arange(1, len(m) + 1)
            ax.plot(x, m, color=colour, label=LABELS[kind])
            ax.fill_between(x, m - sd, m + sd, color=colour, alpha=0.2)
        ax.set_xlabel("epoch")
        ax.set_ylabel(f"mean {rname} reward")
        ax.set_ylim(0, 1)
        if ax.lines:
            ax.legend()
    fig.tight_layout()
    from _common import RESULTS

    RESULTS.mkdir(exist_ok=True)
    fig.savefig(RESULTS / f"{args.out}.png", dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
