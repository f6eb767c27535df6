"""The run store: an SQLite file holding a run's history and checkpoints.

Each told batch (candidates, values, failures, timings) is written in one transaction together
with the optimiser's and the controller's state, before the next ask. A run killed at any instant
(SIGKILL included) therefore resumes from its last told batch: no evaluation lost, none repeated.
The file uses WAL journaling with ``synchronous=NORMAL``: a committed transaction survives the
process being killed; only a power loss may drop the last few.

Everything is stored as plain data (JSON text with base64 arrays, see
:mod:`asktell.serialization`): opening a run directory never runs code.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import serialization

__all__ = ["STORE_FILE", "Batch", "RunStore"]

STORE_FILE = "run.sqlite"
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS batches (
    iteration   INTEGER PRIMARY KEY,
    restart     INTEGER NOT NULL DEFAULT 0,
    n           INTEGER NOT NULL,
    n_failed    INTEGER NOT NULL,
    candidates  TEXT NOT NULL,
    vals        TEXT NOT NULL,
    errors      TEXT NOT NULL,
    batch_best  REAL,
    best        REAL,
    t_ask       REAL NOT NULL,
    t_eval      REAL NOT NULL,
    t_tell      REAL NOT NULL,
    elapsed     REAL NOT NULL,
    wall_time   REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS state (
    id          INTEGER PRIMARY KEY CHECK (id = 0),
    iteration   INTEGER NOT NULL,
    optimiser   TEXT NOT NULL,
    controller  TEXT NOT NULL
);
-- One INSERT into this view appends a batch and replaces the state: a single statement is a
-- single transaction, with one round trip from Python instead of four.
CREATE VIEW IF NOT EXISTS told AS
    SELECT b.*, s.optimiser, s.controller FROM batches AS b, state AS s;
CREATE TRIGGER IF NOT EXISTS told_insert INSTEAD OF INSERT ON told BEGIN
    INSERT INTO batches VALUES (NEW.iteration, NEW.restart, NEW.n, NEW.n_failed,
        NEW.candidates, NEW.vals, NEW.errors, NEW.batch_best, NEW.best, NEW.t_ask,
        NEW.t_eval, NEW.t_tell, NEW.elapsed, NEW.wall_time);
    INSERT OR REPLACE INTO state VALUES (0, NEW.iteration, NEW.optimiser, NEW.controller);
END;
"""


_APPEND = "INSERT INTO told VALUES (" + ",".join("?" * 16) + ")"


@dataclass(frozen=True)
class Batch:
    """One told batch, as stored.

    Attributes
    ----------
    iteration : int
        1-based batch number.
    restart : int
        Restart index of the optimiser that asked it (0 without restarts).
    candidates : ndarray or tuple
        What was asked.
    values : ndarray
        What was told (NaN for failures), in the user's units.
    errors : list of dict
        ``{"index", "error"}`` for each failed item with an exception.
    batch_best, best : float
        Best value in this batch, and best so far (NaN when none).
    t_ask, t_eval, t_tell : float
        Seconds spent in ask, evaluation and tell.
    elapsed : float
        Seconds since the run started (across resumes).
    wall_time : float
        Unix time of the commit.
    """

    iteration: int
    restart: int
    candidates: Any
    values: np.ndarray
    errors: list[dict[str, Any]]
    batch_best: float
    best: float
    t_ask: float
    t_eval: float
    t_tell: float
    elapsed: float
    wall_time: float


def _f(x: float | None) -> float:
    return float("nan") if x is None else float(x)


