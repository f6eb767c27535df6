"""Everything the dashboard reads from run directories, in one place.

Runs are read only through the public read API of :class:`asktell.store.RunStore`
(``open(readonly=True)``, ``meta``, ``trace``, ``batches``, ``len``) and
:func:`asktell.runs.export_history`; every store is opened for one request and closed again,
read-only, so a running writer is never blocked (SQLite's WAL lets readers and one writer work at
once). A store that cannot be read becomes a :class:`RunProblem` with a sentence for the page,
never an exception.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import os
import sqlite3
import tempfile
import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..store import STORE_FILE, RunStore

__all__ = ["RunInfo", "RunProblem", "RunRef", "find_runs", "history_csv", "read_batches",
           "read_summary", "read_trace", "resolve", "trace_csv"]

log = logging.getLogger(__name__)

#: Folders never searched for runs.
SKIP_DIRS = {".git", ".venv", "venv", "node_modules", "__pycache__", "site-packages"}


@dataclass(frozen=True)
class RunRef:
    """Where a run lives.

    Attributes
    ----------
    key : str
        Its id in the dashboard's addresses: ``<root index>/<path below the root>``.
    name : str
        What the run list shows (the path below its root, or the root's own name).
    path : Path
        The run directory.
    """

    key: str
    name: str
    path: Path


@dataclass(frozen=True)
class RunProblem:
    """A run directory whose store cannot be read, and why, in words.

    Attributes
    ----------
    kind : str
        ``"missing"``, ``"corrupt"``, ``"incomplete"``, ``"schema"`` or ``"error"``.
    message : str
        A sentence for the page.
    detail : str
        The underlying error.
    """

    kind: str
    message: str
    detail: str = ""


@dataclass(frozen=True)
class RunInfo:
    """One row of the run list.

    Attributes
    ----------
    method, status : str
        The optimiser's name and the run's status (``created``, ``running``, ``finished``,
        ``interrupted``) as its store's meta says.
    iterations, evaluations, failures : int
        Stored batches, and values and failures in them.
    best : float or None
        Best value so far.
    stop_reason : str
        ``rule=value`` of the rule that stopped it, or empty.
    created : float or None
        Unix time the run started.
    direction : str
        ``minimise`` or ``maximise``.
    """

    method: str
    status: str
    iterations: int
    evaluations: int
    failures: int
    best: float | None
    stop_reason: str
    created: float | None
    direction: str
    meta: dict[str, Any] = field(default_factory=dict, repr=False)


def find_runs(roots: Sequence[Path], *, max_depth: int = 4) -> list[RunRef]:
    """Run directories (folders holding ``run.sqlite``) under each root, newest first.

    Parameters
    ----------
    roots : sequence of Path
        Folders to search; a root may itself be a run directory.
    max_depth : int
        How many folder levels below each root are searched.

    Returns
    -------
    list of RunRef
    """
    found: list[tuple[float, RunRef]] = []
    for i, root in enumerate(roots):
        root = Path(root)
        if not root.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            here = Path(dirpath)
            depth = len(here.relative_to(root).parts)
            dirnames[:] = sorted(d for d in dirnames
                                 if d not in SKIP_DIRS and not d.startswith(".")
                                 and depth < max_depth)
            if STORE_FILE in filenames:
                rel = here.relative_to(root).as_posix()
                name = root.resolve().name if rel == "." else rel
                key = f"{i}/{'' if rel == '.' else rel}"
                try:
                    mtime = (here / STORE_FILE).stat().st_mtime
                except OSError:
                    mtime = 0.0
                found.append((mtime, RunRef(key=key, name=name, path=here)))
    found.sort(key=lambda t: (-t[0], t[1].name))
    return [r for _, r in found]


def resolve(roots: Sequence[Path], key: str) -> RunRef | None:
    """The run a key names, or None when it names nothing under the roots."""
    head, _, rel = key.partition("/")
    if not head.isdigit() or int(head) >= len(roots):
        return None
    root = Path(roots[int(head)]).resolve()
    path = (root / rel).resolve() if rel else root
    if path != root and root not in path.parents:
        return None  # ../ out of the root
    if not (path / STORE_FILE).is_file():
        return None
    name = root.name if path == root else path.relative_to(root).as_posix()
    return RunRef(key=key, name=name, path=path)


def _problem(path: Path, e: BaseException) -> RunProblem:
    text = f"{type(e).__name__}: {e}"
    db = path / STORE_FILE
    if isinstance(e, FileNotFoundError):
        return RunProblem("missing", f"{path} holds no {STORE_FILE}.", text)
    if "schema" in str(e).lower():
        return RunProblem(
            "schema",
            f"{db} was written with a run-store schema this asktell does not read "
            f"({e}). Open it with the asktell version that wrote it, or resume it with this "
            "one to upgrade it.", text)
    # The store reports SQLite's own errors inside its StoreError: classify by their words.
    if "no such table" in str(e):
        return RunProblem(
            "incomplete",
            f"{db} is not a complete asktell run store: it was probably being created when its "
            "writer stopped (a half-written run). Start the run again.", text)
    if isinstance(e, sqlite3.DatabaseError) or "not a readable run store" in str(e):
        return RunProblem(
            "corrupt",
            f"{db} is not a readable SQLite database (corrupt, truncated or another kind of "
            f"file). asktell cannot show it; its other runs are unaffected. `asktell recover "
            f"{path}` copies its intact batches into a new run directory.", text)
    return RunProblem("error", f"{db} could not be read.", text)


def _fmt_reason(reason: Any) -> str:
    if isinstance(reason, dict):
        return ", ".join(f"{k}={v}" for k, v in reason.items())
    return "" if reason is None else str(reason)


def _finite(x: Any) -> float | None:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def read_summary(path: Path) -> RunInfo | RunProblem:
    """The run list's row for one run directory.

    Parameters
    ----------
    path : Path
        The run directory.

    Returns
    -------
    RunInfo or RunProblem
    """
    try:
        with RunStore.open(path, readonly=True) as store:
            meta = store.meta()
            trace = store.trace()
    except Exception as e:  # any unreadable store becomes a sentence, not a traceback
        log.debug("cannot read %s", path, exc_info=True)
        return _problem(Path(path), e)
    best = trace.get("best", np.empty(0))
    finite = best[np.isfinite(best)] if best.size else best
    n = trace.get("n", np.empty(0))
    failed = trace.get("n_failed", np.empty(0))
    created = _finite(meta.get("created"))
    return RunInfo(
        method=str(meta.get("optimiser") or "?"),
        status=str(meta.get("status") or "?"),
        iterations=int(trace["iteration"][-1]) if trace.get("iteration", np.empty(0)).size else 0,
        evaluations=int(np.nansum(n)) if n.size else 0,
        failures=int(np.nansum(failed)) if failed.size else 0,
        best=float(finite[-1]) if finite.size else None,
        stop_reason=_fmt_reason(meta.get("stop_reason")),
        created=created,
        direction=str(meta.get("direction") or "minimise"),
        meta=meta,
    )


def read_trace(path: Path, since: int = 0) -> dict[str, list[float | None]] | RunProblem:
    """Every numeric per-batch column of a run, as JSON-ready lists (NaN as None).

    Parameters
    ----------
    path : Path
        The run directory.
    since : int
        Only batches with ``iteration > since``.

    Returns
    -------
    dict or RunProblem
        Column name to values; always holds ``iteration``.
    """
    try:
        with RunStore.open(path, readonly=True) as store:
            trace = store.trace()
    except Exception as e:
        return _problem(Path(path), e)
    it = np.asarray(trace.get("iteration", np.empty(0)), dtype=float)
    keep = it > since
    out: dict[str, list[float | None]] = {}
    for name, col in trace.items():
        col = np.asarray(col)
        if col.dtype.kind not in "biuf" or col.shape != it.shape:
            continue
        vals = col[keep].astype(float)
        out[name] = [float(v) if math.isfinite(v) else None for v in vals]
    return out


def _jsonable(x: Any, limit: int = 200) -> Any:
    if isinstance(x, np.ndarray):
        x = x.tolist()
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    text = str(x) if not isinstance(x, (int, str, list)) else x
    if isinstance(text, list):
        text = "[" + ", ".join(f"{v:.6g}" if isinstance(v, float) else str(v)
                               for v in text) + "]"
    return text if len(str(text)) <= limit else str(text)[:limit] + "…"


def read_batches(path: Path, *, last: int = 100,
                 max_errors: int = 500) -> dict[str, Any] | RunProblem:
    """The most recent batches, and every failed item with its error.

    Parameters
    ----------
    path : Path
        The run directory.
    last : int
        How many of the latest batches to return.
    max_errors : int
        At most this many failed items (the latest).

    Returns
    -------
    dict or RunProblem
        ``{"batches": [...], "errors": [...], "total": n}``; each batch has ``iteration``,
        ``n``, ``n_failed``, ``batch_best``, ``best``, ``elapsed`` and ``errors``; each error
        ``iteration``, ``index``, ``candidate`` and ``error``.
    """
    rows: deque[dict[str, Any]] = deque(maxlen=last)
    errors: deque[dict[str, Any]] = deque(maxlen=max_errors)
    total = 0
    try:
        with RunStore.open(path, readonly=True) as store:
            for b in store.batches():
                total += 1
                values = np.asarray(b.values, dtype=float)
                errs: list[dict[str, Any]] = [
                    {"index": int(e.get("index", -1)), "error": str(e.get("error", ""))}
                    for e in b.errors]
                for e in errs:
                    i = int(e["index"])
                    cand = b.candidates[i] if 0 <= i < len(b.candidates) else None
                    errors.append({"iteration": b.iteration, **e, "candidate": _jsonable(cand)})
                rows.append({
                    "iteration": b.iteration, "n": int(values.size),
                    "n_failed": int(values.size - np.count_nonzero(np.isfinite(values))),
                    "batch_best": _finite(b.batch_best), "best": _finite(b.best),
                    "elapsed": _finite(b.elapsed), "errors": errs,
                })
    except Exception as e:
        return _problem(Path(path), e)
    return {"batches": list(rows)[::-1], "errors": list(errors)[::-1], "total": total}


def history_csv(path: Path) -> str | RunProblem:
    """Every evaluation of a run as CSV text (what ``asktell export RUN history.csv`` writes)."""
    from ..runs import export_history

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "history.csv"
        try:
            export_history(path, out)
        except Exception as e:
            return _problem(Path(path), e)
        return out.read_text()


def trace_csv(path: Path) -> str | RunProblem:
    """The per-batch numeric columns of a run as CSV text."""
    trace = read_trace(path)
    if isinstance(trace, RunProblem):
        return trace
    buf = io.StringIO()
    w = csv.writer(buf)
    names = list(trace)
    w.writerow(names)
    for row in zip(*(trace[k] for k in names)):
        w.writerow(["" if v is None else f"{v:.17g}" for v in row])
    return buf.getvalue()


def format_time(t: float | None) -> str:
    """A Unix time as local ``YYYY-MM-DD HH:MM:SS`` (empty for None)."""
    return "" if t is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


def summaries(refs: Iterable[RunRef]) -> list[tuple[RunRef, RunInfo | RunProblem]]:
    """:func:`read_summary` of each run."""
    return [(r, read_summary(r.path)) for r in refs]
