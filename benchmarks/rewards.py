"""Reward scoring: a QED + logP + SA composite over 20,000 QM9 SMILES, asktell against a naive
loop, on 1 and 2 workers, with and without 30% duplicates; molecules per second per reward.

What is measured
    Wall time to score one batch with the arithmetic mean of ORGAN-normalised QED, logP and SA:

    * naive loop (baseline): for each molecule and each reward, parse the SMILES with RDKit and
      compute the property (the string is parsed once per reward per molecule, as ORGAN's
      ``batch_*`` functions do), in this process;
    * ``asktell_chem.Composite({"qed": 1, "logp": 1, "sa": 1}, n_workers=w)`` for w = 1, 2: one
      parse per distinct string, terms sharing the molecule (QED's Crippen logP reused), the
      core's evaluator (in process, or a ParallelEvaluator with one chunk per worker), a fresh
      cache for each measured batch;
    * informative: the naive loop through ``joblib.Parallel(n_jobs=2)`` in two chunks.

    Batches: 20,000 distinct molecules drawn with a fixed seed from QM9 (``qm9pack``), and a
    rollout-like batch of the same size where 30% of the strings repeat others. Each variant is
    warmed up on 200 other molecules first (worker start, RDKit's SA/NP models loaded): what an
    ORGAN run sees from its second step on. Values are checked equal to the naive loop's.

    Then, for each built-in property reward alone (1 process, cache off): molecules per second,
    and RDKit's parse alone.

Goals
    >= 1.7x the naive loop on 2 workers without duplicates, >= 2.3x with 30% duplicates.

Run ``python benchmarks/rewards.py [--quick]`` (needs ``pip install qm9pack``; ``--quick`` uses
4,000 molecules); writes ``benchmarks/results/rewards.json`` and ``.md``.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from _common import benchmark_parser, fmt, machine_info, markdown_table, write_results

NAME = "rewards"
GOALS = {"unique": 1.7, "30% duplicates": 2.3}
LOGP = (-2.12178879609, 6.0429063424)


def naive_scores(smiles: list[str]) -> np.ndarray:
    """Baseline: parse once per reward per molecule, ORGAN-style.

    Parameters
    ----------
    smiles : list of str
        The batch.

    Returns
    -------
    ndarray
        Mean of the three normalised rewards (0 for an invalid SMILES).
    """
    from rdkit import Chem, rdBase
    from rdkit.Chem import QED, Crippen

    from asktell_chem._rdkit import contrib

    sa = contrib("SA_Score.sascorer")
    out = np.empty(len(smiles))
    with rdBase.BlockLogs():
        for i, s in enumerate(smiles):
            total = 0.0
            m = Chem.MolFromSmiles(s)
            if m is not None:
                total += QED.qed(m)
            m = Chem.MolFromSmiles(s)
            if m is not None:
                total += min(max((Crippen.MolLogP(m) - LOGP[0]) / (LOGP[1] - LOGP[0]), 0), 1)
            m = Chem.MolFromSmiles(s)
            if m is not None:
                total += min(max((sa.calculateScore(m) - 5) / (1.5 - 5), 0), 1)
            out[i] = total / 3
    return out


def naive_joblib(smiles: list[str], n_jobs: int = 2) -> np.ndarray:
    """The naive loop in ``n_jobs`` chunks through joblib (informative)."""
    import joblib

    chunks = np.array_split(np.arange(len(smiles)), n_jobs)
    parts = joblib.Parallel(n_jobs=n_jobs)(
        joblib.delayed(naive_scores)([smiles[i] for i in c]) for c in chunks)
    return np.concatenate(parts)


def batches(n: int, seed: int = 0, source: str | None = None,
            ) -> tuple[list[str], list[str], list[str]]:
    """(warm-up molecules, n distinct QM9 SMILES, n strings of which 30% are repeats).

    ``source``: a SMILES file to draw from instead of full QM9 (``qm9pack``)."""
    if source is None:
        from asktell_chem.datasets import load_qm9_smiles

        qm9 = load_qm9_smiles()
    else:
        from asktell_chem import load_smiles

        qm9 = list(dict.fromkeys(load_smiles(source)))
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(qm9), size=n + 200, replace=False)
    warm = [qm9[i] for i in idx[:200]]
    unique = [qm9[i] for i in idx[200:]]
    n_distinct = round(0.7 * n)
    base = unique[:n_distinct]
    repeats = [base[i] for i in rng.integers(0, n_distinct, size=n - n_distinct)]
    dup = base + repeats
    rng.shuffle(dup)
    return warm, unique, dup


def time_call(fn: Any, batch: list[str]) -> tuple[float, np.ndarray]:
    """Seconds of one call, and its values."""
    t0 = time.perf_counter()
    v = fn(batch)
    return time.perf_counter() - t0, np.asarray(v, dtype=float)


def composite_timing(batch: list[str], warm: list[str], n_workers: int) -> tuple[float, np.ndarray]:
    """Time a fresh composite (empty cache) after warming its workers on other molecules."""
    from asktell_chem import Composite

    with Composite({"qed": 1, "logp": 1, "sa": 1}, n_workers=n_workers) as r:
        r(warm)
        return time_call(r, batch)


def per_reward_rates(smiles: list[str]) -> dict[str, float]:
    """Molecules per second of each reward alone (1 process, no cache), and of parsing."""
    import asktell
    from asktell_chem._rdkit import parse

    rates = {}
    t0 = time.perf_counter()
    for s in smiles:
        parse(s)
    rates["parse only"] = len(smiles) / (time.perf_counter() - t0)
    for name in ("validity", "qed", "logp", "sa", "np-likeness", "lipinski"):
        r = asktell.get("reward", name)(cache_size=0)
        r(smiles[:50])  # load models
        dt, _ = time_call(r, smiles)
        rates[name] = len(smiles) / dt
    from asktell_chem import Composite

    r = Composite({"qed": 1, "logp": 1, "sa": 1}, cache_size=0)
    r(smiles[:50])
    dt, _ = time_call(r, smiles)
    rates["qed + logp + sa composite"] = len(smiles) / dt
    return rates


def main() -> None:
    """Run the benchmark and write its results."""
    ap = benchmark_parser(__doc__, "4,000 molecules instead of 20,000")
    ap.add_argument("--n", type=int, default=None, help="molecules per batch")
    ap.add_argument("--smiles", default=None,
                    help="draw from this SMILES file instead of full QM9 (qm9pack)")
    args = ap.parse_args()
    n = args.n or (4000 if args.quick else 20000)
    warm, unique, dup = batches(n, source=args.smiles)
    naive_scores(warm)  # load the SA model

    results: dict[str, dict[str, float]] = {}
    rows = []
    for label, batch in (("unique", unique), ("30% duplicates", dup)):
        t_naive, v_naive = time_call(naive_scores, batch)
        naive_joblib(warm)
        t_joblib, v_joblib = time_call(naive_joblib, batch)
        t1, v1 = composite_timing(batch, warm, 1)
        t2, v2 = composite_timing(batch, warm, 2)
        for v in (v_joblib, v1, v2):
            np.testing.assert_allclose(v, v_naive, rtol=1e-12, atol=1e-12)
        results[label] = {"naive_s": t_naive, "naive_joblib2_s": t_joblib,
                          "asktell_1_worker_s": t1, "asktell_2_workers_s": t2,
                          "speedup_1_worker": t_naive / t1, "speedup_2_workers": t_naive / t2,
                          "naive_joblib2_speedup": t_naive / t_joblib,
                          "goal_2_workers": GOALS[label],
                          "met": t_naive / t2 >= GOALS[label]}
        rows.append([label, fmt(t_naive), fmt(t_joblib), fmt(t1), fmt(t2),
                     f"{t_naive / t1:.2f}x", f"{t_naive / t2:.2f}x",
                     f">= {GOALS[label]}x: {'met' if t_naive / t2 >= GOALS[label] else 'MISSED'}"])
        print(label, results[label], flush=True)
    table = markdown_table(
        ["batch", "naive loop (s)", "naive, joblib 2 workers (s)", "asktell 1 worker (s)",
         "asktell 2 workers (s)", "speed-up 1 worker", "speed-up 2 workers", "goal"], rows)
    rates = per_reward_rates(unique[: min(len(unique), 4000)])
    rate_table = markdown_table(["reward", "molecules / s (1 process)"],
                                [[k, f"{v:,.0f}"] for k, v in rates.items()])
    text = (f"{n:,} QM9 SMILES per batch; QED + logP + SA composite (arithmetic mean).\n\n"
            f"{table}\n\nEach reward alone:\n\n{rate_table}")
    print(text)
    write_results(NAME, {"machine": machine_info(),
                         "settings": {"n": n, "quick": args.quick, "seed": 0,
                                      "smiles": args.smiles},
                         "results": results, "rates_per_second": rates, "goals": GOALS,
                         "goal": {"text": "2 workers >= 1.7x the naive loop without duplicates "
                                          "and >= 2.3x with 30% duplicates",
                                  "met": all(r["met"] for r in results.values())}},
                  text, "Reward scoring: composite vs a naive loop")


if __name__ == "__main__":
    main()
