"""Optimiser overhead: microseconds per ask + tell generation, asktell against other libraries.

What is measured
    The time spent inside the libraries' ask and tell calls per generation (one population) on
    the sphere in d = 2, 10 and 50 dimensions, for every population optimiser of asktell
    (``xnes``, ``snes``, ``cmaes``, ``pso``) and, in the same run, these baselines:

    * PINTS ``XNES``, ``SNES`` and ``PSO`` (``ask()`` / ``tell()`` of a whole population);
    * raw pycma, ``cma.CMAEvolutionStrategy(x0, sigma0, {'verbose': -9})`` (``ask`` / ``tell``);
    * CyberAgent's ``cmaes.CMA(mean, sigma)``, whose ``ask()`` returns one point, so a
      generation is popsize asks and one ``tell`` of a list of (x, value) pairs;
    * nevergrad's ``ng.optimizers.CMA(parametrization=d, budget=...)``, asked and told one
      candidate at a time (one generation = popsize asks + popsize tells).

    All start at ``x0 = ones(d)`` with ``sigma0 = 1`` and the population size 4 + floor(3 ln d)
    (the default of every library here). nevergrad's CMA always starts at the origin with scale
    1, so it minimises the sphere shifted to ``-ones(d)``: the same landscape seen from its
    start. The objective is evaluated vectorised outside the timed region (one ``einsum`` per
    batch), as are the conversions a caller makes to feed a library (lists of floats for
    pycma, (x, value) pairs for ``cmaes``): only the libraries' own ask and tell count.

How
    Each repeat builds fresh optimisers, runs untimed warm-up generations, then times a block of
    generations of each variant in turn; the order of the variants rotates between repeats, so
    every candidate is timed next to its baselines in every round. The garbage collector is off
    inside timed blocks (as in :mod:`timeit`) and BLAS is limited to one thread
    (threadpoolctl; ``--blas-threads 0`` leaves the library default). A figure is the median over
    repeats of the block's mean time per generation; ratios are of those medians, with the
    median of the per-repeat (paired) ratios beside them.

Goals
    * asktell's CMA-ES adapter <= 1.05 x raw pycma at every d;
    * asktell XNES and SNES <= 0.4 x PINTS's at every d.

    PSO, the other CMA-ES libraries and asktell with ``opt.stop()`` called after every
    generation (what a ``while not opt.stop()`` loop adds; PINTS's ``stop()`` is a constant;
    compared with pycma calling ``es.stop()`` too) are reported for information.

Run
    ``python benchmarks/optim_overhead.py --quick`` (about 1 minute on 2 CPUs: 11 repeats of
    200 generations) or ``python benchmarks/optim_overhead.py`` (the full run: 31 repeats of 500
    generations, about 7 minutes). Both write ``benchmarks/results/optim_overhead.json`` and
    ``.md``.
"""

from __future__ import annotations

import gc
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from _common import benchmark_parser, machine_info, markdown_table, median, quartiles, write_results

import asktell
from asktell_optim import Sphere

NAME = "optim_overhead"
DIMS = (2, 10, 50)
CMA_GOAL = 1.05
NES_GOAL = 0.4

#: A generation: run it once, return the seconds spent inside the library's ask + tell.
Generation = Callable[[], float]

_perf = time.perf_counter


#: The vectorised sphere of the library's test problems: one value per row of ``xs``.
sphere = Sphere().batch


# ---------------------------------------------------------------------- one generation each


def gen_asktell(name: str, d: int, seed: int, with_stop: bool = False) -> Generation:
    """A generation of an asktell optimiser: ``ask()`` (timed), sphere, ``tell()`` (timed).

    Parameters
    ----------
    name : str
        Registry name (``"xnes"``, ``"snes"``, ``"cmaes"``, ``"pso"``).
    d : int
        Dimension.
    seed : int
        The optimiser's seed.
    with_stop : bool
        Also call (and time) ``opt.stop()`` once per generation, as a ``while not
        opt.stop()`` loop does.

    Returns
    -------
    Generation
    """
    opt = asktell.create(name, x0=np.ones(d), sigma0=1.0, seed=seed)
    ask, tell, stop = opt.ask, opt.tell, opt.stop

    if with_stop:

        def gen_stop() -> float:
            t0 = _perf()
            xs = ask()
            t1 = _perf()
            fs = sphere(xs)
            t2 = _perf()
            tell(fs)
            stop()
            return (t1 - t0) + (_perf() - t2)

        return gen_stop

    def gen() -> float:
        t0 = _perf()
        xs = ask()
        t1 = _perf()
        fs = sphere(xs)
        t2 = _perf()
        tell(fs)
        return (t1 - t0) + (_perf() - t2)

    return gen


