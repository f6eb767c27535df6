"""XNES overhead: microseconds per ask + tell generation, asktell against PINTS.

What is measured
    The time spent inside ``ask()`` and ``tell()`` per generation of XNES on the sphere
    ``f(x) = sum(x**2)`` in d = 2, 10 and 50 dimensions, for
    ``asktell.create("xnes", x0=ones(d), sigma0=1.0, seed=...)`` (candidate) and
    ``pints.XNES(ones(d), sigma0=1.0)`` (baseline). The objective is evaluated outside the
    timed region (one vectorised ``einsum`` per batch, the same for both): only ask + tell count.
    Both use the same population size, 4 + floor(3 ln d).

How
    Each repeat builds fresh optimisers, runs a few untimed warm-up generations, then times a
    short block of generations of each library in turn (the order alternates between repeats,
    and the dimensions are interleaved within a repeat). The garbage collector is off inside timed
    blocks, as in :mod:`timeit`. Figures are medians over repeats of each block's mean.
    Everything is measured twice, interleaved: with BLAS limited to one thread (threadpoolctl,
    both libraries; the headline, ``--blas-threads``) and with the library default. On a
    shared 2-CPU machine OpenBLAS's second thread stalls small-matrix LAPACK calls by
    milliseconds whenever another process holds a core, which swamps microsecond overheads.
    Informative extra: the cost of asktell's ``opt.stop()`` (what a ``while not opt.stop()``
    loop adds per generation; PINTS's ``stop()`` is a constant ``False``).

Goal
    asktell <= 0.4 x PINTS at d = 10 (PINTS took about 97 us per generation on the project's
    reference machine).

Run ``python benchmarks/xnes_overhead.py [--quick]``; it writes
``benchmarks/results/xnes_overhead.json`` and ``.md``.
"""

from __future__ import annotations

import gc
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from _common import (
    benchmark_parser,
    fmt,
    machine_info,
    markdown_table,
    median,
    quartiles,
    write_results,
)

import asktell
from asktell_optim import Sphere

NAME = "xnes_overhead"
DIMS = (2, 10, 50)
GOAL_DIM = 10
GOAL_RATIO = 0.4


#: The vectorised sphere of the library's test problems: one value per row of ``xs``.
sphere = Sphere().batch


def make_asktell(d: int, seed: int) -> Any:
    """Fresh asktell XNES at ``x0 = ones(d)``, ``sigma0 = 1``.

    Parameters
    ----------
    d : int
        Dimension.
    seed : int
        The optimiser's seed.

    Returns
    -------
    asktell.Optimiser
    """
    return asktell.create("xnes", x0=np.ones(d), sigma0=1.0, seed=seed)


def make_pints(d: int, seed: int) -> Any:
    """Fresh ``pints.XNES`` at ``x0 = ones(d)``, ``sigma0 = 1`` (seeds numpy's global RNG).

    Parameters
    ----------
    d : int
        Dimension.
    seed : int
        Seed of numpy's global generator, which PINTS samples from.

    Returns
    -------
    pints.XNES
    """
    import pints

    np.random.seed(seed)  # noqa: NPY002 - PINTS draws from numpy's global generator
    return pints.XNES(np.ones(d), sigma0=1.0)


def time_block(
    opt: Any, n_warmup: int, n_gen: int, with_stop: bool = False
) -> tuple[float, float, float]:
    """Run ``n_warmup`` untimed generations, then time ``n_gen`` generations of ask + tell.

    Parameters
    ----------
    opt : optimiser
        asktell or PINTS optimiser (both have ``ask``, ``tell``).
    n_warmup, n_gen : int
        Untimed and timed generations.
    with_stop : bool
        Also call and time ``opt.stop()`` once per generation (asktell only).

    Returns
    -------
    mean_us : float
        Mean microseconds per generation in ask + tell (+ stop), objective excluded.
    median_us : float
        Median over the block's generations of the same (insensitive to preemption spikes).
    stop_us : float
        Mean microseconds per ``stop()`` call (0 when ``with_stop`` is False).
    """
    ask, tell, stop = opt.ask, opt.tell, opt.stop
    for _ in range(n_warmup):
        tell(sphere(ask()))
    perf = time.perf_counter
    gens = [0.0] * n_gen
    stop_total = 0.0
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for i in range(n_gen):
            t0 = perf()
            xs = ask()
            t1 = perf()
            fs = sphere(xs)
            t2 = perf()
            tell(fs)
            t3 = perf()
            if with_stop:
                stop()
                t4 = perf()
                stop_total += t4 - t3
                gens[i] = (t1 - t0) + (t4 - t2)
            else:
                gens[i] = (t1 - t0) + (t3 - t2)
    finally:
        if gc_was_enabled:
            gc.enable()
    return 1e6 * sum(gens) / n_gen, 1e6 * median(gens), 1e6 * stop_total / n_gen


