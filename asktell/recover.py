"""Copying run directories safely, and recovering the intact batches of a damaged one.

A run's SQLite file keeps its latest commits in ``run.sqlite-wal`` until SQLite folds them back
(when the last connection closes, or every few thousand pages). Copying ``run.sqlite`` alone
while a run is live, or after it was killed, therefore loses the latest batches.
:func:`copy_run` (``asktell export RUN_DIR --copy NEW_DIR``) writes a consistent,
self-contained copy through SQLite's online backup instead.

:func:`recover` (``asktell recover RUN_DIR``) reads a damaged store (truncated, or with
overwritten pages) defensively, row by row, and writes every intact batch, the meta entries and
the checkpoint into a fresh run directory that ``show``, ``export`` and ``resume`` accept.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import serialization
from .store import SCHEMA_VERSION, STORE_FILE, RunStore, StoreError, _batch

__all__ = ["Recovery", "copy_run", "recover"]

log = logging.getLogger(__name__)

#: Files of a run directory that belong to the live database or its writer, never copied.
_LIVE = (STORE_FILE, f"{STORE_FILE}-wal", f"{STORE_FILE}-shm", f"{STORE_FILE}-journal",
         "run.lock")
#: Point probes past the last readable row before a table is taken to end.
_PROBE_MISSES = 1000


def _new_dir(path: Path, what: str) -> None:
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise FileExistsError(f"{path} exists and is not empty; choose a new directory for "
                              f"the {what}")
    path.mkdir(parents=True, exist_ok=True)


def _copy_other_files(src: Path, dest: Path) -> None:
    """The run directory's other files (history.csv, plots, reports), as they are."""
    for p in sorted(src.iterdir()):
        if p.name in _LIVE:
            continue
        if p.is_dir():
            shutil.copytree(p, dest / p.name, symlinks=True)
        else:
            shutil.copy2(p, dest / p.name, follow_symlinks=False)


def _set_meta(con: sqlite3.Connection, **items: Any) -> None:
    con.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                    [(k, serialization.dumps(v)) for k, v in items.items()])


def copy_run(run_dir: str | Path, new_dir: str | Path) -> Path:
    """Copy a run directory, live or not, into a self-contained one.

    The store is copied with SQLite's online backup (the batches still in the write-ahead log
    included; a live writer is not disturbed), into a single file; the other files
    (``history.csv``, plots, reports) are copied as they are. A copy of a run that was
    ``running`` is marked ``interrupted``: ``asktell resume NEW_DIR`` continues it.

    Parameters
    ----------
    run_dir : path-like
        The run directory.
    new_dir : path-like
        A new (or empty) directory.

    Returns
    -------
    Path
        ``new_dir``.

    Raises
    ------
    FileExistsError
        If ``new_dir`` holds files.
    StoreError
        If the store cannot be read (damaged: use :func:`recover`).
    """
    src, dest = Path(run_dir), Path(new_dir)
    if src.resolve() == dest.resolve():
        raise ValueError(f"cannot copy {src} onto itself")
    with RunStore.open(src, readonly=True) as store:
        status = store.get_meta("status")
        _new_dir(dest, "copy")
        try:
            store.backup(dest / STORE_FILE)
        except BaseException:
            shutil.rmtree(dest, ignore_errors=True)
            raise
    con = sqlite3.connect(dest / STORE_FILE, isolation_level=None)
    try:
        con.execute("BEGIN")
        extra = {"status": "interrupted"} if status in ("created", "running") else {}
        _set_meta(con, copied_from=str(src.resolve()), copied_at=time.time(), **extra)
        con.execute("COMMIT")
    finally:
        con.close()  # the last connection: no -wal file is left
    _copy_other_files(src, dest)
    return dest


# ---------------------------------------------------------------------------- recovery

@dataclass(frozen=True)
class Recovery:
    """What :func:`recover` kept and lost.

    Attributes
    ----------
    out : Path
        The new run directory.
    kept : int
        Batches copied.
    lost : list of int
        Iterations that could not be read, or that follow a lost one and so cannot be replayed
        (up to the last one seen; a truncated file may have held more after it).
    last_seen : int
        The highest iteration found in the damaged file (a batch, or the checkpoint's).
    checkpoint : int or None
        The iteration of the checkpoint kept (None: none was intact; resume replays from the
        first batch).
    meta_lost : int
        Meta rows (configuration, status, ...) that could not be read.
    resumable : bool
        Whether the new directory holds the configuration ``asktell resume`` needs.
    """

    out: Path
    kept: int
    lost: list[int] = field(default_factory=list)
    last_seen: int = 0
    checkpoint: int | None = None
    meta_lost: int = 0
    resumable: bool = False

    def describe(self) -> str:
        """One paragraph for the command line."""
        lost = len(self.lost)
        text = (f"recovered {self.kept} batches into {self.out}; {lost} lost"
                + (f" (iterations {_ranges(self.lost)})" if lost else "")
                + f"; checkpoint: {'none' if self.checkpoint is None else self.checkpoint}")
        if self.meta_lost:
            text += f"; {self.meta_lost} meta entries unreadable"
        if self.resumable:
            text += f"; resume it with `asktell resume {self.out}`"
        elif self.meta_lost:
            text += "; its configuration was lost: show and export work, asktell resume does not"
        else:
            text += "; it was not made from a configuration file: resume it with Controller.resume"
        return text


