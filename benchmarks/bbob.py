"""BBOB: asktell's CMA-ES with BIPOP restarts on the COCO noiseless suite, against pycma's.

What is measured
    The 24 functions of COCO's ``bbob`` suite (through ``cocoex``, package coco-experiment) in
    d = 2, 5 (and 10 in the full run), several instances each, with a budget of 1e4 d
    evaluations per (function, dimension, instance) problem. Every run starts from
    ``problem.initial_solution`` (the origin) with sigma0 = 2, unbounded (no boundaries are
    passed; the functions are defined everywhere and have their optimum in [-5, 5]^d), and stops
    as soon as ``problem.final_target_hit`` (f - f_opt < 1e-8) or when the budget is spent.
    Methods:

    * ``asktell cmaes+bipop``: ``asktell.create("cmaes", restarts="bipop", max_restarts=9)``
      (candidate); the run also ends when its last restart stops;
    * ``pycma fmin2 bipop``: ``cma.fmin2(f, x0, 2, {'verbose': -9, 'maxfevals': budget,
      'seed': s, 'termination_callback': <final target hit>}, restarts=9, bipop=True)``
      (baseline; pycma seeds numpy's global generator);
    * ``asktell xnes (indep. restarts)``: xNES with its default population inside
      ``asktell.restarts.Restarts(..., schedule="independent", domain=[-5, 5]^d)``: the first
      run starts from ``initial_solution`` with sigma0 = 2; whenever a run's own ``stop()``
      fires, a fresh xNES with the same settings and a new seed starts from a point drawn
      uniformly in [-5, 5]^d (independent restarts, same population size; the search itself
      stays unbounded), until the target or the budget.

    No evaluation is made beyond the budget: candidates of the last batch beyond it are told
    ``inf`` without calling the function. One ``BudgetTracker`` (benchmarks/_common.py) per run
    counts the evaluations and records when each target was first reached; the asktell methods
    run in ``budget_loop``. f_opt is read from the problem's optimum
    (``problem._best_parameter('print')``, written into a temporary directory, and evaluated on
    a separate instance of the problem), so that every run's best f - f_opt can be followed;
    ``cocoex`` is used without an observer and writes nothing else.

Reported
    * per method and dimension: the fraction of (function, instance) pairs whose final target
      1e-8 was reached;
    * per function, method and dimension: the expected running time at the final target,
      ERT = (evaluations of all runs until the final target was hit, or until they ended) /
      (number of runs that hit it), and the number of successes;
    * ``benchmarks/results/bbob_ecdf.png``: for each dimension, the empirical cumulative
      distribution of runtimes (evaluations / d, log axis) over all (function, instance,
      target) triples, targets f - f_opt = 10^2 ... 10^-8 in steps of 10^0.2 (51 targets), one
      line per method: a simplified COCO runtime ECDF (no bootstrapped restarts).

Goal
    asktell's CMA-ES with BIPOP solves at least as many (function, instance) pairs as pycma's
    BIPOP at every dimension, less a tolerance of one pair in twenty-four (the two are the same
    algorithm with different random numbers). xNES is reported for information.

Run
    ``python benchmarks/bbob.py --quick`` (d = 2, 5, instances 1-3: 144 problems x 3 methods,
    about 2 minutes on 2 CPUs with the default ``--jobs 2``) or ``python benchmarks/bbob.py``
    (the full run: d = 2, 5, 10, instances 1-15, 1,080 problems x 3 methods, about 13 minutes
    on 2 CPUs).
    Both write ``benchmarks/results/bbob.json``, ``bbob.md`` and ``bbob_ecdf.png``.
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np
from _common import (
    RESULTS,
    BudgetTracker,
    benchmark_parser,
    budget_loop,
    machine_info,
    markdown_table,
    one_blas_thread,
    write_results,
)

import asktell
from asktell.restarts import Restarts

NAME = "bbob"
SIGMA0 = 2.0
MAX_RESTARTS = 9
BUDGET_PER_D = 10_000
#: Where the bbob functions have their optimum; independent restarts start inside it.
DOMAIN = (-5.0, 5.0)
FINAL_TARGET = 1e-8
#: Targets f - f_opt of the ECDF: 10^2, 10^1.8, ..., 10^-8 (51 values, decreasing).
TARGETS = 10.0 ** np.round(np.arange(2.0, -8.0 - 1e-9, -0.2), 1)
METHODS = ("asktell cmaes+bipop", "pycma fmin2 bipop", "asktell xnes (indep. restarts)")
FUNCTIONS = {
    1: "Sphere", 2: "Ellipsoid separable", 3: "Rastrigin separable",
    4: "Skew Rastrigin-Bueche", 5: "Linear slope", 6: "Attractive sector",
    7: "Step ellipsoid", 8: "Rosenbrock original", 9: "Rosenbrock rotated",
    10: "Ellipsoid", 11: "Discus", 12: "Bent cigar", 13: "Sharp ridge",
    14: "Different powers", 15: "Rastrigin", 16: "Weierstrass", 17: "Schaffer F7",
    18: "Schaffer F7 ill-cond.", 19: "Griewank-Rosenbrock", 20: "Schwefel",
    21: "Gallagher 101 peaks", 22: "Gallagher 21 peaks", 23: "Katsuura",
    24: "Lunacek bi-Rastrigin",
}


@contextlib.contextmanager
def cwd(path: str | os.PathLike[str]) -> Iterator[None]:
    """Change the working directory inside a ``with`` block.

    Parameters
    ----------
    path : path-like
    """
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def suite_options(dims: list[int], instances: tuple[int, int]) -> str:
    """The ``cocoex.Suite`` option string.

    Parameters
    ----------
    dims : list of int
    instances : (first, last)

    Returns
    -------
    str
    """
    return (f"dimensions:{','.join(map(str, dims))} "
            f"instance_indices:{instances[0]}-{instances[1]}")


def optimal_values(options: str, workdir: str) -> dict[str, float]:
    """f_opt of every problem of the suite, from its optimum.

    ``problem._best_parameter('print')`` writes the optimum to a file in the working directory
    (here ``workdir``, a temporary directory); it is evaluated on a fresh problem object, never
    on one that a method then uses.

    Parameters
    ----------
    options : str
        Suite options.
    workdir : str
        A temporary directory.

    Returns
    -------
    dict
        Problem id -> f_opt (rounded to the 0.01 grid COCO draws f_opt on).
    """
    import cocoex

    out: dict[str, float] = {}
    with cwd(workdir):
        suite = cocoex.Suite("bbob", "", options)
        probe = cocoex.Suite("bbob", "", options)
        for p in suite:
            p._best_parameter("print")
            xopt = np.loadtxt("._bbob_problem_best_parameter.txt", ndmin=1)
            q = probe.get_problem(p.id)
            f = float(q(xopt))
            if not q.final_target_hit or abs(f - round(f, 2)) > 1e-9:
                raise RuntimeError(f"could not find f_opt of {p.id}: f(xopt) = {f!r}")
            out[p.id] = round(f, 2)
            q.free()
    return out


def evaluate(problem: Any, xs: np.ndarray, tracker: BudgetTracker) -> tuple[np.ndarray, int]:
    """f of the rows of ``xs`` that fit in the budget, ``inf`` (not evaluated) beyond it.

    Parameters
    ----------
    problem : cocoex.Problem
    xs : ndarray, shape (n, d)
    tracker : BudgetTracker
        Only read here (its remaining budget): record what was evaluated.

    Returns
    -------
    fs : ndarray, shape (n,)
    n_evaluated : int
        The first ``n_evaluated`` rows were evaluated.
    """
    n = min(len(xs), tracker.remaining)
    fs = np.full(len(xs), math.inf)
    for i in range(n):
        fs[i] = problem(xs[i])
    return fs, n


def ask_tell(opt: asktell.Optimiser, problem: Any, fopt: float,
             tracker: BudgetTracker) -> dict[str, Any]:
    """Drive ``opt`` in :func:`budget_loop` until the final target, the budget or its stop.

    Parameters
    ----------
    opt : asktell.Optimiser
    problem : cocoex.Problem
    fopt : float
    tracker : BudgetTracker
        Follows f - f_opt.

    Returns
    -------
    dict
        ``restarts`` and why the run ended (``"target"``, ``"budget"`` or the reasons of the
        last restart's stop).
    """
    def step() -> np.ndarray:
        fs, n = evaluate(problem, opt.ask(), tracker)
        opt.tell(fs)
        return fs[:n] - fopt

    def stop() -> Any:
        return "target" if problem.final_target_hit else opt.stop()

    reason = budget_loop(step, tracker, stop)
    return {"restarts": getattr(opt, "restart_index", 0), "stop": str(reason)}


def run_asktell_bipop(problem: Any, fopt: float, tracker: BudgetTracker, x0: np.ndarray,
                      seed: int) -> dict[str, Any]:
    """asktell CMA-ES with BIPOP restarts until the target, the budget or its last restart.

    Parameters
    ----------
    problem : cocoex.Problem
    fopt : float
    tracker : BudgetTracker
    x0 : ndarray
    seed : int

    Returns
    -------
    dict
        ``restarts`` and the stop reason.
    """
    opt = asktell.create("cmaes", x0=x0, sigma0=SIGMA0, restarts="bipop",
                         max_restarts=MAX_RESTARTS, seed=seed)
    return ask_tell(opt, problem, fopt, tracker)


def run_fmin2(problem: Any, fopt: float, tracker: BudgetTracker, x0: np.ndarray,
              seed: int) -> dict[str, Any]:
    """pycma's ``fmin2`` with BIPOP restarts.

    Parameters
    ----------
    problem : cocoex.Problem
    fopt : float
    tracker : BudgetTracker
    x0 : ndarray
    seed : int
        pycma's ``seed`` option (seeds numpy's global generator).

    Returns
    -------
    dict
    """
    import cma

    def f(x: np.ndarray) -> float:
        fs, n = evaluate(problem, np.asarray(x, dtype=float)[None, :], tracker)
        tracker.record(fs[:n] - fopt)
        return float(fs[0])

    opts = {"verbose": -9, "maxfevals": tracker.budget, "seed": seed,
            "termination_callback": lambda es: bool(problem.final_target_hit)}
    _, es = cma.fmin2(f, x0, SIGMA0, opts, restarts=MAX_RESTARTS, bipop=True)
    return {"restarts": len(es.all_stoppings) - 2, "stop": str(dict(es.stop()))}


def run_xnes(problem: Any, fopt: float, tracker: BudgetTracker, x0: np.ndarray,
             seed: int) -> dict[str, Any]:
    """asktell xNES with independent restarts (``Restarts``, schedule ``"independent"``).

    Parameters
    ----------
    problem : cocoex.Problem
    fopt : float
    tracker : BudgetTracker
    x0 : ndarray
        The first run's start; restarts start at uniform points of :data:`DOMAIN`.
    seed : int

    Returns
    -------
    dict
    """
    d = x0.size
    domain = asktell.RectangularBoundaries(np.full(d, DOMAIN[0]), np.full(d, DOMAIN[1]))
    # restarts until the target or the budget: every run costs an evaluation, so a budget's
    # worth of restarts is never the limit
    opt = Restarts(asktell.get("optimiser", "xnes"), {"x0": x0, "sigma0": SIGMA0},
                   schedule="independent", domain=domain, max_restarts=tracker.budget,
                   seed=seed)
    return ask_tell(opt, problem, fopt, tracker)


METHOD_RUNS: dict[str, Callable[..., dict[str, Any]]] = {
    METHODS[0]: run_asktell_bipop, METHODS[1]: run_fmin2, METHODS[2]: run_xnes,
}


_SUITES: dict[str, Any] = {}


def one_run(task: tuple[str, str, int, int, int, float, str]) -> dict[str, Any]:
    """Run one method on one problem.

    Parameters
    ----------
    task : (method, suite options, function, dimension, instance, f_opt, workdir)

    Returns
    -------
    dict
        The run's record: evaluations, success, best f - f_opt, first hit of each target.
    """
    import cocoex

    method, options, fid, d, inst, fopt, workdir = task
    warnings.simplefilter("ignore")
    t0 = time.perf_counter()
    with cwd(workdir):
        if options not in _SUITES:
            _SUITES[options] = cocoex.Suite("bbob", "", options)
        problem = _SUITES[options].get_problem_by_function_dimension_instance(fid, d, inst)
        try:
            tracker = BudgetTracker(BUDGET_PER_D * d, FINAL_TARGET, TARGETS)
            x0 = np.array(problem.initial_solution, dtype=float)
            seed = 1 + 100 * fid + 10_000 * inst + d
            info = METHOD_RUNS[method](problem, fopt, tracker, x0, seed)
            hit = bool(problem.final_target_hit)
        finally:
            problem.free()
    final = tracker.first_hits[-1]
    return {
        "method": method, "function": fid, "dimension": d, "instance": inst,
        "success": hit, "runtime_final": final, "evaluations": tracker.evals,
        "best_delta": tracker.fbest, "first_hit": tracker.first_hits,
        "consistent": hit == (final is not None),  # cocoex's flag vs our f - f_opt record
        "seconds": time.perf_counter() - t0, **info,
    }


def summarise(runs: list[dict[str, Any]], dims: list[int],
              functions: list[int]) -> dict[str, Any]:
    """Success fractions and ERT per method, dimension and function.

    Parameters
    ----------
    runs : list of dict
        Records from :func:`one_run`.
    dims, functions : list of int

    Returns
    -------
    dict
        ``solved[method][d]`` (successes, pairs, fraction), ``ert[method][d][f]`` (ERT,
        successes, runs), ``targets_reached[method][d]`` (fraction of triples reached).
    """
    solved: dict[str, dict[str, Any]] = {m: {} for m in METHODS}
    ert: dict[str, dict[str, Any]] = {m: {} for m in METHODS}
    reached: dict[str, dict[str, float]] = {m: {} for m in METHODS}
    for m in METHODS:
        for d in dims:
            rs = [r for r in runs if r["method"] == m and r["dimension"] == d]
            n_ok = sum(r["success"] for r in rs)
            solved[m][str(d)] = {"successes": n_ok, "pairs": len(rs),
                                 "fraction": n_ok / len(rs) if rs else math.nan}
            hits = sum(h is not None for r in rs for h in r["first_hit"])
            reached[m][str(d)] = hits / (len(rs) * len(TARGETS)) if rs else math.nan
            per_f = {}
            for f in functions:
                fr = [r for r in rs if r["function"] == f]
                succ = [r for r in fr if r["success"]]
                spent = sum(r["runtime_final"] if r["success"] and r["runtime_final"]
                            else r["evaluations"] for r in fr)
                per_f[str(f)] = {"ert": spent / len(succ) if succ else math.inf,
                                 "successes": len(succ), "runs": len(fr),
                                 "evaluations": spent}
            ert[m][str(d)] = per_f
    return {"solved": solved, "ert": ert, "targets_reached": reached}


def ecdf_plot(runs: list[dict[str, Any]], dims: list[int], path: Path) -> dict[str, Any]:
    """Plot the runtime ECDFs (one panel per dimension) and return the curves' data.

    Parameters
    ----------
    runs : list of dict
    dims : list of int
    path : Path
        The PNG to write.

    Returns
    -------
    dict
        ``{method: {d: fraction of triples reached at budget / d = 1e0, 1e1, ..., 1e4}}``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grid = np.logspace(0, math.log10(BUDGET_PER_D), 400)
    decades = 10.0 ** np.arange(0, int(math.log10(BUDGET_PER_D)) + 1)
    fig, axes = plt.subplots(1, len(dims), figsize=(5 * len(dims), 4.2), sharey=True,
                             squeeze=False)
    styles = {METHODS[0]: ("C0", "-"), METHODS[1]: ("C3", "--"), METHODS[2]: ("C2", "-.")}
    points: dict[str, Any] = {m: {} for m in METHODS}
    for ax, d in zip(axes[0], dims):
        for m in METHODS:
            rs = [r for r in runs if r["method"] == m and r["dimension"] == d]
            rt = np.array([np.inf if h is None else h / d for r in rs for h in r["first_hit"]])
            n = rt.size
            ys = np.searchsorted(np.sort(rt), grid, side="right") / n
            color, ls = styles[m]
            n_pairs = len(rs)
            ax.step(grid, ys, where="post", color=color, ls=ls, lw=1.8,
                    label=f"{m} ({n_pairs} problems)")
            points[m][str(d)] = {f"{x:g}": float(np.mean(rt <= x)) for x in decades}
        ax.set_xscale("log")
        ax.set_xlim(1, BUDGET_PER_D)
        ax.set_ylim(0, 1)
        ax.grid(True, which="both", alpha=0.3)
        ax.set_xlabel("evaluations / d")
        ax.set_title(f"bbob f1-f24, d = {d}")
    axes[0][0].set_ylabel("fraction of (function, instance, target) triples")
    axes[0][-1].legend(loc="upper left", fontsize=8)
    fig.suptitle("Runtime ECDF, targets f - f_opt = 1e2 ... 1e-8 (51 per problem), "
                 f"budget {BUDGET_PER_D:,} d", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return points


def run(dims: list[int], instances: tuple[int, int], jobs: int,
        functions: list[int]) -> dict[str, Any]:
    """Every method on every problem; return settings, raw records, summaries and the goal.

    Parameters
    ----------
    dims : list of int
    instances : (first, last)
    jobs : int
        Worker processes.
    functions : list of int
        BBOB function numbers.

    Returns
    -------
    dict
    """
    import cma
    import cocoex

    options = suite_options(dims, instances)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="asktell-bbob-") as workdir:
        fopts = optimal_values(options, workdir)
        with cwd(workdir):
            ids = [(p.id_function, p.dimension, p.id_instance, p.id)
                   for p in cocoex.Suite("bbob", "", options)]
        tasks = [(m, options, f, d, i, fopts[pid], workdir)
                 for f, d, i, pid in ids if f in functions for m in METHODS]
        tasks.sort(key=lambda t: -t[3])  # largest dimensions first, for load balance
        runs: list[dict[str, Any]] = []
        with ProcessPoolExecutor(jobs, initializer=one_blas_thread) as ex:
            futures = [ex.submit(one_run, t) for t in tasks]
            for k, fut in enumerate(as_completed(futures)):
                runs.append(fut.result())
                if (k + 1) % 50 == 0 or k + 1 == len(tasks):
                    print(f"  {k + 1}/{len(tasks)} runs ({time.perf_counter() - t0:.0f} s)",
                          flush=True)
        leftovers = sorted(os.listdir(workdir))
    runs.sort(key=lambda r: (r["method"], r["dimension"], r["function"], r["instance"]))
    summary = summarise(runs, dims, functions)
    ecdf = ecdf_plot(runs, dims, RESULTS / "bbob_ecdf.png")
    for r in runs:  # compact raw record: one string instead of 51 JSON lines per run
        r["first_hit"] = " ".join("-" if h is None else str(h) for h in r["first_hit"])
    goal_per_d = {}
    for d in dims:
        a = summary["solved"][METHODS[0]][str(d)]
        b = summary["solved"][METHODS[1]][str(d)]
        slack = a["pairs"] / 24
        goal_per_d[str(d)] = {"asktell": a["successes"], "pycma": b["successes"],
                              "pairs": a["pairs"], "tolerance_pairs": slack,
                              "met": bool(a["successes"] >= b["successes"] - slack)}
    return {
        "benchmark": NAME,
        "settings": {
            "suite": f'cocoex.Suite("bbob", "", "{options}")',
            "dims": dims,
            "instances": list(instances),
            "functions": functions,
            "budget": f"{BUDGET_PER_D} * d evaluations per run",
            "sigma0": SIGMA0,
            "x0": "problem.initial_solution",
            "boundaries": None,
            "max_restarts": MAX_RESTARTS,
            "xnes_restarts": "asktell Restarts, schedule 'independent': new seed, same sigma0 "
                             "and popsize, x0 uniform in [-5, 5]^d (the first run: "
                             "initial_solution); unbounded search",
            "targets": TARGETS.tolist(),
            "first_hit": "per run: the evaluation at which each target (in the order of "
                         "'targets') was first reached, space-separated, '-' if never",
            "final_target": FINAL_TARGET,
            "ert": "sum over runs of evaluations until the final target was hit (or all "
                   "evaluations of an unsuccessful run) / number of successful runs",
            "jobs": jobs,
            "wall_s": time.perf_counter() - t0,
            "files_left_in_cocoex_workdir": leftovers,
            "versions": {"asktell": asktell.__version__, "cma": cma.__version__,
                         "cocoex": getattr(cocoex, "__version__", None)},
        },
        "fopt": fopts,
        "summary": summary,
        "ecdf_at_decades": ecdf,
        "cocoex_flag_consistent_with_fopt": all(r["consistent"] for r in runs),
        "runs": runs,
        "goal": {
            "text": "asktell cmaes+bipop solves >= as many (function, instance) pairs as pycma "
                    "fmin2 BIPOP at every d, less one pair in 24",
            "per_dimension": goal_per_d,
            "met": all(g["met"] for g in goal_per_d.values()),
        },
    }