def final_best(opt: Any) -> float:
    """Best value found (asktell's ``fbest()`` or PINTS's ``f_best()``)."""
    return float(opt.f_best() if hasattr(opt, "f_best") else opt.fbest())


def run(quick: bool, blas_configs: dict[str, int | None]) -> dict[str, Any]:
    """Measure every dimension and BLAS setting; return the results (see the module docstring).

    Parameters
    ----------
    quick : bool
        Fewer repeats and shorter blocks.
    blas_configs : dict
        Label -> BLAS thread limit applied (with threadpoolctl) around every block of both
        libraries; None leaves the library default.

    Returns
    -------
    dict
        Settings, raw per-block figures, medians, ratios and the goal.
    """
    import pints
    from threadpoolctl import threadpool_limits

    # Short blocks, many repeats: on a shared machine most short blocks run undisturbed, and
    # the median over blocks then ignores the ones another process preempted.
    n_repeats = 11 if quick else 41
    n_gen = 30 if quick else 50
    n_warmup = 10 if quick else 20
    variants: dict[str, Callable[[int, int], Any]] = {
        "asktell": make_asktell,
        "pints": make_pints,
        "asktell+stop": make_asktell,
    }
    names = list(variants)
    keys = [(c, d) for c in blas_configs for d in DIMS]
    raw_mean: dict[tuple[str, int], dict[str, list[float]]] = {
        k: {v: [] for v in variants} for k in keys
    }
    raw_median: dict[tuple[str, int], dict[str, list[float]]] = {
        k: {v: [] for v in variants} for k in keys
    }
    stop_us: dict[tuple[str, int], list[float]] = {k: [] for k in keys}
    fbest: dict[tuple[str, int], dict[str, list[float]]] = {
        k: {v: [] for v in variants} for k in keys
    }
    popsize: dict[int, dict[str, int]] = {}
    for d in DIMS:
        a, p = make_asktell(d, 0), make_pints(d, 0)
        p.ask()  # PINTS sets its population size on the first ask
        popsize[d] = {"asktell": int(a.popsize), "pints": int(p.population_size())}
        if popsize[d]["asktell"] != popsize[d]["pints"]:
            raise RuntimeError(f"population sizes differ at d={d}: {popsize[d]}")

    def block(config: str, d: int, v: str, seed: int) -> tuple[float, float, float, float]:
        limit = blas_configs[config]
        opt = variants[v](d, seed)
        if limit is None:
            out = time_block(opt, n_warmup, n_gen, with_stop=v.endswith("stop"))
        else:
            with threadpool_limits(limits=limit):
                out = time_block(opt, n_warmup, n_gen, with_stop=v.endswith("stop"))
        return (*out, final_best(opt))

    # Warm-up: one untimed, shorter round of everything.
    for config, d in keys:
        for v in names:
            block(config, d, v, 999)
    for r in range(n_repeats):
        order = names if r % 2 == 0 else names[::-1]
        for config, d in keys:
            for v in order:
                mean_us, median_us, s_us, fb = block(config, d, v, 1000 + r)
                raw_mean[config, d][v].append(mean_us)
                raw_median[config, d][v].append(median_us)
                fbest[config, d][v].append(fb)
                if v.endswith("stop"):
                    stop_us[config, d].append(s_us)
    results: dict[str, Any] = {}
    for config, d in keys:
        rm, rmed = raw_mean[config, d], raw_median[config, d]
        m = {v: median(rm[v]) for v in variants}
        mm = {v: median(rmed[v]) for v in variants}
        results.setdefault(config, {})[str(d)] = {
            "popsize": popsize[d],
            "us_per_generation_median_of_block_means": m,
            "us_per_generation_quartiles_of_block_means": {v: quartiles(rm[v]) for v in variants},
            "us_per_generation_median_of_block_medians": mm,
            "stop_us_median": median(stop_us[config, d]),
            "ratio_asktell_over_pints": m["asktell"] / m["pints"],
            "ratio_paired_median": median([a / p for a, p in zip(rm["asktell"], rm["pints"])]),
            "ratio_of_block_medians": mm["asktell"] / mm["pints"],
            "ratio_asktell_with_stop_over_pints": m["asktell+stop"] / m["pints"],
            "raw_block_mean_us": rm,
            "raw_block_median_us": rmed,
            "fbest_after_block_median": {v: median(fbest[config, d][v]) for v in variants},
        }
    goal_by_config = {
        c: results[c][str(GOAL_DIM)]["ratio_asktell_over_pints"] for c in blas_configs
    }
    headline = next(iter(blas_configs))
    ratio = goal_by_config[headline]
    return {
        "benchmark": NAME,
        "settings": {
            "quick": quick,
            "dims": list(DIMS),
            "blas_configs": blas_configs,
            "repeats": n_repeats,
            "generations_per_block": n_gen,
            "warmup_generations_per_block": n_warmup,
            "objective": "sphere via einsum, evaluated outside the timed region",
            "x0": "ones(d)",
            "sigma0": 1.0,
            "timed": "ask() + tell() per generation (+ stop() in the asktell+stop variant)",
            "pints_version": pints.__version__,
            "asktell_version": asktell.__version__,
        },
        "results": results,
        "goal": {
            "text": f"asktell <= {GOAL_RATIO} x PINTS at d = {GOAL_DIM} "
                    f"(headline BLAS setting: {headline})",
            "ratio": ratio,
            "threshold": GOAL_RATIO,
            "met": bool(ratio <= GOAL_RATIO),
            "ratio_by_blas_setting": goal_by_config,
            "met_by_blas_setting": {c: bool(x <= GOAL_RATIO) for c, x in goal_by_config.items()},
        },
    }


