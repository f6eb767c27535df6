"""Start-up cost: a one-iteration XNES run against importing numpy, scipy and joblib.

What is measured
    Wall time and peak resident memory of ``asktell run`` with ``--set stop.max_iterations=1``
    (the console script, a fresh run directory each time, no progress bar) against
    ``python -c "import numpy, scipy, joblib"`` (baseline: the libraries the core stood on when
    the goal was set), in the same run. Peak memory is the largest ``ru_maxrss`` of the
    command's process tree as ``os.wait4`` reports it (the command and the children it waited
    for).

    * **XNES run** (the goal): the main job's problem and method from
      ``examples/logistic_xnes.toml``, scored in the driver (``[evaluator] name =
      "sequential"``), no convergence plot: what asktell itself costs to start, find its
      plugins, parse and check the config, create the run store, ask, evaluate, tell, commit
      and finish.
    * **example config as written**: ``examples/logistic_xnes.toml`` itself, which also starts
      two worker processes (``[evaluator] name = "parallel"``, ``n_workers = 2``) and draws a
      convergence plot and a fit plot with matplotlib (``[run] plot = true``); and each of the
      two features alone.
    * For scale, what those two features cost on their own: starting and stopping two loky
      worker processes (``loky.ProcessPoolExecutor``, one task each), and
      ``import matplotlib.pyplot``; and ``import asktell``.

    One extra run of the example config lists which heavy modules it imported (torch, RDKit,
    matplotlib, ...): with plugins loaded on demand, XNES imports neither torch nor RDKit.

How
    Each repeat runs every command once, the order rotating between repeats; figures are
    medians over repeats (with quartiles). Ratios are candidate median / baseline median. Every
    command runs from compiled bytecode, as an installed package does (pip compiles on
    install): ``PYTHONPYCACHEPREFIX`` points into the benchmark's temporary folder and
    ``PYTHONDONTWRITEBYTECODE`` is removed, and an untimed first round writes the caches.
    Without this, an editable checkout in an environment that forbids writing bytecode compiles
    asktell's sources on every start (about 0.1 s here).

Goal
    XNES run: wall <= 1.5 x baseline and peak memory <= 1.5 x baseline, importing neither torch
    nor RDKit (issue 15). The example config's figures are reported beside it.

Run ``python benchmarks/startup.py [--repeats N] [--quick]``; it writes
``benchmarks/results/startup.json`` and ``.md``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import (
    benchmark_parser,
    fmt,
    machine_info,
    markdown_table,
    median,
    quartiles,
    write_results,
)

NAME = "startup"
GOAL_RATIO = 1.5
ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "examples" / "logistic_xnes.toml"
CANDIDATE = "XNES run"
EXAMPLE = "example config as written"
HEAVY = ("torch", "rdkit", "matplotlib", "sklearn", "cma", "dask", "pandas")


def asktell_command() -> list[str]:
    """The ``asktell`` console script beside this interpreter (``python -m asktell.cli``
    where there is none)."""
    script = Path(sys.executable).with_name("asktell")
    return [str(script)] if script.exists() else [sys.executable, "-m", "asktell.cli"]


def environment(work: Path) -> dict[str, str]:
    """The environment every command runs in: bytecode cached under ``work``."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    return env