def _ranges(xs: list[int]) -> str:
    out: list[str] = []
    for x in sorted(xs):
        if out and out[-1].split("-")[-1] == str(x - 1):
            out[-1] = f"{out[-1].split('-')[0]}-{x}"
        else:
            out.append(str(x))
    return ", ".join(out)


def _read_rows(con: sqlite3.Connection, table: str,
               columns: list[str]) -> dict[int, tuple[Any, ...]]:
    """Every readable row of ``table`` by rowid, stepping around damaged pages.

    A full scan first; where it breaks, a scan from the end backwards, then point look-ups of
    the rowids in between (each one walks its own path of the table's b-tree), resuming a scan
    after each row found.
    """
    cols = ", ".join(f'"{c}"' for c in columns)
    base = f'SELECT rowid, {cols} FROM "{table}"'
    rows: dict[int, tuple[Any, ...]] = {}

    def scan(sql: str, params: tuple[Any, ...] = (), stop_at_known: bool = False) -> bool:
        try:
            for r in con.execute(sql, params):
                if stop_at_known and r[0] in rows:
                    return True
                rows[r[0]] = r[1:]
        except sqlite3.DatabaseError:
            return False
        return True

    if scan(base + " ORDER BY rowid"):
        return rows
    lo = max(rows, default=-1)
    scan(base + " ORDER BY rowid DESC", stop_at_known=True)
    above = [r for r in rows if r > lo]
    hi = min(above) if above else None
    rid, misses = lo + 1, 0
    while (rid < hi) if hi is not None else (misses < _PROBE_MISSES):
        try:
            r = con.execute(base + " WHERE rowid = ?", (rid,)).fetchone()
        except sqlite3.DatabaseError:
            r = None
        if r is None:
            rid, misses = rid + 1, misses + 1
            continue
        rows[r[0]] = r[1:]
        misses = 0
        # read on from here while the pages allow
        scan(base + " WHERE rowid > ? ORDER BY rowid", (rid,), stop_at_known=True)
        rid = max(k for k in rows if hi is None or k < hi) + 1
    return rows


def _columns(con: sqlite3.Connection, table: str) -> list[str]:
    return [r[1] for r in con.execute(f'PRAGMA table_info("{table}")')]


def _valid(check: Callable[[tuple[Any, ...]], Any], row: tuple[Any, ...]) -> bool:
    try:
        check(row)
    except Exception:  # garbled stored data: any decoding error
        return False
    return True


def _insert_sql(name: str, cols: list[str]) -> str:
    names = ", ".join(f'"{c}"' for c in cols)
    return f'INSERT INTO "{name}" ({names}) VALUES ({", ".join("?" * len(cols))})'


def _drop_unwritable(schema: list[tuple[str, str, str]], tables: dict[str, list[str]],
                     data: dict[str, dict[int, tuple[Any, ...]]]) -> None:
    """Drop the rows that break the schema's own constraints (NOT NULL, CHECK, keys): what
    SQLite returned from a damaged page, not what was written."""
    scratch = sqlite3.connect(":memory:", isolation_level=None)
    try:
        for kind, _name, sql in schema:
            if kind == "table":
                scratch.execute(sql)
        for name, rows in data.items():
            sql = _insert_sql(name, tables[name])
            for k in list(rows):
                try:
                    scratch.execute(sql, rows[k])
                except sqlite3.DatabaseError:
                    del rows[k]
    finally:
        scratch.close()


def _status(meta_rows: dict[str, Any]) -> Any:
    return serialization.loads(meta_rows["status"]) if "status" in meta_rows else None


