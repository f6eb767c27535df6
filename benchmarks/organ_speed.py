"""ORGAN speed: sampling rate, one rollout step batched against a loop over prefixes, and one
adversarial epoch with a cached QED reward on 2 workers; on CPU and, with ``--device cuda``, on
the GPU in the same run.

What is measured (generator of the default preset: embedding 64, LSTM 256; weights after 3 MLE
epochs on QM9 5k, so that lengths are realistic)
    * sampling: finished SMILES per second, batches of 4,000, one CPU thread (goal >= 4,000/s);
    * rollout step: N = 16 completions of every prefix of a batch of 64, all prefixes in one
      batched pass (asktell) against one pass per prefix length (the baseline, SeqGAN's loop);
      goal <= 4 s on one CPU thread;
    * epoch: two policy-gradient steps (ask, score with a cached QED reward on 2 worker
      processes, tell, discriminator update), goal < 60 s on 2 cores; the first epoch (every
      molecule scored) and the second (the cache holds the first's molecules, as in every
      later epoch of a run) are timed separately, each split into ask, score and tell; a third
      epoch has R = validity, scored in the main process without workers;
    * with ``--device cuda``: the same on the GPU, and the GPU/CPU ratio of the epoch
      (goal >= 10x). QED scoring runs on CPU workers; ``--gpu-workers W`` gives the GPU
      epoch W of them (default 2, as on the CPU), since a GPU machine's epoch is bound by the
      scoring once the generator is fast (the table names the count).

Run ``python benchmarks/organ_speed.py [--device cuda] [--gpu-workers 14]``; writes
``benchmarks/results/organ_speed.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from _common import machine_info, markdown_table, write_results

NAME = "organ_speed"


def per_prefix_rollout(policy: Any, seqs: Any, lengths: Any, n: int, max_length: int,
                       gen: Any) -> int:
    """Baseline: complete the prefixes of one length at a time (SeqGAN's loop over t)."""
    import torch

    from asktell_organ.generator import PAD, State

    states, logits = policy.prefix_states(seqs, upto=int(lengths.max()) - 1)
    total = 0
    for t in range(1, int(lengths.max())):
        rows = (lengths > t).nonzero().squeeze(1).repeat_interleave(n)
        if not rows.numel():
            continue
        st = states[t]
        state = State(st.h[:, rows], st.c[:, rows])
        if policy.attention is not None:
            state.keys, state.values = st.keys[rows], st.values[rows]
            state.length = torch.full((len(rows),), t + 1, dtype=torch.long)
        out = torch.full((len(rows), max_length), PAD, dtype=torch.long, device=seqs.device)
        out[:, :t] = seqs[rows, :t]
        policy.complete(out, torch.full((len(rows),), t, device=seqs.device), state,
                        logits[t][rows], max_length, gen)
        total += len(rows)
    return total


def measure(device: str, workers: int = 2) -> dict[str, Any]:
    """All timings on one device, the epoch's QED scored on ``workers`` processes."""
    import torch

    import asktell
    from asktell_chem import qm9_5k
    from asktell_organ import ORGAN, rollout

    torch.set_num_threads(1)
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    g = ORGAN(qm9_5k(), seed=0, device=device, pretrain_epochs=3, d_pretrain_rounds=1)
    g.pretrain()
    gen = g.generator
    gen.eval()
    out: dict[str, Any] = {"device": device}
    n = 4000 if not device.startswith("cuda") else 16000
    gen.sample(256, g.max_length, g._gen)
    sync()
    t = time.perf_counter()
    _, lengths, truncated = gen.sample(n, g.max_length, g._gen)
    sync()
    dt = time.perf_counter() - t
    out["sample_per_s"] = float((~truncated).sum()) / dt
    out["mean_tokens"] = float(lengths.float().mean())
    seqs, lens, _ = gen.sample(64, g.max_length, g._gen)
    sync()
    t = time.perf_counter()
    r = rollout(g.rollout_net, seqs, lens, 16, g.max_length, g._gen)
    sync()
    out["rollout_batched_s"] = time.perf_counter() - t
    out["rollout_completions"] = len(r.seq)
    t = time.perf_counter()
    per_prefix_rollout(g.rollout_net, seqs, lens, 16, g.max_length, g._gen)
    sync()
    out["rollout_per_prefix_s"] = time.perf_counter() - t
    out["qed_workers"] = workers
    with asktell.get("reward", "qed")(n_workers=workers) as qed:
        qed(g.sample(64))  # start the workers
        # The first epoch scores every molecule; the second finds some in the reward's cache,
        # as every later epoch of a run does.
        for key in ("epoch_s", "epoch_warm_s"):
            phases = dict.fromkeys(("ask", "score", "tell"), 0.0)
            asked = 0
            for _ in range(2):
                t0 = time.perf_counter()
                xs = g.ask()
                sync()
                t1 = time.perf_counter()
                scores = qed(xs)
                t2 = time.perf_counter()
                g.tell(scores)
                sync()
                t3 = time.perf_counter()
                asked += len(xs)
                for name, dt in zip(phases, (t1 - t0, t2 - t1, t3 - t2)):
                    phases[name] += dt
            out[key] = sum(phases.values())
            out[key.replace("_s", "_asked")] = asked
            out[key.replace("_s", "_phases_s")] = phases
    # The same with R = validity scored in this process (RDKit parsing only, no workers).
    validity = asktell.get("reward", "validity")()
    t = time.perf_counter()
    for _ in range(2):
        g.tell(validity(g.ask()))
    sync()
    out["epoch_validity_s"] = time.perf_counter() - t
    return out


def main() -> None:
    """Run and write results."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu", help="also measure on this device (cuda)")
    ap.add_argument("--gpu-workers", type=int, default=2,
                    help="QED worker processes for the --device epoch (the CPU's uses 2)")
    args = ap.parse_args()
    results = [measure("cpu")]
    if args.device != "cpu":
        results.append(measure(args.device, args.gpu_workers))
    rows = [[r["device"], f"{r['sample_per_s']:,.0f}", f"{r['rollout_batched_s']:.2f}",
             f"{r['rollout_per_prefix_s']:.2f}",
             f"{r['rollout_per_prefix_s'] / r['rollout_batched_s']:.2f}x",
             f"{r['rollout_completions']:,}", f"{r['epoch_s']:.1f}", f"{r['epoch_warm_s']:.1f}",
             r["qed_workers"], f"{r['epoch_validity_s']:.2f}"]
            for r in results]
    table = markdown_table(["device", "sampled SMILES / s", "rollout step, batched (s)",
                            "rollout step, per prefix (s)", "batched speed-up", "completions",
                            "first epoch, 2 steps (s)", "second epoch (s)", "QED workers",
                            "epoch, R = validity (s)"],
                           rows)
    extra = ""
    if len(results) == 2:
        cpu, dev = results
        extra = (f"\n\nGPU / CPU: first epoch {cpu['epoch_s'] / dev['epoch_s']:.1f}x, second "
                 f"epoch {cpu['epoch_warm_s'] / dev['epoch_warm_s']:.1f}x, epoch with R = validity "
                 f"{cpu['epoch_validity_s'] / dev['epoch_validity_s']:.1f}x, sampling "
                 f"{dev['sample_per_s'] / cpu['sample_per_s']:.1f}x.")
    split = "\n".join(
        f"- {r['device']}, second epoch: ask {r['epoch_warm_phases_s']['ask']:.2f} s (sampling, "
        f"rollouts, decoding {r['epoch_warm_asked']:,} distinct SMILES), score "
        f"{r['epoch_warm_phases_s']['score']:.2f} s (QED, {r['qed_workers']} workers), tell "
        f"{r['epoch_warm_phases_s']['tell']:.2f} s (discriminator term, policy gradient, "
        "discriminator training)" for r in results)
    text = ("Default-preset generator (LSTM 256), one CPU thread for torch. Goals: sampling >= "
            "4,000/s and a rollout step <= 4 s on one CPU thread; an epoch < 60 s on 2 cores; "
            f"GPU epoch >= 10x the CPU's.\n\n{table}\n\n{split}{extra}")
    print(text)
    import torch

    gpu = torch.cuda.get_device_name() if args.device.startswith("cuda") else None
    write_results(NAME, {"machine": machine_info() | {"gpu": gpu}, "settings": vars(args),
                         "results": results, "goal": goal(results)}, text, "ORGAN speed")


def goal(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The issue's speed goals, and whether each was met."""
    cpu = results[0]
    checks = {"sampling >= 4,000 SMILES/s (1 CPU thread)": cpu["sample_per_s"] >= 4000,
              "rollout step <= 4 s (1 CPU thread)": cpu["rollout_batched_s"] <= 4.0,
              "epoch < 60 s (2 cores)": cpu["epoch_s"] < 60}
    if len(results) > 1:
        dev = results[1]
        checks["GPU first epoch >= 10x the CPU's"] = cpu["epoch_s"] / dev["epoch_s"] >= 10
        checks["GPU second epoch >= 10x the CPU's"] = (cpu["epoch_warm_s"] / dev["epoch_warm_s"]
                                                       >= 10)
    text = "; ".join(f"{k}: {'met' if v else 'MISSED'}" for k, v in checks.items())
    return {"text": text, "met": all(checks.values()), "checks": checks}


if __name__ == "__main__":
    main()