class RunStore:
    """A run directory's SQLite file.

    Use :meth:`create` for a new run and :meth:`open` for an existing one.

    Parameters
    ----------
    path : path-like
        The run directory.
    readonly : bool
        Open without write access (``asktell show``).
    """

    def __init__(self, path: str | Path, *, readonly: bool = False) -> None:
        self.path = Path(path)
        db = self.path / STORE_FILE
        if not db.exists():
            raise FileNotFoundError(
                f"{self.path} is not an asktell run directory (no {STORE_FILE})"
            )
        if readonly:
            # query_only on a normal connection: as the last one to close, it still folds the
            # write-ahead log back (a mode=ro connection would leave -wal/-shm files behind).
            try:
                self._con = sqlite3.connect(f"{db.resolve().as_uri()}?mode=rw", uri=True,
                                            isolation_level=None)
                self._con.execute("PRAGMA query_only=1")
            except sqlite3.OperationalError:  # a read-only file or directory
                self._con = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
        else:
            self._con = sqlite3.connect(db, isolation_level=None)
            self._con.execute("PRAGMA journal_mode=WAL")
            self._con.execute("PRAGMA synchronous=NORMAL")
            # Fewer, larger checkpoints (each one syncs the file); the WAL is merged on close.
            self._con.execute("PRAGMA wal_autocheckpoint=4000")
        self.readonly = readonly
        version = self.get_meta("schema_version")
        if version != SCHEMA_VERSION:
            raise ValueError(f"{db}: unsupported run store schema {version!r}")

    @classmethod
    def create(cls, path: str | Path, meta: dict[str, Any], *, exist_ok: bool = False) -> RunStore:
        """Create a new run directory and its store.

        Parameters
        ----------
        path : path-like
            Directory to create (parents too).
        meta : dict
            Plain data describing the run (config, versions); kept under ``meta``.
        exist_ok : bool
            Allow an existing directory that holds no store yet.

        Returns
        -------
        RunStore

        Raises
        ------
        FileExistsError
            If the directory already holds a run (resume it instead).
        """
        path = Path(path)
        db = path / STORE_FILE
        if db.exists():
            raise FileExistsError(
                f"{path} already holds a run; resume it (asktell resume {path}) or choose "
                "another directory"
            )
        if path.exists() and any(path.iterdir()) and not exist_ok:
            raise FileExistsError(f"{path} exists and is not empty; choose another directory")
        path.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(db, isolation_level=None)
        try:
            con.execute("PRAGMA journal_mode=WAL")
            con.executescript(_SCHEMA)
            con.execute("BEGIN")
            rows = [("schema_version", json.dumps(SCHEMA_VERSION)),
                    ("created", json.dumps(time.time()))]
            rows += [(k, serialization.dumps(v)) for k, v in meta.items()]
            con.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", rows)
            con.execute("COMMIT")
        finally:
            con.close()
        return cls(path)

    @classmethod
    def open(cls, path: str | Path, *, readonly: bool = False) -> RunStore:
        """Open an existing run directory (see the class parameters)."""
        return cls(path, readonly=readonly)

    # ------------------------------------------------------------------ writing

    def append(
        self,
        *,
        iteration: int,
        candidates: Any,
        values: np.ndarray,
        errors: list[dict[str, Any]],
        batch_best: float,
        best: float,
        t_ask: float,
        t_eval: float,
        t_tell: float,
        elapsed: float,
        optimiser_state: dict[str, Any],
        controller_state: dict[str, Any],
        restart: int = 0,
    ) -> None:
        """Commit one told batch and the states after it, in one transaction.

        Parameters
        ----------
        iteration : int
            Batch number (1-based, consecutive).
        candidates, values, errors
            The batch as asked, the values told and the failures with exceptions.
        batch_best, best : float
            Best value in the batch and so far.
        t_ask, t_eval, t_tell, elapsed : float
            Timings in seconds.
        optimiser_state, controller_state : dict
            Plain data to resume from.
        restart : int
            Restart index.
        """
        values = np.asarray(values, dtype=np.float64)
        n_failed = int(values.size - np.count_nonzero(np.isfinite(values)))
        row = (
            iteration, restart, values.size, n_failed,
            serialization.dumps(candidates), serialization.dumps(values),
            json.dumps(errors) if errors else "[]",
            _nan_to_none(batch_best), _nan_to_none(best),
            t_ask, t_eval, t_tell, elapsed, time.time(),
            serialization.dumps(optimiser_state), serialization.dumps(controller_state),
        )
        # One statement: atomic on its own (see the ``told`` view's trigger).
        self._con.execute(_APPEND, row)

    def set_meta(self, **items: Any) -> None:
        """Set plain-data meta entries (status, stop reason, ...)."""
        rows = [(k, serialization.dumps(v)) for k, v in items.items()]
        self._con.execute("BEGIN")
        self._con.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", rows)
        self._con.execute("COMMIT")

    # ------------------------------------------------------------------ reading

    def get_meta(self, key: str, default: Any = None) -> Any:
        """A meta entry, or ``default``."""
        row = self._con.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else serialization.loads(row[0])

    def meta(self) -> dict[str, Any]:
        """All meta entries."""
        return {k: serialization.loads(v) for k, v in self._con.execute("SELECT * FROM meta")}

    def latest_state(self) -> tuple[int, dict[str, Any], dict[str, Any]] | None:
        """``(iteration, optimiser_state, controller_state)`` of the last commit, or None."""
        row = self._con.execute("SELECT iteration, optimiser, controller FROM state").fetchone()
        if row is None:
            return None
        return row[0], serialization.loads(row[1]), serialization.loads(row[2])

    def last_candidates(self) -> Any:
        """Candidates of the last stored batch, or None."""
        row = self._con.execute(
            "SELECT candidates FROM batches ORDER BY iteration DESC LIMIT 1"
        ).fetchone()
        return None if row is None else serialization.loads(row[0])

    def __len__(self) -> int:
        return self._con.execute("SELECT COUNT(*) FROM batches").fetchone()[0]

    def batches(self) -> Iterator[Batch]:
        """Every stored batch, in order."""
        cur = self._con.execute("SELECT * FROM batches ORDER BY iteration")
        for r in cur:
            yield Batch(
                iteration=r[0], restart=r[1],
                candidates=serialization.loads(r[4]), values=serialization.loads(r[5]),
                errors=json.loads(r[6]), batch_best=_f(r[7]), best=_f(r[8]),
                t_ask=r[9], t_eval=r[10], t_tell=r[11], elapsed=r[12], wall_time=r[13],
            )

    def trace(self) -> dict[str, np.ndarray]:
        """Per-batch summary columns as arrays (for plots), without decoding candidates."""
        rows = self._con.execute(
            "SELECT iteration, n, n_failed, batch_best, best, elapsed FROM batches "
            "ORDER BY iteration"
        ).fetchall()
        cols = list(zip(*rows)) if rows else [()] * 6
        names = ["iteration", "n", "n_failed", "batch_best", "best", "elapsed"]
        return {
            k: np.array([np.nan if v is None else v for v in c], dtype=float)
            for k, c in zip(names, cols)
        }

    def close(self) -> None:
        """Close the connection (merging the write-ahead log into the file)."""
        if not self.readonly:
            try:
                self._con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error:  # another connection holds it; SQLite merges it later
                pass
        self._con.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _nan_to_none(x: float) -> float | None:
    x = float(x)
    return x if np.isfinite(x) else None