def gen_pints(name: str, d: int, seed: int) -> Generation:
    """A generation of a PINTS optimiser (``XNES``, ``SNES`` or ``PSO``).

    Parameters
    ----------
    name : str
        PINTS class name.
    d : int
        Dimension.
    seed : int
        Seed of numpy's global generator, which PINTS samples from.

    Returns
    -------
    Generation
    """
    import pints

    np.random.seed(seed)  # noqa: NPY002 - PINTS draws from numpy's global generator
    opt = getattr(pints, name)(np.ones(d), sigma0=1.0)
    ask, tell = opt.ask, opt.tell

    def gen() -> float:
        t0 = _perf()
        xs = ask()
        t1 = _perf()
        fs = sphere(np.asarray(xs))
        t2 = _perf()
        tell(fs)
        return (t1 - t0) + (_perf() - t2)

    return gen


def gen_pycma(d: int, seed: int, with_stop: bool = False) -> Generation:
    """A generation of raw pycma: ``es.ask()``, sphere, ``es.tell(X, list_of_floats)``.

    Parameters
    ----------
    d : int
        Dimension.
    seed : int
        pycma's ``seed`` option (pycma seeds numpy's global generator with it).
    with_stop : bool
        Also call (and time) ``es.stop()`` once per generation.

    Returns
    -------
    Generation
    """
    import cma

    es = cma.CMAEvolutionStrategy(np.ones(d), 1.0, {"verbose": -9, "seed": seed})
    ask, tell, stop = es.ask, es.tell, es.stop

    if with_stop:

        def gen_stop() -> float:
            t0 = _perf()
            xs = ask()
            t1 = _perf()
            fs = sphere(np.asarray(xs)).tolist()
            t2 = _perf()
            tell(xs, fs)
            stop()
            return (t1 - t0) + (_perf() - t2)

        return gen_stop

    def gen() -> float:
        t0 = _perf()
        xs = ask()
        t1 = _perf()
        fs = sphere(np.asarray(xs)).tolist()
        t2 = _perf()
        tell(xs, fs)
        return (t1 - t0) + (_perf() - t2)

    return gen


def gen_cyberagent(d: int, seed: int) -> Generation:
    """A generation of CyberAgent's ``cmaes.CMA``: popsize ``ask()`` calls and one ``tell``.

    Parameters
    ----------
    d : int
        Dimension.
    seed : int
        ``cmaes.CMA``'s seed.

    Returns
    -------
    Generation
    """
    import cmaes

    opt = cmaes.CMA(mean=np.ones(d), sigma=1.0, seed=seed)
    ask, tell, n = opt.ask, opt.tell, opt.population_size

    def gen() -> float:
        t0 = _perf()
        xs = [ask() for _ in range(n)]
        t1 = _perf()
        pairs = list(zip(xs, sphere(np.array(xs)).tolist()))
        t2 = _perf()
        tell(pairs)
        return (t1 - t0) + (_perf() - t2)

    return gen


def gen_nevergrad(d: int, seed: int) -> Generation:
    """A generation of nevergrad's ``CMA``: popsize ``ask()`` and popsize ``tell()`` calls.

    nevergrad's CMA starts at the origin with scale 1; the sphere is shifted to ``-ones(d)`` so
    that it sees the same landscape as the others from ``ones(d)``.

    Parameters
    ----------
    d : int
        Dimension.
    seed : int
        Seed of the parametrization's random state (which nevergrad's CMA samples from).

    Returns
    -------
    Generation
    """
    import nevergrad as ng

    opt = ng.optimizers.CMA(parametrization=d, budget=10**9)
    opt.parametrization.random_state = np.random.RandomState(seed)
    ask, tell, n = opt.ask, opt.tell, popsize(d)
    one = np.ones(d)

    def gen() -> float:
        t0 = _perf()
        cands = [ask() for _ in range(n)]
        t1 = _perf()
        xs = np.array([c.value for c in cands]) + one
        fs = sphere(xs).tolist()
        t2 = _perf()
        for c, f in zip(cands, fs):
            tell(c, f)
        return (t1 - t0) + (_perf() - t2)

    return gen


