"""Shared helpers of the benchmark scripts: machine facts, statistics, result files.

Not a benchmark itself. Each ``benchmarks/NAME.py`` imports it (the scripts' own folder is on
``sys.path`` when they are run as ``python benchmarks/NAME.py``).
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import statistics
import subprocess
import sys
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "RESULTS",
    "BudgetTracker",
    "benchmark_parser",
    "budget_loop",
    "filesystem_of",
    "fmt",
    "machine_info",
    "markdown_table",
    "median",
    "one_blas_thread",
    "quartiles",
    "write_results",
]

#: Where every benchmark writes ``NAME.json`` and ``NAME.md``.
RESULTS = Path(__file__).resolve().parent / "results"
_ROOT = Path(__file__).resolve().parent.parent


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _git_state() -> dict[str, Any]:
    """Commit of the checkout and whether the working tree differs from it."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=_ROOT, capture_output=True, text=True, check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "dirty": None}
    return {"commit": head, "dirty": bool(dirty)}


def _blas() -> list[dict[str, Any]]:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    return [
        {k: info.get(k) for k in ("internal_api", "version", "num_threads", "threading_layer")}
        for info in threadpool_info()
    ]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def filesystem_of(path: str | os.PathLike[str]) -> str | None:
    """File-system type holding ``path`` (from ``/proc/mounts``), or None if unknown.

    Parameters
    ----------
    path : path-like
        Any existing path.

    Returns
    -------
    str or None
        For example ``"ext4"`` or ``"tmpfs"``.
    """
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return None
    real = os.path.realpath(path)
    best, kind = "", None
    for line in mounts:
        parts = line.split()
        if len(parts) < 3:
            continue
        mnt = parts[1]
        inside = real == mnt or real.startswith(mnt.rstrip("/") + "/")
        if inside and len(mnt) >= len(best):
            best, kind = mnt, parts[2]
    return kind


def _simd() -> list[str] | None:
    """The SIMD extensions numpy found on this CPU among those it has kernels for (AVX512F,
    AVX2, ...): they set how fast a small objective's array arithmetic runs, and so what a
    fixed per-batch cost is worth against it."""
    try:
        try:
            from numpy._core import _multiarray_umath as mu
        except ImportError:  # numpy < 2
            from numpy.core import _multiarray_umath as mu  # type: ignore[no-redef]
        found = mu.__cpu_features__
        return [f for f in mu.__cpu_dispatch__ if found.get(f)]
    except (ImportError, AttributeError):
        return None


def machine_info() -> dict[str, Any]:
    """Facts about the machine and the software a benchmark ran on.

    Returns
    -------
    dict
        Python and package versions, CPU count and model, BLAS threads, load average, date,
        the git commit of the checkout.
    """
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = None
    try:
        load = list(os.getloadavg())
    except OSError:
        load = None
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpu_affinity": affinity,
        "load_average_at_start": load,
        "blas": _blas(),
        "numpy_simd": _simd(),
        "versions": {
            name: _version(name)
            for name in ("numpy", "scipy", "asktell", "pints", "joblib", "threadpoolctl")
        },
        "numpy": np.__version__,
        "git": _git_state(),
        "argv": sys.argv,
    }


class BudgetTracker:
    """Counts evaluations against a budget and remembers when a target was first reached.

    Parameters
    ----------
    budget : int
        Evaluations allowed.
    target : float
        A value below this reaches the target.
    targets : sequence of float, optional
        More targets, decreasing, each followed as COCO does: reached by a value at or below
        it; :attr:`first_hits` holds the evaluation that first reached each (None if none has).
    """

    def __init__(self, budget: int, target: float, targets: Sequence[float] = ()) -> None:
        self.budget = budget
        self.target = target
        self.evals = 0
        self.hit: int | None = None
        self.fbest = math.inf
        self.targets = np.asarray(targets, dtype=float)
        if np.any(np.diff(self.targets) > 0):
            raise ValueError("targets must be decreasing")
        self.first_hits: list[int | None] = [None] * self.targets.size
        self._next = 0  # the first target not reached

    def record(self, fs: np.ndarray) -> bool:
        """Record a batch of values, in order.

        Parameters
        ----------
        fs : ndarray, shape (n,)

        Returns
        -------
        bool
            Whether the target has been reached.
        """
        fs = np.asarray(fs, dtype=float)
        if fs.size == 0:
            return self.hit is not None
        if self.hit is None:
            below = np.flatnonzero(fs < self.target)
            if below.size:
                self.hit = self.evals + int(below[0]) + 1
        k = self._next
        while k < self.targets.size:
            reached = np.flatnonzero(fs <= self.targets[k])
            if not reached.size:
                break
            self.first_hits[k] = self.evals + int(reached[0]) + 1
            k += 1
        self._next = k
        self.evals += len(fs)
        self.fbest = min(self.fbest, float(np.min(fs)))
        return self.hit is not None

    @property
    def spent(self) -> bool:
        """Whether the budget is used up."""
        return self.evals >= self.budget

    @property
    def remaining(self) -> int:
        """Evaluations left in the budget."""
        return max(0, self.budget - self.evals)

    def result(self, stop: Any, seconds: float) -> dict[str, Any]:
        """The run's record: solved, runtime (evaluations to the target), evaluations, fbest,
        why it stopped (as text) and its wall time.

        Parameters
        ----------
        stop : any
            Why the run ended.
        seconds : float
            Wall time of the run.

        Returns
        -------
        dict
        """
        solved = self.hit is not None and self.hit <= self.budget
        return {"solved": solved, "runtime": self.hit if solved else None,
                "evaluations": self.evals, "fbest": self.fbest, "stop": str(stop),
                "seconds": seconds}