def table(res: dict[str, Any]) -> str:
    """The Markdown table of a result dict."""
    rows = []
    for config, per_dim in res["results"].items():
        for d in DIMS:
            r = per_dim[str(d)]
            m = r["us_per_generation_median_of_block_means"]
            rows.append([
                config,
                d,
                r["popsize"]["asktell"],
                fmt(m["pints"]),
                fmt(m["asktell"]),
                f"**{r['ratio_asktell_over_pints']:.2f}x**",
                f"{r['ratio_paired_median']:.2f}x",
                fmt(r["stop_us_median"]),
                f"{r['ratio_asktell_with_stop_over_pints']:.2f}x",
            ])
    return markdown_table(
        ["BLAS threads", "d", "popsize", "PINTS us/gen", "asktell us/gen", "asktell/PINTS",
         "paired", "asktell stop() us", "(asktell+stop)/PINTS"],
        rows,
    )


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = benchmark_parser(__doc__, "fewer repeats, shorter blocks")
    ap.add_argument(
        "--blas-threads", type=int, default=1,
        help="BLAS thread limit of the headline configuration (default 1); the library "
             "default is always measured too, interleaved",
    )
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore", DeprecationWarning)
    info = machine_info()
    configs: dict[str, int | None] = {str(args.blas_threads): args.blas_threads,
                                      "default": None}
    res = run(args.quick, configs)
    res["machine"] = info
    tab = table(res)
    g = res["goal"]
    print(f"## XNES ask+tell overhead, asktell vs PINTS {res['settings']['pints_version']}\n")
    print(tab)
    print("us/gen: median over repeats of each block's mean time per generation; paired: "
          "median of the per-repeat ratios.")
    for c, x in g["ratio_by_blas_setting"].items():
        print(f"Goal ({g['text'].split(' (')[0]}), BLAS threads {c}: ratio {x:.3f} -> "
              f"{'met' if x <= GOAL_RATIO else 'NOT met'}")
    path = write_results(NAME, res, tab, "XNES ask+tell overhead: asktell vs PINTS")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