def measure(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one run of ``cmd``.

    Parameters
    ----------
    cmd : list of str
        The command.
    cwd : Path
        Where to run it.
    env : dict
        Its environment.

    Returns
    -------
    (float, float)
    """
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err.decode()[-2000:]}")
    return wall, usage.ru_maxrss / 1024.0  # Linux reports KiB


LOKY_PAIR = (
    "from loky import ProcessPoolExecutor\n"
    "pools = [ProcessPoolExecutor(max_workers=1) for _ in range(2)]\n"
    "[f.result() for f in [p.submit(abs, -1) for p in pools]]\n"
    "for p in pools: p.shutdown(wait=True)"
)


def commands(work: Path) -> dict[str, list[str]]:
    """Every measured command by label (the baseline first, then the goal's candidate)."""
    seq = work / "logistic_sequential.toml"
    text = CONFIG.read_text().replace('name = "parallel"', 'name = "sequential"')
    seq.write_text("\n".join(x for x in text.splitlines() if not x.startswith("n_workers")))
    run = [*asktell_command(), "run"]
    one = ["--set", "stop.max_iterations=1", "--no-progress", "--out"]
    noplot = ["--set", "run.plot=false"]
    return {
        "baseline": [sys.executable, "-c", "import numpy, scipy, joblib"],
        CANDIDATE: [*run, str(seq), *noplot, *one, "RUN"],
        EXAMPLE: [*run, str(CONFIG), *one, "RUN"],
        "XNES run + 2 workers": [*run, str(CONFIG), *noplot, *one, "RUN"],
        "XNES run + plot": [*run, str(seq), *one, "RUN"],
        "2 loky workers started and stopped": [sys.executable, "-c", LOKY_PAIR],
        "import matplotlib.pyplot": [sys.executable, "-c", "import matplotlib.pyplot"],
        "import asktell": [sys.executable, "-c", "import asktell"],
    }


def heavy_imports(work: Path, env: dict[str, str]) -> list[str]:
    """Top-level heavy packages the example config's run imports (one run, in-process)."""
    code = (
        "import json, sys\nfrom asktell.cli import main\n"
        f"rc = main(['run', {str(CONFIG)!r}, '--set', 'stop.max_iterations=1', '--no-progress',"
        f" '--out', {str(work / 'modules-run')!r}])\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=work, env=env, capture_output=True,
                         text=True, check=True)
    return list(json.loads(out.stdout.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark and write its results.

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments.

    Returns
    -------
    dict
        The payload written to ``results/startup.json``.
    """
    p = benchmark_parser(__doc__, "5 repeats")
    p.add_argument("--repeats", type=int, default=15, help="runs of each command (15)")
    args = p.parse_args(argv)
    repeats = 5 if args.quick else args.repeats
    info = machine_info()
    with tempfile.TemporaryDirectory(prefix="asktell-startup-") as tmp:
        work = Path(tmp)
        env = environment(work)
        cmds = commands(work)
        labels = list(cmds)
        walls: dict[str, list[float]] = {k: [] for k in labels}
        rss: dict[str, list[float]] = {k: [] for k in labels}
        # one untimed round warms the file-system cache and writes the bytecode caches
        for r in range(repeats + 1):
            order = labels[r % len(labels):] + labels[: r % len(labels)]
            for label in order:
                out = work / "RUN"
                shutil.rmtree(out, ignore_errors=True)
                w, m = measure(cmds[label], work, env)
                if r > 0:
                    walls[label].append(w)
                    rss[label].append(m)
        imported = heavy_imports(work, env)
    base_w, base_m = median(walls["baseline"]), median(rss["baseline"])
    rows: list[list[str]] = []
    figures: dict[str, dict[str, Any]] = {}
    for label in labels:
        w, m = median(walls[label]), median(rss[label])
        q1, q3 = quartiles(walls[label])
        figures[label] = {"command": " ".join(cmds[label]), "wall_s": walls[label],
                          "peak_rss_mib": rss[label], "wall_median_s": w,
                          "peak_rss_median_mib": m, "wall_ratio": w / base_w,
                          "rss_ratio": m / base_m}
        bold = "**" if label == CANDIDATE else ""
        rows.append([label, f"{fmt(w)} ({fmt(q1)}–{fmt(q3)})", fmt(m, 3),
                     f"{bold}{w / base_w:.2f}{bold}", f"{bold}{m / base_m:.2f}{bold}"])
    table = markdown_table(["command", "wall s, median (quartiles)", "peak RSS MiB",
                            "wall / baseline", "RSS / baseline"], rows)
    table += (f"\nHeavy packages the example config's run imports: "
              f"{', '.join(imported) or 'none'} (torch and RDKit must not be among them).\n")
    wall_ratio = figures[CANDIDATE]["wall_ratio"]
    rss_ratio = figures[CANDIDATE]["rss_ratio"]
    ex = figures[EXAMPLE]
    met = wall_ratio <= GOAL_RATIO and rss_ratio <= GOAL_RATIO and not (
        {"torch", "rdkit"} & set(imported))
    payload = {
        "machine": info,
        "settings": {"repeats": repeats, "quick": args.quick, "config": str(CONFIG)},
        "figures": figures,
        "heavy_imports": imported,
        "ratios": {"wall": wall_ratio, "peak_rss": rss_ratio,
                   "example_wall": ex["wall_ratio"], "example_peak_rss": ex["rss_ratio"]},
        "goal": {"text": f"one-iteration XNES run <= {GOAL_RATIO} x `python -c \"import numpy, "
                         f"scipy, joblib\"` in wall time and peak memory, importing neither "
                         f"torch nor RDKit (got {wall_ratio:.2f} x and {rss_ratio:.2f} x; the "
                         f"example config as written, with 2 worker processes and two plots: "
                         f"{ex['wall_ratio']:.2f} x and {ex['rss_ratio']:.2f} x)",
                 "met": met},
    }
    print(table)
    write_results(NAME, payload, table, "Start-up: one-iteration XNES run against importing "
                  "numpy, scipy, joblib")
    return payload


if __name__ == "__main__":
    main()