def popsize(d: int) -> int:
    """The shared population size 4 + floor(3 ln d)."""
    return 4 + int(3 * np.log(d))


#: Variant label -> (library, method, factory(d, seed)).
VARIANTS: dict[str, tuple[str, str, Callable[[int, int], Generation]]] = {
    "asktell xnes": ("asktell", "XNES", lambda d, s: gen_asktell("xnes", d, s)),
    "asktell xnes+stop()": ("asktell", "XNES", lambda d, s: gen_asktell("xnes", d, s, True)),
    "pints xnes": ("pints", "XNES", lambda d, s: gen_pints("XNES", d, s)),
    "asktell snes": ("asktell", "SNES", lambda d, s: gen_asktell("snes", d, s)),
    "asktell snes+stop()": ("asktell", "SNES", lambda d, s: gen_asktell("snes", d, s, True)),
    "pints snes": ("pints", "SNES", lambda d, s: gen_pints("SNES", d, s)),
    "asktell pso": ("asktell", "PSO", lambda d, s: gen_asktell("pso", d, s)),
    "pints pso": ("pints", "PSO", lambda d, s: gen_pints("PSO", d, s)),
    "asktell cmaes": ("asktell", "CMA-ES", lambda d, s: gen_asktell("cmaes", d, s)),
    "pycma": ("pycma", "CMA-ES", gen_pycma),
    "asktell cmaes+stop()": ("asktell", "CMA-ES", lambda d, s: gen_asktell("cmaes", d, s, True)),
    "pycma+stop()": ("pycma", "CMA-ES", lambda d, s: gen_pycma(d, s, True)),
    "cmaes (CyberAgent)": ("cmaes", "CMA-ES", gen_cyberagent),
    "nevergrad CMA": ("nevergrad", "CMA-ES", gen_nevergrad),
}

#: (candidate, baseline, goal threshold or None) pairs reported as ratios.
COMPARISONS: list[tuple[str, str, float | None]] = [
    ("asktell cmaes", "pycma", CMA_GOAL),
    ("asktell xnes", "pints xnes", NES_GOAL),
    ("asktell snes", "pints snes", NES_GOAL),
    ("asktell pso", "pints pso", None),
    ("asktell xnes+stop()", "pints xnes", None),
    ("asktell snes+stop()", "pints snes", None),
    ("asktell cmaes+stop()", "pycma+stop()", None),
    ("asktell cmaes", "cmaes (CyberAgent)", None),
    ("asktell cmaes", "nevergrad CMA", None),
]


def time_block(gen: Generation, n_warmup: int, n_gen: int) -> tuple[float, float]:
    """Run ``n_warmup`` untimed generations, then ``n_gen`` timed ones.

    Parameters
    ----------
    gen : Generation
        One generation of a fresh optimiser.
    n_warmup, n_gen : int
        Untimed and timed generations.

    Returns
    -------
    mean_us : float
        Mean microseconds per generation spent in ask + tell.
    median_us : float
        Median over the block's generations (insensitive to preemption spikes).
    """
    for _ in range(n_warmup):
        gen()
    times = [0.0] * n_gen
    enabled = gc.isenabled()
    gc.disable()
    try:
        for i in range(n_gen):
            times[i] = gen()
    finally:
        if enabled:
            gc.enable()
    return 1e6 * sum(times) / n_gen, 1e6 * median(times)