def _ert_cell(e: dict[str, Any]) -> str:
    ert = e["ert"]
    val = "inf" if not math.isfinite(ert) else f"{ert:,.0f}"
    return f"{val} ({e['successes']}/{e['runs']})"


def table(res: dict[str, Any]) -> str:
    """The Markdown tables of a result dict: solved fractions, then ERT per function.

    Parameters
    ----------
    res : dict
        As returned by :func:`run`.

    Returns
    -------
    str
    """
    dims = res["settings"]["dims"]
    s = res["summary"]
    rows = []
    for m in METHODS:
        row = [m]
        for d in dims:
            v = s["solved"][m][str(d)]
            row.append(f"{v['successes']}/{v['pairs']} = **{v['fraction']:.1%}**")
        for d in dims:
            row.append(f"{s['targets_reached'][m][str(d)]:.1%}")
        rows.append(row)
    head = markdown_table(
        ["method"] + [f"final target 1e-8 reached, d={d}" for d in dims]
        + [f"all 51 targets reached, d={d}" for d in dims], rows)
    rows = []
    for f in res["settings"]["functions"]:
        row = [f"f{f} {FUNCTIONS[f]}"]
        for d in dims:
            for m in METHODS:
                row.append(_ert_cell(s["ert"][m][str(d)][str(f)]))
        rows.append(row)
    short = {METHODS[0]: "asktell bipop", METHODS[1]: "pycma bipop", METHODS[2]: "asktell xnes"}
    ert = markdown_table(["function"] + [f"d={d} {short[m]}" for d in dims for m in METHODS],
                         rows)
    return (head + "\nERT at the final target (evaluations; successes/runs):\n\n" + ert
            + "\n![runtime ECDF](bbob_ecdf.png)\n")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point (``argv`` default ``sys.argv[1:]``); returns the exit status,
    0 also when a goal is not met (that is a result, not a failure)."""
    ap = benchmark_parser(__doc__,
                          "d = 2, 5 and instances 1-3 (default: d = 2, 5, 10, instances 1-15)")
    ap.add_argument("--instances", type=int, nargs=2, metavar=("FIRST", "LAST"),
                    help="instance range (overrides)")
    ap.add_argument("--dims", type=int, nargs="+", help="dimensions (overrides)")
    ap.add_argument("--functions", type=int, nargs="+", default=list(FUNCTIONS),
                    help="BBOB functions (default 1-24)")
    ap.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    dims = args.dims or ([2, 5] if args.quick else [2, 5, 10])
    instances = tuple(args.instances or ((1, 3) if args.quick else (1, 15)))
    info = machine_info()
    res = run(dims, instances, args.jobs, args.functions)
    res["settings"]["quick"] = args.quick
    res["machine"] = info
    tab = table(res)
    print(f"\n## BBOB, {res['settings']['suite']}, budget 1e4 d\n")
    print(tab)
    for d, g in res["goal"]["per_dimension"].items():
        print(f"goal at d={d}: asktell {g['asktell']}/{g['pairs']} vs pycma "
              f"{g['pycma']}/{g['pairs']} -> {'met' if g['met'] else 'NOT met'}")
    print(f"cocoex final_target_hit consistent with f - f_opt record: "
          f"{res['cocoex_flag_consistent_with_fopt']}; files cocoex left in its temporary "
          f"directory: {res['settings']['files_left_in_cocoex_workdir']}")
    path = write_results(NAME, res, tab, "BBOB (COCO) f1-f24: asktell CMA-ES BIPOP vs pycma "
                         "BIPOP and asktell xNES")
    print(f"wrote {path} and {RESULTS / 'bbob_ecdf.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