def recover(run_dir: str | Path, out: str | Path | None = None) -> Recovery:
    """Copy every intact batch of a damaged run store into a new run directory.

    Reads the damaged file without changing it, row by row around damaged pages, and writes the
    meta entries (configuration, status), the checkpoint (if intact), the batches and the kept
    evaluations of the batch that was running into a fresh store, then the directory's other
    files. Batches after the checkpoint are kept up to
    the first lost one: a resume replays them to rebuild the method's state, so a batch after
    a gap could not be used (the resumed run evaluates it again). Batches before the checkpoint
    are all kept (a gap there only shortens the history).

    Parameters
    ----------
    run_dir : path-like
        The damaged run directory (left as it is).
    out : path-like, optional
        The new run directory (default ``RUN_DIR-recovered``); must be new or empty.

    Returns
    -------
    Recovery
        What was kept and lost.

    Raises
    ------
    StoreError
        If not even the file's schema can be read (nothing to recover).
    RunLockedError
        If a process is writing the run directory.
    """
    from .lock import RunLockedError, holder

    src = Path(run_dir)
    db = src / STORE_FILE
    if not db.is_file():
        raise FileNotFoundError(f"{src} is not an asktell run directory (no {STORE_FILE})")
    held = holder(src)
    if held is not None:
        raise RunLockedError(src, held)
    dest = Path(out) if out is not None else src.with_name(src.name + "-recovered")
    try:
        # read-only; with no write-ahead log to read, immutable: not even a -shm file is made
        wal = db.with_name(db.name + "-wal").exists()
        con = sqlite3.connect(f"{db.resolve().as_uri()}?{'mode=ro' if wal else 'immutable=1'}",
                              uri=True, isolation_level=None)
        # Read a truncated file up to its end instead of refusing it whole (the connection is
        # read-only: nothing is written).
        con.execute("PRAGMA writable_schema=ON")
        schema = con.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL "
            "AND name NOT LIKE 'sqlite_%' ORDER BY type = 'table' DESC, rowid").fetchall()
    except sqlite3.DatabaseError as e:
        raise StoreError(f"{db}: nothing can be recovered: even its schema page is "
                         f"unreadable ({e})") from None
    try:
        tables = {name: _columns(con, name) for kind, name, _ in schema if kind == "table"}
        if "meta" not in tables or "batches" not in tables:
            raise StoreError(f"{db}: not an asktell run store (no meta or batches table)")
        data = {name: _read_rows(con, name, cols) for name, cols in tables.items()}
    finally:
        con.close()

    _drop_unwritable(schema, tables, data)
    meta_rows = {r[0]: r[1] for r in data["meta"].values()
                 if _valid(lambda r: serialization.loads(r[1]), r)}
    meta_lost = len(data["meta"]) - len(meta_rows)
    version = (serialization.loads(meta_rows["schema_version"]) if "schema_version" in meta_rows
               else 3 if "evaluations" in tables else 2 if "checkpoint" in tables else 1)

    checkpoint: int | None = None
    cp_table = next((t for t in ("checkpoint", "state") if t in tables), None)  # schema 2, 1
    if cp_table is not None:
        cp = [r for r in data[cp_table].values() if _valid(
            lambda r: (int(r[1]), serialization.loads(r[2]), serialization.loads(r[3])), r)]
        data[cp_table] = {0: cp[0]} if cp else {}
        checkpoint = int(cp[0][1]) if cp else None
    batches = data["batches"]
    if version == SCHEMA_VERSION:
        intact = {k for k, r in batches.items() if _valid(lambda r: _batch(r), r)}
    else:  # an older schema: what SQLite returns is taken as it is
        intact = set(batches)
    # a checkpoint names a batch that existed, where truncation hides the last ones
    last_seen = max(max(batches, default=0), checkpoint or 0)
    start = checkpoint or 0
    keep = {k for k in intact if k <= start}
    nxt = start + 1
    while nxt in intact:
        keep.add(nxt)
        nxt += 1
    lost = [k for k in range(1, last_seen + 1) if k not in keep]
    data["batches"] = {k: batches[k] for k in sorted(keep)}
    if "evaluations" in data:  # finished evaluations of the batch a resume asks next, only
        at = tables["evaluations"].index("iteration")
        data["evaluations"] = {k: r for k, r in data["evaluations"].items()
                               if r[at] == max(keep, default=0) + 1}

    _new_dir(dest, "recovered run")
    try:
        new = sqlite3.connect(dest / STORE_FILE, isolation_level=None)
        try:
            new.execute("PRAGMA journal_mode=WAL")
            new.execute("BEGIN")
            for _kind, _name, sql in schema:
                new.execute(sql)
            for name, rows in data.items():
                cols = tables[name]
                if name == "meta":
                    rows = {i: (k, v) for i, (k, v) in enumerate(meta_rows.items())}
                new.executemany(_insert_sql(name, cols), (rows[k] for k in sorted(rows)))
            _set_meta(new, schema_version=version, recovered_from=str(src.resolve()),
                      recovered_at=time.time(), recovered_lost=lost,
                      **({} if _status(meta_rows) == "finished" and not lost
                         and len(keep) == last_seen else {"status": "interrupted"}))
            new.execute("COMMIT")
        finally:
            new.close()
        _copy_other_files(src, dest)
        with RunStore.open(dest, readonly=True) as check:  # the new store reads back
            check.totals()
            resumable = check.get_meta("config") is not None
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        raise
    result = Recovery(out=dest, kept=len(keep), lost=lost, last_seen=last_seen,
                      checkpoint=checkpoint, meta_lost=meta_lost, resumable=resumable)
    log.info("%s", result.describe())
    return result