def check_popsizes() -> dict[str, dict[str, int]]:
    """Population size of every library at every dimension (they must all agree).

    Returns
    -------
    dict
        ``{str(d): {library: popsize}}``.

    Raises
    ------
    RuntimeError
        If a library's default differs from 4 + floor(3 ln d).
    """
    import cma
    import cmaes
    import nevergrad as ng
    import pints

    out: dict[str, dict[str, int]] = {}
    for d in DIMS:
        sizes = {
            "asktell": int(asktell.create("xnes", x0=np.ones(d), sigma0=1.0, seed=0).popsize),
            "asktell cmaes": int(asktell.create("cmaes", x0=np.ones(d), sigma0=1.0,
                                                seed=0).popsize),
            "pycma": int(cma.CMAEvolutionStrategy(np.ones(d), 1.0,
                                                  {"verbose": -9, "seed": 1}).popsize),
            "cmaes": int(cmaes.CMA(mean=np.ones(d), sigma=1.0, seed=0).population_size),
        }
        ng_opt = ng.optimizers.CMA(parametrization=d, budget=10**9)
        ng_opt.ask()  # nevergrad's CMA picks its inner optimiser (CMAstd, over pycma) on ask
        sizes["nevergrad"] = int(ng_opt._optim.es.popsize)
        for cls in ("XNES", "SNES", "PSO"):
            p = getattr(pints, cls)(np.ones(d), sigma0=1.0)
            p.ask()  # PINTS fixes its population size on the first ask
            sizes[f"pints {cls}"] = int(p.population_size())
        if set(sizes.values()) != {popsize(d)}:
            raise RuntimeError(f"population sizes differ at d={d}: {sizes}")
        out[str(d)] = sizes
    return out


