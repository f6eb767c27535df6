"""RBM-EDA on concatenated trap-5 at n = 100 against UMDA, and its evaluation scaling from n = 50.

Usage: ``python benchmarks/rbm_eda_scaling.py [--quick] [--seeds 10] [--jobs 1] [--N ...]``
(defaults: N = 8,000, 10,000, 12,000, 14,000 and 16,000, both training rules at each; about
45 minutes on one core). ``--quick`` (2 seeds, N = 2,000, 20 generations) writes
``results/rbm_eda_scaling_quick.*`` instead, so a smoke test never replaces the measurement.

What it measures: for concatenated trap-5 at n = 100 (IOHprofiler PBO F24, instance 1, k = 5,
optimum n/5 = 20; the problem of ``benchmarks/rbm_eda.py``), at each population size N given
and for each seed, whether RBM-EDA finds the optimum, the evaluations it used (to the optimum
on success), the best value, the trap blocks solved by the best string, the generations, the
wall time per run and the median seconds per generation for model building (``tell``:
selection + training) and sampling (``ask``). Every run also keeps a per-generation trace (best
value, blocks solved, evaluations), so a run stopped by stagnation can be told from one that
was still improving.

Baseline (same run, same N and seeds): UMDA (truncation 0.5, margins [1/n, 1 - 1/n]).
RBM-EDA runs in its documented default configuration (``RBM_EDA`` in ``rbm_eda.py``: elitist
replacement, tournaments of 2, m = n/2, 50 epochs of CD-1 per generation), the headline; and,
as a second, cheaper configuration, with the stop-on-convergence training rule
(``epochs="auto"``: stop when the reconstruction error improves by < 1 % over 3 epochs).

Scaling: the median evaluations to the optimum at n = 100 (here) and at n = 50 (read from
``results/rbm_eda.json``, the smallest N of its sweep solved in every run) give the empirical
exponent log(E100 / E50) / log 2 (two points, not a fit; docs/rbm.md compares it with Probst,
Rothlauf & Grahl 2014/2017).

Runs stop at the optimum, when the population has converged (``opt.stop()``), after
``--patience`` generations without improvement, or after ``--max-generations``. Each finished
run is appended to ``results/rbm_eda_scaling_runs.jsonl`` and reused by a later invocation with
the same settings (so seeds and population sizes can be added under a time budget; the JSON
states how many runs were reused). ``--no-write`` only runs and caches. Torch is set to one
thread in every run; pin the process to one core (``taskset -c 1``) on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from _common import RESULTS, fmt, machine_info, markdown_table, median, write_results
from joblib import Parallel, delayed
from rbm_eda import RBM_EDA, UMDA_OPTS, IOHBatch, check_trap_matches_ioh, drive

NAME = "rbm_eda_scaling"
CACHE = RESULTS / f"{NAME}_runs.jsonl"
N_BITS, K, OPTIMUM = 100, 5, 20.0

#: Probst, Rothlauf & Grahl (2017), arXiv:1411.7542 - see docs/rbm.md, "Scaling to n = 100".
PAPER = "Probst, Rothlauf & Grahl (2017), EJOR 256(2), 368-383 (arXiv:1411.7542)"


def run_key(algo: str, variant: str, N: int, seed: int, max_generations: int, patience: int) -> str:
    """Identity of one run in the cache (everything that changes its result)."""
    return f"{algo}|{variant}|n={N_BITS}|N={N}|seed={seed}|gmax={max_generations}|pat={patience}"


def make_optimiser(algo: str, variant: str, N: int, seed: int) -> Any:
    """The optimiser of one run: RBM-EDA (``variant`` "default" or "auto") or UMDA."""
    from asktell_rbm import RBMEDA, UMDA

    if algo == "umda":
        return UMDA(n_bits=N_BITS, popsize=N, seed=seed, **UMDA_OPTS)
    opts = dict(RBM_EDA)
    if variant == "auto":
        opts["epochs"] = "auto"
    return RBMEDA(n_bits=N_BITS, popsize=N, seed=seed, **opts)


def one_run(
    algo: str,
    variant: str,
    N: int,
    seed: int,
    max_generations: int,
    patience: int,
    verbose: bool = False,
) -> dict[str, Any]:
    """Run one optimiser on trap-5, n = 100, and return its record (with a trace)."""
    torch.set_num_threads(1)
    from asktell_rbm import Trap

    trap = Trap(N_BITS, K)
    f = IOHBatch(24, N_BITS, OPTIMUM)
    opt = make_optimiser(algo, variant, N, seed)
    trace: list[dict[str, Any]] = []

    def record(opt: Any, vals: np.ndarray, ask_s: float, tell_s: float) -> None:
        blocks = int(trap.blocks_solved(np.asarray(opt.xbest())))
        trace.append(
            {
                "generation": opt.iterations,
                "evaluations": opt.evaluations,
                "best": opt.fbest(),
                "blocks_solved": blocks,
                "mean_value": float(np.mean(vals)),
                "seconds": ask_s + tell_s,
            }
        )
        if verbose:
            print(
                f"  {algo}/{variant} N={N} seed={seed} gen {opt.iterations}: best "
                f"{opt.fbest():.4g} ({blocks} blocks), mean {np.mean(vals):.4g}, "
                f"tell {tell_s:.2f} s, ask {ask_s:.2f} s",
                flush=True,
            )

    common = drive(opt, f, OPTIMUM, max_generations, patience, record)
    out: dict[str, Any] = {
        "key": run_key(algo, variant, N, seed, max_generations, patience),
        "algo": algo,
        "variant": variant,
        "problem": f.name,
        "n": N_BITS,
        "N": N,
        "seed": seed,
        "max_generations": max_generations,
        "patience": patience,
        **common,
        "blocks_solved": int(trap.blocks_solved(np.asarray(opt.xbest()))),
        "trace": trace,
    }
    if algo == "rbm-eda":
        out["epochs_trained"] = [int(e) for e in opt.epochs_trained]
    return out


def load_cache(path: Path) -> dict[str, dict[str, Any]]:
    """Finished runs of earlier invocations, by key."""
    if not path.exists():
        return {}
    runs = {}
    for line in path.read_text().splitlines():
        if line.strip():
            r = json.loads(line)
            runs[r["key"]] = r
    return runs


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Success count, median evaluations to the optimum, best values, blocks and times."""
    ok = [r for r in runs if r["success"]]
    ask = [r["median_ask_s"] for r in runs if r["median_ask_s"] is not None]
    tell = [r["median_tell_s"] for r in runs if r["median_tell_s"] is not None]
    return {
        "runs": len(runs),
        "successes": len(ok),
        "median_evaluations_to_optimum": median([r["evaluations_to_optimum"] for r in ok])
        if ok
        else None,
        "evaluations_to_optimum": [r["evaluations_to_optimum"] for r in ok],
        "median_generations_to_optimum": median([r["generations"] for r in ok]) if ok else None,
        "median_best": median([r["best"] for r in runs]),
        "blocks_solved": [r["blocks_solved"] for r in runs],
        "blocks_solved_failures": [r["blocks_solved"] for r in runs if not r["success"]],
        "reasons": [r["reason"] for r in runs],
        "median_seconds": median([r["seconds"] for r in runs]),
        "seconds": [r["seconds"] for r in runs],
        "median_ask_s": median(ask) if ask else None,
        "median_tell_s": median(tell) if tell else None,
    }


