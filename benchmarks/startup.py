"""Start-up cost: a one-iteration run of the main job against importing numpy, scipy and joblib.

What is measured
    Wall time and peak resident memory of the command a user types,
    ``asktell run examples/logistic_xnes.toml --set stop.max_iterations=1`` (candidate: the
    console script, a fresh run directory each time, no progress bar), against
    ``python -c "import numpy, scipy, joblib"`` (baseline: the libraries the core stands on),
    in the same run. Peak memory is the largest ``ru_maxrss`` of the command's process tree as
    ``os.wait4`` reports it (the command and the children it waited for).

    Informative variants of the candidate show where the time goes: without the convergence
    plot (``--set run.plot=false``: no matplotlib), with the sequential evaluator (no worker
    processes), both, ``python -c "import asktell"``, and the baseline with ``scipy.linalg``
    (which XNES imports for its matrix exponential). One extra run of the candidate lists
    which heavy modules it imported (torch, RDKit, matplotlib, ...): with plugins loaded on
    demand, XNES imports neither torch nor RDKit.

How
    Each repeat runs every command once, the order rotating between repeats; figures are
    medians over repeats (with quartiles). Ratios are candidate median / baseline median.

Goal
    wall <= 1.5 x baseline and peak memory <= 1.5 x baseline (issue 15).

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
HEAVY = ("torch", "rdkit", "matplotlib", "sklearn", "cma", "dask", "pandas")


def asktell_command() -> list[str]:
    """The ``asktell`` console script beside this interpreter (``python -m asktell.cli``
    where there is none)."""
    script = Path(sys.executable).with_name("asktell")
    return [str(script)] if script.exists() else [sys.executable, "-m", "asktell.cli"]


def measure(cmd: list[str], cwd: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one run of ``cmd``.

    Parameters
    ----------
    cmd : list of str
        The command.
    cwd : Path
        Where to run it.

    Returns
    -------
    (float, float)
    """
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err.decode()[-2000:]}")
    return wall, usage.ru_maxrss / 1024.0  # Linux reports KiB


def commands(work: Path) -> dict[str, list[str]]:
    """Every measured command by label (the baseline first, then the candidate)."""
    seq = work / "logistic_sequential.toml"
    text = CONFIG.read_text().replace('name = "parallel"', 'name = "sequential"')
    seq.write_text("\n".join(x for x in text.splitlines() if not x.startswith("n_workers")))
    run = [*asktell_command(), "run"]
    one = ["--set", "stop.max_iterations=1", "--no-progress", "--out"]
    noplot = ["--set", "run.plot=false"]
    return {
        "baseline": [sys.executable, "-c", "import numpy, scipy, joblib"],
        "candidate": [*run, str(CONFIG), *one, "RUN"],
        "no plot": [*run, str(CONFIG), *noplot, *one, "RUN"],
        "sequential": [*run, str(seq), *one, "RUN"],
        "sequential, no plot": [*run, str(seq), *noplot, *one, "RUN"],
        "import asktell": [sys.executable, "-c", "import asktell"],
        "baseline + scipy.linalg": [sys.executable, "-c", "import numpy, scipy.linalg, joblib"],
    }


def heavy_imports(work: Path) -> list[str]:
    """Top-level heavy packages the candidate run imports (one run, in-process)."""
    code = (
        "import json, sys\nfrom asktell.cli import main\n"
        f"rc = main(['run', {str(CONFIG)!r}, '--set', 'stop.max_iterations=1', '--no-progress',"
        f" '--out', {str(work / 'modules-run')!r}])\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=work, capture_output=True, text=True,
                         check=True)
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
        cmds = commands(work)
        labels = list(cmds)
        walls: dict[str, list[float]] = {k: [] for k in labels}
        rss: dict[str, list[float]] = {k: [] for k in labels}
        # one untimed round warms the file-system cache for every command
        for r in range(repeats + 1):
            order = labels[r % len(labels):] + labels[: r % len(labels)]
            for label in order:
                out = work / "RUN"
                shutil.rmtree(out, ignore_errors=True)
                w, m = measure(cmds[label], work)
                if r > 0:
                    walls[label].append(w)
                    rss[label].append(m)
        imported = heavy_imports(work)
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
        rows.append([label, f"{fmt(w)} ({fmt(q1)}–{fmt(q3)})", fmt(m, 3),
                     f"**{w / base_w:.2f}**" if label == "candidate" else f"{w / base_w:.2f}",
                     f"**{m / base_m:.2f}**" if label == "candidate" else f"{m / base_m:.2f}"])
    table = markdown_table(["command", "wall s, median (quartiles)", "peak RSS MiB",
                            "wall / baseline", "RSS / baseline"], rows)
    table += (f"\nHeavy packages the candidate imports: {', '.join(imported) or 'none'} "
              "(torch and RDKit must not be among them).\n")
    wall_ratio = figures["candidate"]["wall_ratio"]
    rss_ratio = figures["candidate"]["rss_ratio"]
    met = wall_ratio <= GOAL_RATIO and rss_ratio <= GOAL_RATIO and not (
        {"torch", "rdkit"} & set(imported))
    payload = {
        "machine": info,
        "settings": {"repeats": repeats, "quick": args.quick, "config": str(CONFIG)},
        "figures": figures,
        "heavy_imports": imported,
        "ratios": {"wall": wall_ratio, "peak_rss": rss_ratio},
        "goal": {"text": f"one-iteration XNES run <= {GOAL_RATIO} x `python -c \"import numpy, "
                         f"scipy, joblib\"` in wall time and peak memory, importing neither "
                         f"torch nor RDKit (got {wall_ratio:.2f} x and {rss_ratio:.2f} x)",
                 "met": met},
    }
    print(table)
    write_results(NAME, payload, table, "Start-up: one-iteration XNES run against importing "
                  "numpy, scipy, joblib")
    return payload


if __name__ == "__main__":
    main()