def budget_loop(step: Callable[[], np.ndarray], tracker: BudgetTracker,
                stop: Callable[[], Any] | None = None) -> Any:
    """Repeat one generation until the target, the budget or the method's own stop.

    Parameters
    ----------
    step : callable
        One generation: ask, evaluate, tell; returns the batch's values.
    tracker : BudgetTracker
        Records every batch.
    stop : callable, optional
        The method's stopping test (``opt.stop``): a falsy value to go on, else the reasons.

    Returns
    -------
    any
        ``"target"``, ``"budget"`` or the reasons ``stop`` gave.
    """
    while not tracker.spent:
        if tracker.record(step()):
            return "target"
        reasons = stop() if stop is not None else None
        if reasons:
            return reasons
    return "budget"


def benchmark_parser(doc: str | None, quick: str) -> argparse.ArgumentParser:
    """The command line every benchmark starts from: its description and ``--quick``.

    Parameters
    ----------
    doc : str
        The script's docstring (its first line describes it).
    quick : str
        What ``--quick`` shortens, for the help.

    Returns
    -------
    argparse.ArgumentParser
        Add the script's own options to it.
    """
    ap = argparse.ArgumentParser(description=(doc or "").strip().splitlines()[0])
    ap.add_argument("--quick", action="store_true", help=quick)
    return ap


def one_blas_thread() -> None:
    """Limit BLAS to one thread in this process (threadpoolctl).

    The benchmarks' matrices are small: a second BLAS thread only stalls them on a shared
    machine. Use it as a ``ProcessPoolExecutor`` initializer, or at the start of a script.
    """
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


def median(xs: Sequence[float]) -> float:
    """Median of a non-empty sequence.

    Parameters
    ----------
    xs : sequence of float

    Returns
    -------
    float
    """
    return float(statistics.median(xs))


def quartiles(xs: Sequence[float]) -> tuple[float, float]:
    """First and third quartiles (the median's spread; equal to the values for one sample).

    Parameters
    ----------
    xs : sequence of float

    Returns
    -------
    (float, float)
    """
    if len(xs) < 2:
        return float(xs[0]), float(xs[0])
    q = statistics.quantiles(xs, n=4, method="inclusive")
    return float(q[0]), float(q[2])


def fmt(x: float, digits: int = 3) -> str:
    """Format a number with ``digits`` significant digits (no exponent for ordinary sizes).

    Parameters
    ----------
    x : float
    digits : int

    Returns
    -------
    str
    """
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if x == 0 or 1e-3 <= abs(x) < 1e7:
        return f"{x:#.{digits}g}".rstrip(".")
    return f"{x:.{digits - 1}e}"


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub-flavoured Markdown table.

    Parameters
    ----------
    headers : sequence of str
    rows : sequence of sequences
        Cells, converted with ``str``.

    Returns
    -------
    str
        The table, one line per row, ending with a newline.
    """
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(" --- " for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _plain(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, np.ndarray):
        return _plain(x.tolist())
    if isinstance(x, np.generic):
        return _plain(x.item())
    if isinstance(x, float) and not math.isfinite(x):
        return None if math.isnan(x) else ("inf" if x > 0 else "-inf")
    if isinstance(x, Path):
        return str(x)
    return x


def write_results(name: str, payload: dict[str, Any], table: str, title: str) -> Path:
    """Write ``results/NAME.json`` and ``results/NAME.md``.

    Parameters
    ----------
    name : str
        The benchmark's name (its script's stem).
    payload : dict
        Everything to keep: machine info, settings, raw figures, ratios, goal.
    table : str
        The Markdown table the script printed.
    title : str
        Heading of the Markdown file.

    Returns
    -------
    Path
        The JSON file written.
    """
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(_plain(payload), indent=1, allow_nan=False) + "\n")
    info = payload.get("machine", {})
    goal = payload.get("goal", {})
    md = [
        f"# {title}",
        "",
        f"Measured {info.get('date')} on {info.get('cpu_count')} CPUs ({info.get('cpu_model')}), "
        f"Python {info.get('python')}, numpy {info.get('numpy')}"
        + (" (quick run)" if payload.get("settings", {}).get("quick") else "")
        + f"; raw figures in `{name}.json`.",
        "",
        table.rstrip("\n"),
        "",
    ]
    if goal:
        met = goal.get("met")
        md.append(f"Goal: {goal.get('text')} - **{'met' if met else 'not met'}**.")
        md.append("")
    (RESULTS / f"{name}.md").write_text("\n".join(md))
    return path