def n50_reference() -> dict[str, Any] | None:
    """Trap-5 n = 50 from ``results/rbm_eda.json``: the smallest swept N solved in every run."""
    path = RESULTS / "rbm_eda.json"
    if not path.exists():
        return None
    d = json.loads(path.read_text())
    for N in sorted(d["settings"]["sweep_N"]):
        s = d["summary"].get(f"trap5-50|rbm-eda|N={N}")
        if s and s["successes"] == s["runs"]:
            return {
                "N": N,
                "runs": s["runs"],
                "successes": s["successes"],
                "median_evaluations_to_optimum": s["median_evaluations_to_optimum"],
                "source": "benchmarks/results/rbm_eda.json",
                "measured": d["machine"]["date"],
            }
    return None


def plot(
    groups: dict[tuple[str, str, int], list[dict[str, Any]]],
    ref50: dict[str, Any] | None,
    scaling: dict[str, Any],
    path: Path,
) -> None:
    """Success rate against N; best-string trap blocks per generation at the headline N;
    median evaluations to the optimum against n."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, bx, cx) = plt.subplots(1, 3, figsize=(14, 3.9))
    styles = {
        ("rbm-eda", "default"): ("C0", "o", "RBM-EDA (50 epochs/gen)"),
        ("rbm-eda", "auto"): ("C2", "^", "RBM-EDA (epochs='auto')"),
        ("umda", "-"): ("C1", "s", "UMDA"),
    }
    for (algo, variant), (colour, marker, name) in styles.items():
        Ns = sorted(N for (a, v, N) in groups if (a, v) == (algo, variant))
        if not Ns:
            continue
        rate = [
            sum(r["success"] for r in groups[(algo, variant, N)]) / len(groups[(algo, variant, N)])
            for N in Ns
        ]
        hollow = algo == "rbm-eda" and variant == "auto"
        ax.plot(
            Ns,
            rate,
            marker=marker,
            color=colour,
            label=name,
            ms=9 if hollow else 6,
            fillstyle="none" if hollow else "full",
        )
    all_N = sorted({N for (_, _, N) in groups})
    ax.set_xscale("log")
    ax.set_xticks(all_N, [f"{N:,}" for N in all_N], rotation=30)
    ax.minorticks_off()
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel("population size N")
    ax.set_ylabel("success rate")
    ax.set_title("trap-5, n = 100: runs reaching the optimum")
    ax.legend(fontsize=7)
    head = scaling.get("N100") or max(all_N)
    for (algo, variant), (colour, _, name) in styles.items():
        for i, r in enumerate(groups.get((algo, variant, head), [])):
            g = [t["generation"] for t in r["trace"]]
            b = [t["blocks_solved"] for t in r["trace"]]
            bx.plot(g, b, color=colour, lw=0.9, alpha=0.8, label=name if i == 0 else None)
            if r["success"]:
                bx.plot(g[-1], b[-1], "o", color=colour, ms=3)
    bx.axhline(N_BITS // K, color="grey", lw=0.8, ls="--")
    bx.set_xlabel("generation")
    bx.set_ylabel("trap blocks solved by the best string")
    bx.set_title(f"every run at N = {head:,} (dot: optimum)")
    bx.legend(fontsize=7)
    pts = []
    if ref50 is not None:
        pts.append((50, ref50["median_evaluations_to_optimum"]))
    if scaling.get("E100") is not None:
        pts.append((100, scaling["E100"]))
    if pts:
        cx.plot(
            [p[0] for p in pts],
            [p[1] for p in pts],
            "o-",
            color="C0",
            label="RBM-EDA, median evaluations at the\nsmallest N of the grid solved 10/10",
        )
        for x, y in pts:
            cx.annotate(f"{y:,.0f}", (x, y), textcoords="offset points", xytext=(6, 3), fontsize=8)
        if ref50 is not None:
            e50 = ref50["median_evaluations_to_optimum"]
            xs = np.array([50.0, 100.0])
            for expo, style in ((1.0, "-."), (2.0, ":"), (3.0, "--")):
                cx.plot(
                    xs,
                    e50 * (xs / 50.0) ** expo,
                    color="grey",
                    ls=style,
                    lw=0.8,
                    label=f"∝ n^{expo:g} from n = 50",
                    zorder=3,
                )
        others = sorted(
            N
            for (a, v, N), rs in groups.items()
            if a == "rbm-eda"
            and v == "default"
            and N != scaling.get("N100")
            and all(r["success"] for r in rs)
        )
        for N in others:
            e = median([r["evaluations_to_optimum"] for r in groups[("rbm-eda", "default", N)]])
            cx.plot(100, e, "o", mfc="none", color="C0")
            cx.annotate(
                f"N = {N:,}: {e:,.0f}",
                (100, e),
                textcoords="offset points",
                xytext=(-95, -4),
                fontsize=7,
            )
    cx.set_xscale("log")
    cx.set_yscale("log")
    cx.set_xticks([50, 100], ["50", "100"])
    cx.minorticks_off()
    cx.set_xlabel("n (trap-5)")
    cx.set_ylabel("evaluations")
    cx.set_title("evaluations to the optimum against n")
    cx.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    """Run (or reuse) the runs, then write results/rbm_eda_scaling.{json,md,png}."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--quick",
        action="store_true",
        help="2 seeds at N = 2,000, 20 generations at most (a smoke test; own result files)",
    )
    ap.add_argument("--jobs", type=int, default=1, help="runs in parallel (joblib processes)")
    ap.add_argument("--seeds", type=int, default=None, help="seeds per setting (default 10)")
    ap.add_argument("--seed-offset", type=int, default=0, help="first seed")
    ap.add_argument(
        "--N",
        type=int,
        nargs="+",
        default=None,
        help="population sizes (default 8000 10000 12000 14000 16000)",
    )
    ap.add_argument("--max-generations", type=int, default=None, help="default 100")
    ap.add_argument("--patience", type=int, default=None, help="default 20")
    ap.add_argument(
        "--variants",
        nargs="+",
        default=None,
        choices=["default", "auto"],
        help="RBM-EDA training rules: 50 epochs per generation and/or epochs='auto' "
        "(default: both; 'default' only with --quick)",
    )
    ap.add_argument(
        "--auto-N",
        type=int,
        nargs="+",
        default=None,
        help="population sizes for the 'auto' variant (default: all of --N)",
    )
    ap.add_argument("--no-umda", action="store_true", help="skip the UMDA baseline")
    ap.add_argument("--verbose", action="store_true", help="print every generation")
    ap.add_argument(
        "--no-write", action="store_true", help="run and cache only; do not write the results files"
    )
    args = ap.parse_args(argv)
    n_seeds = args.seeds or (2 if args.quick else 10)
    Ns = sorted(args.N or ([2000] if args.quick else [8000, 10000, 12000, 14000, 16000]))
    variants = args.variants or (["default"] if args.quick else ["default", "auto"])
    auto_N = args.auto_N
    name = f"{NAME}_quick" if args.quick else NAME
    gmax = args.max_generations or (20 if args.quick else 100)
    patience = args.patience or (10 if args.quick else 20)
    seeds = list(range(args.seed_offset, args.seed_offset + n_seeds))
    check_trap_matches_ioh()
    specs = []  # (algo, variant, N, seed)
    for N in Ns:
        for seed in seeds:
            for variant in variants:
                if variant == "auto" and auto_N is not None and N not in auto_N:
                    continue
                specs.append(("rbm-eda", variant, N, seed))
            if not args.no_umda:
                specs.append(("umda", "-", N, seed))
    cache = {} if args.quick else load_cache(CACHE)
    todo = [s for s in specs if run_key(*s, gmax, patience) not in cache]
    print(f"{len(specs)} runs, {len(specs) - len(todo)} reused from {CACHE.name}", flush=True)
    info = machine_info()
    t0 = time.perf_counter()
    gen = Parallel(n_jobs=args.jobs, return_as="generator")(
        delayed(one_run)(*s, gmax, patience, args.verbose) for s in todo
    )
    for i, r in enumerate(gen):
        if not args.quick:
            with CACHE.open("a") as fh:
                fh.write(json.dumps(r) + "\n")
        cache[r["key"]] = r
        print(
            f"[{i + 1}/{len(todo)} {time.perf_counter() - t0:.0f} s] {r['algo']}/"
            f"{r['variant']} N={r['N']} seed={r['seed']}: best {r['best']:.4g} "
            f"({r['blocks_solved']} blocks), {r['generations']} generations, {r['reason']}, "
            f"{r['seconds']:.1f} s",
            flush=True,
        )
    wall = time.perf_counter() - t0
    if args.no_write:
        return 0
    results = [cache[run_key(*s, gmax, patience)] for s in specs]
    groups: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    for s, r in zip(specs, results):
        groups.setdefault((s[0], s[1], s[2]), []).append(r)
    summary = {f"trap5-100|{a}|{v}|N={N}": summarise(rs) for (a, v, N), rs in groups.items()}
    rows = []
    for (a, v, N), rs in groups.items():
        s = summarise(rs)
        fails = s["blocks_solved_failures"]
        rows.append(
            [
                "RBM-EDA" if a == "rbm-eda" else "UMDA",
                v,
                f"{N:,}",
                f"{s['successes']}/{s['runs']}",
                fmt(s["median_evaluations_to_optimum"])
                if s["median_evaluations_to_optimum"]
                else "-",
                fmt(s["median_generations_to_optimum"])
                if s["median_generations_to_optimum"]
                else "-",
                fmt(s["median_best"], 4),
                "-" if not fails else ", ".join(str(b) for b in sorted(fails)),
                fmt(s["median_tell_s"]) if s["median_tell_s"] else "-",
                fmt(s["median_ask_s"]) if s["median_ask_s"] else "-",
                fmt(s["median_seconds"]),
            ]
        )
    table = markdown_table(
        [
            "optimiser",
            "training",
            "N",
            "solved",
            "median evals to optimum",
            "median generations to optimum",
            "median best (of 20)",
            "blocks solved (of 20) in failed runs",
            "model s/gen",
            "sampling s/gen",
            "median s/run",
        ],
        rows,
    )
    ref50 = n50_reference()
    # E100: the smallest N solved in every run of the default configuration, else none.
    solved_N = sorted(
        N
        for (a, v, N), rs in groups.items()
        if a == "rbm-eda" and v == "default" and all(r["success"] for r in rs)
    )
    e100 = (
        summarise(groups[("rbm-eda", "default", solved_N[0])])["median_evaluations_to_optimum"]
        if solved_N
        else None
    )
    scaling: dict[str, Any] = {
        "n50": ref50,
        "N100": solved_N[0] if solved_N else None,
        "E100": e100,
        "exponent": None,
    }
    if ref50 is not None and e100 is not None:
        scaling["exponent"] = math.log(e100 / ref50["median_evaluations_to_optimum"]) / math.log(2)
    RESULTS.mkdir(parents=True, exist_ok=True)
    plot(groups, ref50, scaling, RESULTS / f"{name}.png")
    best_default = max(
        (
            summarise(rs)["successes"] / len(rs)
            for (a, v, _), rs in groups.items()
            if a == "rbm-eda" and v == "default"
        ),
        default=0.0,
    )
    goal = {
        "text": f"trap-5 n = 100 solved by RBM-EDA (default configuration) in >= 8/10 runs at "
        f"one N where UMDA solves 0/10 (here {n_seeds} seeds per N)",
        "met": bool(
            best_default >= 0.8
            and n_seeds >= 10
            and all(
                summarise(rs)["successes"] == 0 for (a, _, _), rs in groups.items() if a == "umda"
            )
        ),
    }
    lines = [table.rstrip("\n"), ""]
    if ref50 is not None:
        lines.append(
            f"Trap-5 n = 50 (from `rbm_eda.json`, {ref50['measured']}): smallest swept "
            f"N solved in {ref50['successes']}/{ref50['runs']} runs: "
            f"N = {ref50['N']:,}, median {ref50['median_evaluations_to_optimum']:,.0f} "
            "evaluations to the optimum."
        )
    if scaling["exponent"] is not None:
        lines.append(
            f"n = 100: N = {scaling['N100']:,} solved in every run, median "
            f"{e100:,.0f} evaluations; empirical exponent log(E100/E50)/log 2 = "
            f"{scaling['exponent']:.2f}."
        )
    else:
        lines.append(
            "n = 100: no N was solved in every run of the default configuration, so no "
            "exponent is computed."
        )
    if len(todo) < len(specs):
        lines.append(
            f"{len(specs) - len(todo)} of the {len(specs)} runs were measured by earlier "
            f"invocations of this script (run cache `{CACHE.name}`), one at a time on one core; "
            "the date above is when this file was written."
        )
    lines += ["", f"![trap-5 n = 100 runs and evaluations against n]({name}.png)", ""]
    payload = {
        "machine": info,
        "settings": {
            "quick": args.quick,
            "seeds": seeds,
            "jobs": args.jobs,
            "N": Ns,
            "n": N_BITS,
            "k": K,
            "max_generations": gmax,
            "patience": patience,
            "variants": variants,
            "auto_N": auto_N,
            "rbm_eda": RBM_EDA,
            "umda": UMDA_OPTS,
            "torch": torch.__version__,
            "torch_threads_per_run": 1,
        },
        "note": f"{args.jobs} run(s) at a time; {len(specs) - len(todo)} of {len(specs)} runs "
        f"reused from {CACHE.name} (earlier invocations, same settings and code path); "
        "times per generation are medians over generations and runs",
        "wall_seconds_this_invocation": wall,
        "summary": summary,
        "scaling": scaling,
        "paper": PAPER,
        "goal": goal,
        "runs": results,
    }
    write_results(name, payload, "\n".join(lines), "RBM-EDA on trap-5, n = 100 (scaling)")
    print("\n".join(lines))
    print(f"goal met: {goal['met']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