def run(quick: bool, blas_threads: int) -> dict[str, Any]:
    """Measure every variant at every dimension; return the results.

    Parameters
    ----------
    quick : bool
        11 repeats of 200 generations (else 31 of 500).
    blas_threads : int
        BLAS thread limit around every block (0: the library default).

    Returns
    -------
    dict
        Settings, raw per-block figures, medians, ratios and goals.
    """
    import cma
    import cmaes
    import nevergrad as ng
    import pints
    from threadpoolctl import threadpool_limits

    n_repeats = 11 if quick else 31
    n_gen = 200 if quick else 500
    n_warmup = 10 if quick else 20
    names = list(VARIANTS)
    sizes = check_popsizes()
    raw_mean: dict[int, dict[str, list[float]]] = {d: {v: [] for v in names} for d in DIMS}
    raw_median: dict[int, dict[str, list[float]]] = {d: {v: [] for v in names} for d in DIMS}

    def block(d: int, v: str, seed: int, n_w: int, n_g: int) -> tuple[float, float]:
        gen = VARIANTS[v][2](d, seed)
        if blas_threads > 0:
            with threadpool_limits(limits=blas_threads):
                return time_block(gen, n_w, n_g)
        return time_block(gen, n_w, n_g)

    t_start = _perf()
    for d in DIMS:  # untimed warm-up round: imports, caches, first-call costs
        for v in names:
            block(d, v, 999, n_warmup, n_gen // 4)
    for r in range(n_repeats):
        k = r % len(names)
        order = names[k:] + names[:k]
        if r % 2:
            order = order[::-1]
        for d in DIMS:
            for v in order:
                m, med = block(d, v, 1000 + r, n_warmup, n_gen)
                raw_mean[d][v].append(m)
                raw_median[d][v].append(med)
        print(f"  repeat {r + 1}/{n_repeats} done ({_perf() - t_start:.0f} s)", flush=True)

    results: dict[str, Any] = {}
    goals: list[dict[str, Any]] = []
    for d in DIMS:
        rm, rmed = raw_mean[d], raw_median[d]
        us = {v: median(rm[v]) for v in names}
        ratios = {}
        for cand, base, thr in COMPARISONS:
            ratio = us[cand] / us[base]
            paired = median([a / b for a, b in zip(rm[cand], rm[base])])
            ratios[f"{cand} / {base}"] = {"ratio": ratio, "paired_median_ratio": paired}
            if thr is not None:
                goals.append({"candidate": cand, "baseline": base, "d": d, "threshold": thr,
                              "ratio": ratio, "paired_median_ratio": paired,
                              "met": bool(ratio <= thr)})
        results[str(d)] = {
            "popsize": popsize(d),
            "us_per_generation_median_of_block_means": us,
            "us_per_generation_quartiles_of_block_means": {v: quartiles(rm[v]) for v in names},
            "us_per_generation_median_of_block_medians": {v: median(rmed[v]) for v in names},
            "ratios": ratios,
            "raw_block_mean_us": rm,
            "raw_block_median_us": rmed,
        }
    cma_ok = all(g["met"] for g in goals if g["baseline"] == "pycma")
    nes_ok = all(g["met"] for g in goals if g["baseline"].startswith("pints"))
    return {
        "benchmark": NAME,
        "settings": {
            "quick": quick,
            "dims": list(DIMS),
            "blas_threads": blas_threads or "library default",
            "repeats": n_repeats,
            "generations_per_block": n_gen,
            "warmup_generations_per_block": n_warmup,
            "objective": "sphere via einsum, evaluated outside the timed region",
            "x0": "ones(d) (nevergrad: origin, sphere shifted to -ones(d))",
            "sigma0": 1.0,
            "popsizes": sizes,
            "timed": "the libraries' ask and tell calls of one generation",
            "variants": {v: {"library": lib, "method": m} for v, (lib, m, _) in VARIANTS.items()},
            "versions": {"asktell": asktell.__version__, "pints": pints.__version__,
                         "cma": cma.__version__, "cmaes": cmaes.__version__,
                         "nevergrad": ng.__version__},
            "wall_s": _perf() - t_start,
        },
        "results": results,
        "goals": goals,
        "goal": {
            "text": f"asktell cmaes <= {CMA_GOAL} x pycma and asktell xnes, snes <= "
                    f"{NES_GOAL} x PINTS, at every d in {list(DIMS)}",
            "cmaes_met": cma_ok,
            "nes_met": nes_ok,
            "met": bool(cma_ok and nes_ok),
        },
    }


def us(x: float) -> str:
    """Microseconds for a table: no decimals from 100 on, one below, thousands separated.

    Parameters
    ----------
    x : float

    Returns
    -------
    str
    """
    return f"{x:,.0f}" if x >= 100 else f"{x:.1f}"


def table(res: dict[str, Any]) -> str:
    """The Markdown tables (times, then ratios) of a result dict.

    Parameters
    ----------
    res : dict
        As returned by :func:`run`.

    Returns
    -------
    str
    """
    names = list(VARIANTS)
    rows = []
    for v in names:
        row: list[Any] = [v]
        for d in DIMS:
            r = res["results"][str(d)]
            q1, q3 = r["us_per_generation_quartiles_of_block_means"][v]
            row.append(f"{us(r['us_per_generation_median_of_block_means'][v])} "
                       f"({us(q1)}-{us(q3)})")
        rows.append(row)
    times = markdown_table(["variant"] + [f"d={d} (popsize {popsize(d)}) us/gen" for d in DIMS],
                           rows)
    rows = []
    for cand, base, thr in COMPARISONS:
        row = [f"{cand} / {base}", "-" if thr is None else f"<= {thr}"]
        for d in DIMS:
            r = res["results"][str(d)]["ratios"][f"{cand} / {base}"]
            mark = "" if thr is None else (" ok" if r["ratio"] <= thr else " MISSED")
            row.append(f"**{r['ratio']:.3f}x**{mark} (paired {r['paired_median_ratio']:.3f}x)")
        rows.append(row)
    ratios = markdown_table(["ratio", "goal"] + [f"d={d}" for d in DIMS], rows)
    return times + "\n" + ratios


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point (``argv`` default ``sys.argv[1:]``); returns the exit status,
    0 also when a goal is not met (that is a result, not a failure)."""
    ap = benchmark_parser(__doc__, "11 repeats of 200 generations (default: 31 of 500)")
    ap.add_argument("--blas-threads", type=int, default=1,
                    help="BLAS thread limit around every block (default 1; 0: library default)")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    info = machine_info()
    res = run(args.quick, args.blas_threads)
    res["machine"] = info
    tab = table(res)
    print("\n## ask+tell overhead per generation on the sphere (median of block means, "
          "quartiles in brackets)\n")
    print(tab)
    for g in res["goals"]:
        verdict = "met" if g["met"] else f"NOT met (by {g['ratio'] / g['threshold'] - 1:.1%})"
        print(f"goal {g['candidate']} <= {g['threshold']} x {g['baseline']} at d={g['d']}: "
              f"{g['ratio']:.3f}x -> {verdict}")
    path = write_results(NAME, res, tab, "Optimiser ask+tell overhead: asktell vs pycma, "
                         "PINTS, cmaes and nevergrad")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
