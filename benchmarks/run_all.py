"""Run every benchmark, one after another, each in its own Python process.

Usage: ``python benchmarks/run_all.py [--quick] [--only NAME ...]``. ``--quick`` is passed to
each script. The scripts run sequentially (never concurrently: they would time each other);
each prints its table and writes ``benchmarks/results/NAME.json`` and ``NAME.md``. The exit
status is non-zero if a script failed (a goal not met is not a failure: it is a result).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = (
    "xnes_overhead",
    "logistic_notebook",
    "startup",
    "parallel_dispatch",
    "optim_overhead",
    "optim_convergence",
    "bbob",
    "rewards",
    "organ_speed",
    "rbm_digits",
    "rbm_eda",
    "rbm_eda_scaling",
    "qml_speed",
)


def run_one(name: str, quick: bool) -> tuple[int, float]:
    """Run ``benchmarks/NAME.py`` with this interpreter.

    Parameters
    ----------
    name : str
        The script's stem.
    quick : bool
        Pass ``--quick``.

    Returns
    -------
    returncode : int
    seconds : float
        Wall time of the script.
    """
    cmd = [sys.executable, str(HERE / f"{name}.py")] + (["--quick"] if quick else [])
    print(f"\n=== {name} {'(quick)' if quick else ''}", flush=True)
    t0 = time.perf_counter()
    rc = subprocess.run(cmd, cwd=HERE.parent, check=False).returncode
    return rc, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description="Run the asktell benchmarks.")
    ap.add_argument("--quick", action="store_true", help="short runs (passed to every script)")
    ap.add_argument("--only", nargs="+", choices=BENCHMARKS, help="run only these benchmarks")
    args = ap.parse_args(argv)
    failed = []
    for name in args.only or BENCHMARKS:
        rc, secs = run_one(name, args.quick)
        print(f"=== {name}: exit {rc} after {secs:.1f} s", flush=True)
        if rc:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
