"""The run store: an SQLite file holding a run's history and checkpoints.

Each told batch (candidates, recorded values, the told results where they differ, failures,
extras, timings and the controller's small state) is appended as one row, in its own
transaction before the next ask, or, for the cheap batches told within ``commit_seconds`` of the
last commit, in one transaction with them (the controller queues such a batch as it is and its
row is built at the commit). The method's full state is written only as a *checkpoint*,
every ``checkpoint_every`` batches or ``checkpoint_seconds`` seconds and when a run stops, so the
cost of a commit does not grow with the run. A run killed at any instant (SIGKILL included)
resumes from its last checkpoint by *replaying* the batches appended after it: the method asks
again (the candidates are checked against the stored ones) and is told the stored results, which
restores exactly the state of the uninterrupted run without evaluating anything again.

The file uses WAL journaling with ``synchronous=NORMAL``: a committed transaction survives the
process being killed; only a power loss may drop the last few. Everything is stored as plain data
(JSON text with base64 arrays, see :mod:`asktell.serialization`): opening a run directory never
runs code. Older schemas are migrated when a store is opened for writing, and read through an
in-memory migrated copy when it is opened read-only (the design of Optuna's
``_VersionManager``: old studies open in new versions).
"""

from __future__ import annotations

import functools
import inspect
import itertools
import json
import math
import operator
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

import numpy as np

from . import serialization

__all__ = ["STORE_FILE", "Batch", "RunStore", "StoreError", "StoredEvaluation", "batch_best"]

STORE_FILE = "run.sqlite"
SCHEMA_VERSION = 3

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS batches (
    iteration   INTEGER PRIMARY KEY,
    n           INTEGER NOT NULL,
    n_failed    INTEGER NOT NULL,
    candidates  TEXT NOT NULL,
    vals        TEXT NOT NULL,
    results     TEXT,
    errors      TEXT NOT NULL,
    extras      TEXT NOT NULL,
    columns     TEXT,
    batch_best  REAL,
    best        REAL,
    t_ask       REAL NOT NULL,
    t_eval      REAL NOT NULL,
    t_tell      REAL NOT NULL,
    elapsed     REAL NOT NULL,
    wall_time   REAL NOT NULL,
    controller  TEXT
);
CREATE TABLE IF NOT EXISTS checkpoint (
    id          INTEGER PRIMARY KEY CHECK (id = 0),
    iteration   INTEGER NOT NULL,
    optimiser   TEXT NOT NULL,
    controller  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS evaluations (
    seq         INTEGER PRIMARY KEY,
    iteration   INTEGER NOT NULL,
    idx         INTEGER NOT NULL,
    candidate   TEXT NOT NULL,
    value       REAL,
    result      TEXT,
    error       TEXT,
    seconds     REAL,
    UNIQUE (iteration, idx)
);
"""

#: Columns of ``batches`` that may be NULL: results, columns, batch_best, best, controller.
_NULLABLE = (5, 8, 9, 10, 16)
_INSERTS: dict[int, tuple[str, Callable[[tuple[Any, ...]], tuple[Any, ...]]]] = {}


#: Bit of :func:`_insert`'s key: no errors and no extras (``'[]'`` and ``'{}'`` in the SQL).
_PLAIN = 1 << len(_NULLABLE)
#: The key of a plain batch with its best values (see :meth:`RunStore.queue_batch`).
_PLAIN_ROW = _PLAIN | 0b10011


def _insert(nulls: int) -> tuple[str, Callable[[tuple[Any, ...]], tuple[Any, ...]]]:
    """The INSERT of a ``batches`` row whose NULL columns are ``nulls`` (bit k: the column
    ``_NULLABLE[k]``; with ``_PLAIN``, no errors and extras), and the getter of its
    parameters from the row's 17 values.

    NULL is written into the statement, not bound: Python's sqlite3 binds None (and bytes)
    through its adapter lookup, several times slower than a number or a string, which for a
    cheap objective's batch is a good part of its row's cost.
    """
    found = _INSERTS.get(nulls)
    if found is None:
        fixed = {c: "NULL" for k, c in enumerate(_NULLABLE) if nulls >> k & 1}
        if nulls & _PLAIN:
            fixed.update({6: "'[]'", 7: "'{}'"})
        sql = ("INSERT INTO batches VALUES ("
               + ",".join(fixed.get(c, "?") for c in range(17)) + ")")
        found = sql, operator.itemgetter(*(c for c in range(17) if c not in fixed))
        _INSERTS[nulls] = found
    return found


def _blob(data: str | bytes) -> str | bytes | bytearray:
    """What :func:`serialization.pack` wrote, to bind: a bytearray binds as a BLOB without the
    adapter lookup that bytes go through (and reads back as bytes)."""
    return bytearray(data) if type(data) is bytes else data
_ADD_EVALUATION = ("INSERT OR REPLACE INTO evaluations (iteration, idx, candidate, value, result, "
                   "error, seconds) VALUES (?, ?, ?, ?, ?, ?, ?)")
_CHECKPOINT = "INSERT OR REPLACE INTO checkpoint VALUES (0, ?, ?, ?)"


_first, _second = operator.itemgetter(0), operator.itemgetter(1)


def _queued(row: tuple[Any, ...]) -> tuple[int, tuple[Any, ...]]:
    """A ``batches`` row (17 values) as queued: its NULL columns and its other values."""
    nulls = ((row[5] is None) | (row[8] is None) << 1 | (row[9] is None) << 2
             | (row[10] is None) << 3 | (row[16] is None) << 4)
    return nulls, _insert(nulls)[1](row)


_shape, _dtype = operator.attrgetter("shape"), operator.attrgetter("dtype")


def _plain_rows(plain: list[tuple[Any, ...]]) -> list[tuple[int, tuple[Any, ...]]] | None:
    """The rows of plain batches queued by :meth:`RunStore.queue_batch`, built with one array
    operation per column when the batches share their arrays' shapes and dtypes and their
    direction (else None): a cheap objective's group of batches then costs a few microseconds
    a row instead of a pack, a best value and a tuple each. The rows are those
    :meth:`RunStore.append` would write."""
    (its, cands, vals, n_failed, signs, bests, t_ask, t_eval, t_tell, elapsed,
     walls) = zip(*plain)
    if (len(set(signs)) > 1 or len(set(map(_shape, cands))) > 1
            or len(set(map(_dtype, cands))) > 1 or len(set(map(_shape, vals))) > 1):
        return None
    values = np.array(vals, dtype=np.float64)  # (m, n)
    reduce = np.fmin.reduce if signs[0] > 0 else np.fmax.reduce  # NaN (a failure) ignored
    bb = reduce(values, axis=1) if values.shape[1] else np.full(len(values), np.nan)
    best = np.array(bests, dtype=np.float64)
    n = itertools.repeat(values.shape[1])
    params = zip(its, n, n_failed, serialization.pack_rows(np.array(cands)),
                 serialization.pack_rows(values), bb.tolist(), best.tolist(), t_ask, t_eval,
                 t_tell, elapsed, walls)
    if np.isfinite(bb).all() and np.isfinite(best).all():
        return list(zip(itertools.repeat(_PLAIN_ROW), params))
    # A batch with no finite value yet, or inf among its values: its row as append's.
    rows: list[tuple[int, tuple[Any, ...]]] = []
    for p in params:
        nulls = _PLAIN_ROW
        p_bb = p[5]
        if not math.isfinite(p_bb):  # batch_best's own rule (inf: the best finite value)
            p_bb = batch_best(values[len(rows)], signs[0])
        nulls |= (not math.isfinite(p_bb)) << 2 | (not math.isfinite(p[6])) << 3
        row = (*p[:5], None, "[]", "{}", None, p_bb, p[6], *p[7:], None)
        rows.append((nulls, _insert(nulls)[1](row)))
    return rows


def batch_best(values: np.ndarray, sign: float) -> float:
    """The best of a batch's recorded values in a direction (the ``batch_best`` column).

    Parameters
    ----------
    values : ndarray, shape (n,)
        Recorded values, NaN for failures.
    sign : float
        +1 when lower is better, -1 when higher is.

    Returns
    -------
    float
        The lowest (``sign`` +1) or highest finite value; NaN when none is finite.

    Examples
    --------
    >>> batch_best(np.array([np.nan, 2.0, 1.0]), 1.0), batch_best(np.array([2.0, 1.0]), -1.0)
    (1.0, 2.0)
    >>> batch_best(np.array([np.nan, np.inf]), 1.0), batch_best(np.array([]), 1.0)
    (nan, nan)
    """
    if not values.size:
        return math.nan
    if values.size <= 64:  # a short batch: Python's min beats numpy's reduction fourfold
        # A NaN (a failure) never replaces the running minimum, and a NaN met first gives NaN:
        # a finite result is the best finite value.
        v = values.tolist()
        best = float(min(v) if sign > 0 else max(v))
    else:
        best = float(values.min() if sign > 0 else values.max())
    if math.isfinite(best):
        return best
    finite = values[np.isfinite(values)]  # failures are NaN: the best of the others
    return math.nan if not finite.size else float(finite.min() if sign > 0 else finite.max())


class StoreError(ValueError):
    """A run store that cannot be read: not a run, a damaged file, or an unknown schema."""


def _damaged(path: Path, e: Exception) -> StoreError:
    """One line for an error met reading ``path``'s store, pointing at ``asktell recover``."""
    db = path / STORE_FILE
    if isinstance(e, sqlite3.OperationalError) and any(
            w in str(e) for w in ("locked", "busy", "unable to open", "no such", "readonly")):
        return StoreError(f"{db}: cannot read the run store ({e})")  # not the file's fault
    return StoreError(f"{db}: not a readable run store, damaged or truncated ({e}); "
                      f"`asktell recover {path}` copies its intact batches into a new run "
                      "directory")


_F = TypeVar("_F", bound=Callable[..., Any])
# What reading a damaged file raises: SQLite's corruption errors, and garbled stored data.
_DAMAGE = (sqlite3.DatabaseError, ValueError, KeyError, TypeError, IndexError)


def _reads(method: _F) -> _F:
    """Report damage met by a reading method as a one-line :class:`StoreError`."""
    if inspect.isgeneratorfunction(method):
        @functools.wraps(method)
        def gen(self: RunStore, *args: Any, **kwargs: Any) -> Any:
            try:
                yield from method(self, *args, **kwargs)
            except (StoreError, sqlite3.ProgrammingError):
                raise
            except _DAMAGE as e:
                raise _damaged(self.path, e) from None
        return cast(_F, gen)

    @functools.wraps(method)
    def wrapper(self: RunStore, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except (StoreError, sqlite3.ProgrammingError):  # ProgrammingError: a closed store
            raise
        except _DAMAGE as e:
            raise _damaged(self.path, e) from None
    return cast(_F, wrapper)


def _statements(script: str) -> list[str]:
    return [st.strip() for st in script.split(";") if st.strip()]


def _migrate_1_to_2(con: sqlite3.Connection) -> None:
    """Schema 1 (every batch carried the full state; a ``restart`` column) to schema 2."""
    # One statement at a time: executescript() would commit the migration's transaction.
    for stmt in ("ALTER TABLE batches RENAME TO batches_v1", "DROP TRIGGER IF EXISTS told_insert",
                 "DROP VIEW IF EXISTS told", *_statements(_SCHEMA)):
        con.execute(stmt)
    con.execute("""
        INSERT INTO batches SELECT iteration, n, n_failed, candidates, vals, NULL, errors,
            CASE WHEN restart != 0 THEN json_object('restart', restart) ELSE '{}' END, NULL,
            batch_best, best, t_ask, t_eval, t_tell, elapsed, wall_time, NULL
        FROM batches_v1 ORDER BY iteration
    """)
    con.execute("INSERT INTO checkpoint SELECT 0, iteration, optimiser, controller FROM state")
    con.execute("DROP TABLE batches_v1")
    con.execute("DROP TABLE state")


def _migrate_2_to_3(con: sqlite3.Connection) -> None:
    """Schema 2 to 3: the ``evaluations`` table (finished evaluations of unfinished batches)."""
    for stmt in _statements(_SCHEMA):
        con.execute(stmt)


#: ``version -> migration to version + 1``; each runs inside one transaction.
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {
    1: _migrate_1_to_2, 2: _migrate_2_to_3}


@dataclass(frozen=True)
class StoredEvaluation:
    """One finished evaluation kept before its batch was told (see
    :meth:`RunStore.add_evaluations`).

    Attributes
    ----------
    seq : int
        Order of arrival in the store (increasing).
    iteration : int
        The batch the candidate belongs to.
    index : int
        Its position (key) in that batch.
    candidate : object
        The candidate.
    value : float
        The value (NaN for a failure or an object result).
    result : object or None
        The object returned, for evaluators with ``output="object"``.
    error : dict or None
        ``{"index", "type", "message", "error"}`` for a failure.
    seconds : float
        How long the evaluation took (NaN where unknown).
    """

    seq: int
    iteration: int
    index: int
    candidate: Any
    value: float
    result: Any
    error: dict[str, Any] | None
    seconds: float


@dataclass(frozen=True)
class Batch:
    """One told batch, as stored.

    Attributes
    ----------
    iteration : int
        1-based batch number.
    candidates : ndarray or tuple
        What was asked.
    values : ndarray
        The recorded values (NaN for failures), in the method's units and direction.
    results : object or None
        What the method was told, where that is not ``values`` (an estimator's data sets).
    errors : list of dict
        ``{"index", "type", "message", "error"}`` for each failed item that raised.
    extras : dict
        The method's per-batch numbers (restart index, KL, training loss).
    columns : dict
        The evaluation's per-candidate extra columns (name → array of n floats).
    batch_best, best : float
        Best value in this batch, and best so far (NaN when none).
    t_ask, t_eval, t_tell : float
        Seconds spent in ask, evaluation and tell.
    elapsed : float
        Seconds since the run started (across resumes).
    wall_time : float
        Unix time of the commit.
    controller : dict or None
        The controller's state after this batch (stopping-rule counters, elapsed).
    """

    iteration: int
    candidates: Any
    values: np.ndarray
    results: Any
    errors: list[dict[str, Any]]
    extras: dict[str, float]
    columns: dict[str, np.ndarray]
    batch_best: float
    best: float
    t_ask: float
    t_eval: float
    t_tell: float
    elapsed: float
    wall_time: float
    controller: dict[str, Any] | None = field(default=None)

    @property
    def restart(self) -> int:
        """Restart index of the method that asked this batch (0 without restarts)."""
        return int(self.extras.get("restart", 0))


def _f(x: float | None) -> float:
    return float("nan") if x is None else float(x)


def _load(data: str | bytes | None) -> Any:
    return None if data is None else serialization.unpack(data)


def _errors(text: str) -> list[dict[str, Any]]:
    errs: list[dict[str, Any]] = json.loads(text)
    for e in errs:  # schema 1 kept "error" only
        if "type" not in e:
            t, _, m = str(e.get("error", "")).partition(": ")
            e.setdefault("type", t)
            e.setdefault("message", m)
    return errs


_BATCH_COLUMNS = ("iteration, n, n_failed, candidates, vals, results, errors, extras, columns, "
                  "batch_best, best, t_ask, t_eval, t_tell, elapsed, wall_time, controller")


def _batch(r: tuple[Any, ...]) -> Batch:
    return Batch(
        iteration=r[0], candidates=serialization.unpack(r[3]), values=serialization.unpack(r[4]),
        results=_load(r[5]), errors=_errors(r[6]), extras=json.loads(r[7]),
        columns=_load(r[8]) or {}, batch_best=_f(r[9]), best=_f(r[10]), t_ask=r[11],
        t_eval=r[12], t_tell=r[13], elapsed=r[14], wall_time=r[15], controller=_load(r[16]),
    )


class RunStore:
    """A run directory's SQLite file.

    Use :meth:`create` for a new run and :meth:`open` for an existing one.

    Parameters
    ----------
    path : path-like
        The run directory.
    readonly : bool
        Open without write access (``asktell show``, a dashboard). A store of an older schema is
        then read through a migrated copy in memory; the file is not changed. A writing store
        holds the run directory's lock (:mod:`asktell.lock`) until :meth:`close`; readers never
        take it.

    Raises
    ------
    FileNotFoundError
        If the directory holds no store.
    StoreError
        If the file is damaged or of a newer schema than this asktell knows (also raised by the
        reading methods when they meet a damaged page).
    RunLockedError
        Opening for writing while another writer holds the directory (naming it).
    """

    def __init__(self, path: str | Path, *, readonly: bool = False,
                 _new: list[tuple[str, str]] | None = None) -> None:
        # _new: the meta rows of a store that create() makes here, on the connection it keeps.
        self.path = Path(path)
        db = self.path / STORE_FILE
        if _new is None and not db.exists():
            raise FileNotFoundError(
                f"{self.path} is not an asktell run directory (no {STORE_FILE})"
            )
        self.readonly = readonly
        #: Batches to commit: (NULL columns, the row's other values), see :func:`_insert`.
        self._queue: list[tuple[int, tuple[Any, ...]]] = []
        #: Plain batches queued by :meth:`queue_batch`, their rows built by :meth:`flush`.
        self._plain: list[tuple[Any, ...]] = []
        self._eval_queue: list[tuple[Any, ...]] = []
        self._meta_queue: list[tuple[str, str]] = []
        self._evals_stored = False
        from .lock import RunLock  # one writer per run directory (readers never lock)

        self._lock = None if readonly else RunLock.acquire(self.path)
        try:
            self._open(db, readonly, None if _new is None else self._new_store(db, _new))
        except BaseException:
            if self._lock is not None:
                self._lock.release()
            raise

    @classmethod
    def _new_store(cls, db: Path, meta: list[tuple[str, str]]) -> sqlite3.Connection:
        """Create the file: tables and meta in one transaction (a script would commit, and
        sync, each table on its own), on the connection the store then keeps (closing it
        would fold the log back and delete it, for the run's first commit to make again)."""
        con = cls._connect(db, readonly=False)
        try:
            con.execute("BEGIN")
            for stmt in _statements(_SCHEMA):
                con.execute(stmt)
            con.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", meta)
            con.execute("COMMIT")
            # Into the file itself: a copy of run.sqlite alone (without its -wal) is still a
            # run store, its batches missing (see asktell.summary's warning).
            con.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except BaseException:
            con.close()
            db.unlink(missing_ok=True)
            raise
        return con

    def _open(self, db: Path, readonly: bool, con: sqlite3.Connection | None = None) -> None:
        try:
            self._con = self._connect(db, readonly) if con is None else con
            version = self._schema_version()
        except (sqlite3.DatabaseError, ValueError) as e:
            raise _damaged(self.path, e) from None
        if not isinstance(version, int) or version < 1 or version > SCHEMA_VERSION:
            self._con.close()
            raise StoreError(f"{db}: unsupported run store schema {version!r} (this asktell "
                             f"reads schemas 1 to {SCHEMA_VERSION}; upgrade asktell)")
        if version < SCHEMA_VERSION:
            if readonly:
                self._con = self._migrated_copy(self._con, version)
            else:
                self._migrate(self._con, version)
        try:
            self._evals_stored = bool(self._con.execute(
                "SELECT 1 FROM evaluations LIMIT 1").fetchone())
        except sqlite3.DatabaseError as e:
            raise _damaged(self.path, e) from None

    @staticmethod
    def _connect(db: Path, readonly: bool) -> sqlite3.Connection:
        if readonly:
            # query_only on a normal connection: as the last one to close, it still folds the
            # write-ahead log back (a mode=ro connection would leave -wal/-shm files behind).
            try:
                con = sqlite3.connect(f"{db.resolve().as_uri()}?mode=rw", uri=True,
                                      isolation_level=None, check_same_thread=False)
                con.execute("PRAGMA query_only=1")
            except sqlite3.OperationalError:  # a read-only file or directory
                con = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True,
                                      isolation_level=None, check_same_thread=False)
            return con
        con = sqlite3.connect(db, isolation_level=None)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
        # Fewer, larger checkpoints (each one syncs the file); the WAL is merged on close.
        con.execute("PRAGMA wal_autocheckpoint=4000")
        return con

    def _schema_version(self) -> Any:
        row = self._con.execute(
            "SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return None if row is None else json.loads(row[0])

    @staticmethod
    def _migrate(con: sqlite3.Connection, version: int) -> None:
        while version < SCHEMA_VERSION:
            con.execute("BEGIN IMMEDIATE")
            try:
                MIGRATIONS[version](con)
                version += 1
                con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)",
                            (json.dumps(version),))
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise

    @classmethod
    def _migrated_copy(cls, con: sqlite3.Connection, version: int) -> sqlite3.Connection:
        mem = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        con.backup(mem)
        con.close()
        cls._migrate(mem, version)
        mem.execute("PRAGMA query_only=1")
        return mem

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
        rows = [("schema_version", json.dumps(SCHEMA_VERSION)),
                ("created", json.dumps(time.time()))]
        rows += [(k, serialization.dumps(v)) for k, v in meta.items()]
        return cls(path, _new=rows)

    @classmethod
    def open(cls, path: str | Path, *, readonly: bool = False) -> RunStore:
        """Open an existing run directory (see the class parameters)."""
        return cls(path, readonly=readonly)

    # ------------------------------------------------------------------ writing

    def append(
        self,
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
        controller_state: dict[str, Any] | None,
        results: Any = None,
        extras: Mapping[str, float] | None = None,
        columns: Mapping[str, np.ndarray] | None = None,
        optimiser_state: dict[str, Any] | None = None,
        checkpoint_controller: dict[str, Any] | None = None,
        defer: bool = False,
        n_failed: int | None = None,
    ) -> None:
        """Commit one told batch, and a checkpoint when ``optimiser_state`` is given.

        The arguments may be passed by position, in this order (the controller does, once per
        batch: eighteen keywords cost a cheap objective's batch more than building its row).

        Parameters
        ----------
        iteration : int
            Batch number (1-based, consecutive).
        candidates, values, errors
            The batch as asked, the recorded values and the failures with exceptions.
        batch_best, best : float
            Best value in the batch and so far.
        t_ask, t_eval, t_tell, elapsed : float
            Timings in seconds.
        controller_state : dict or None
            The controller's plain-data state after this batch, if it cannot be rebuilt from
            the batches (the controller rebuilds its own on replay and passes None).
        results : plain data, optional
            What the method was told, where it is not ``values`` (data sets), for replay.
        extras : mapping, optional
            The method's per-batch numbers (history columns).
        columns : mapping, optional
            The evaluation's per-candidate extra columns.
        optimiser_state : dict, optional
            The method's full state after this batch: written as the checkpoint, in the same
            transaction.
        checkpoint_controller : dict, optional
            The controller's state stored with that checkpoint (default ``controller_state``).
        n_failed : int, optional
            Failures in the batch (default: the non-finite values).
        defer : bool
            Queue the batch and commit it with the next call that does not defer (or
            :meth:`flush`, or :meth:`close`): one transaction for a group of cheap batches.
            A batch with a checkpoint is never deferred.
        """
        values = np.asarray(values, dtype=np.float64)
        if n_failed is None:
            n_failed = int(values.size - np.count_nonzero(np.isfinite(values)))
        res = None if results is None else serialization.dumps(results)
        cols = serialization.dumps(dict(columns)) if columns else None
        bb, b = _nan_to_none(batch_best), _nan_to_none(best)
        ctl = None if controller_state is None else serialization.dumps(controller_state)
        self._queue.append(_queued((
            iteration, values.size, n_failed,
            _blob(serialization.pack(candidates)), _blob(serialization.pack(values)), res,
            json.dumps(errors) if errors else "[]",
            json.dumps(dict(extras)) if extras else "{}",
            cols, bb, b, t_ask, t_eval, t_tell, elapsed, time.time(), ctl,
        )))
        if optimiser_state is not None:
            self.flush((iteration, serialization.dumps(optimiser_state),
                        serialization.dumps(checkpoint_controller or controller_state)))
        elif not defer:
            self.flush()

    def queue_batch(
        self, iteration: int, candidates: np.ndarray, values: np.ndarray, n_failed: int,
        sign: float, best: float, t_ask: float, t_eval: float, t_tell: float, elapsed: float,
    ) -> None:
        """:meth:`append` with ``defer=True`` of a plain batch, its row built at the commit.

        A plain batch: a numeric array of candidates, float64 values, no errors, extras,
        columns, results or controller state; its ``batch_best`` is :func:`batch_best` with
        ``sign``. The controller queues a cheap objective's batches so: one call per batch,
        and the rows of a group built together by :meth:`flush`, which is several times
        cheaper than building each between an ask and a tell. Neither array may change
        until then (a method's asked batch and its told values are read-only).

        Raises
        ------
        TypeError
            If ``candidates`` is not a numeric array, or ``values`` not a 1-d array of one
            value per candidate (checked here, not at the commit, so nothing queued is lost).
        """
        if (type(candidates) is not np.ndarray or candidates.dtype.kind not in "biufc"
                or type(values) is not np.ndarray or values.ndim != 1
                or len(values) != len(candidates)):
            raise TypeError(
                "queue_batch takes a numeric array of candidates and a 1-d array of values, "
                f"one per candidate; got {_describe(candidates)} and {_describe(values)} "
                "(use append() for other batches)")
        self._plain.append((iteration, candidates, values, n_failed, sign, best, t_ask, t_eval,
                            t_tell, elapsed, time.time()))

    def _rows(self) -> list[tuple[int, tuple[Any, ...]]]:
        """The queued rows, those of :meth:`queue_batch` built (as :meth:`append` would)."""
        rows = list(self._queue)
        plain = self._plain
        built = _plain_rows(plain)  # the usual group: batches of one shape, one direction
        if built is not None:
            return rows + built
        pack, isfinite = serialization.pack, math.isfinite
        for it, cands, vals, n_failed, sign, best, t_ask, t_eval, t_tell, elapsed, wall \
                in plain:
            vals = np.asarray(vals, dtype=np.float64)
            bb, best = batch_best(vals, sign), float(best)
            nulls = _PLAIN_ROW | (not isfinite(bb)) << 2 | (not isfinite(best)) << 3
            rows.append((nulls, _insert(nulls)[1]((
                it, vals.size, n_failed, _blob(pack(cands)), _blob(pack(vals)), None, "[]",
                "{}", None, bb, best, t_ask, t_eval, t_tell, elapsed, wall, None))))
        return rows

    def flush(self, checkpoint: tuple[int, str, str] | None = None) -> None:
        """Commit the queued batches (and a serialised checkpoint) in one transaction.

        Parameters
        ----------
        checkpoint : (iteration, optimiser JSON, controller JSON), optional
            Written in the same transaction.
        """
        rows = self._rows() if self._plain else self._queue
        evals, meta, con = self._eval_queue, self._meta_queue, self._con
        if not rows and not evals and not meta and checkpoint is None:
            return
        # Evaluations of a batch told now are in its row: drop them in the same transaction.
        drop = rows and (self._evals_stored or evals)
        if len(rows) == 1 and checkpoint is None and not evals and not meta and not drop:
            con.execute(_insert(rows[0][0])[0], rows[0][1])  # one statement: atomic on its own
        else:
            con.execute("BEGIN")
            try:
                if evals:
                    con.executemany(_ADD_EVALUATION, evals)
                    self._evals_stored = True
                # One executemany per run of rows with the same NULL columns (usually one).
                for nulls, group in itertools.groupby(rows, key=_first):
                    con.executemany(_insert(nulls)[0], map(_second, group))
                if drop:
                    con.execute("DELETE FROM evaluations WHERE iteration <= ?",
                                (max(r[1][0] for r in rows),))
                    self._evals_stored = bool(con.execute(
                        "SELECT 1 FROM evaluations LIMIT 1").fetchone())
                if checkpoint is not None:
                    con.execute(_CHECKPOINT, checkpoint)
                if meta:
                    con.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", meta)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        self._queue = []
        self._plain = []
        self._eval_queue = []
        self._meta_queue = []

    def add_evaluations(
        self,
        iteration: int,
        rows: Iterable[tuple[int, Any, float, Any, dict[str, Any] | None, float]],
        *,
        defer: bool = False,
    ) -> None:
        """Keep finished evaluations of a batch that has not been told yet.

        A killed run then loses none of them: on resume the batch is asked again and only its
        missing evaluations run (see :meth:`evaluations`). They are deleted when the batch they
        belong to is appended (its row holds them).

        Parameters
        ----------
        iteration : int
            The batch the candidates belong to (the next to be appended).
        rows : iterable of (index, candidate, value, result, error, seconds)
            ``value`` a float (NaN for a failure or an object result), ``result`` the object
            returned or None, ``error`` the failure's plain record or None.
        defer : bool
            Queue them for the next commit instead of committing now.
        """
        for idx, cand, value, result, error, seconds in rows:
            self._eval_queue.append((
                int(iteration), int(idx), serialization.pack(cand), _nan_to_none(value),
                None if result is None else serialization.dumps(result),
                None if error is None else json.dumps(error), _nan_to_none(seconds)))
        if not defer:
            self.flush()

    @_reads
    def evaluations(self, iteration: int | None = None, after: int = 0) -> list[StoredEvaluation]:
        """Evaluations kept by :meth:`add_evaluations` and not yet part of a stored batch.

        Parameters
        ----------
        iteration : int, optional
            Only those of this batch.
        after : int
            Only those with ``seq > after``.

        Returns
        -------
        list of StoredEvaluation
            In order of arrival.
        """
        sql = ("SELECT seq, iteration, idx, candidate, value, result, error, seconds "
               "FROM evaluations WHERE seq > ?")
        args: tuple[int, ...] = (after,)
        if iteration is not None:
            sql += " AND iteration = ?"
            args += (iteration,)
        return [
            StoredEvaluation(r[0], r[1], r[2], serialization.unpack(r[3]), _f(r[4]),
                             _load(r[5]), None if r[6] is None else json.loads(r[6]), _f(r[7]))
            for r in self._con.execute(sql + " ORDER BY seq", args)
        ]

    def checkpoint(self, iteration: int, optimiser_state: dict[str, Any],
                   controller_state: dict[str, Any]) -> None:
        """Write the full state after batch ``iteration`` (replacing the previous checkpoint).

        Parameters
        ----------
        iteration : int
            The last batch the state includes (0 before any).
        optimiser_state, controller_state : dict
            Plain data.
        """
        self.flush((iteration, serialization.dumps(optimiser_state),
                    serialization.dumps(controller_state)))

    @property
    def queued(self) -> int:
        """Batches and evaluations added with ``defer=True`` and not yet committed."""
        return len(self._queue) + len(self._plain) + len(self._eval_queue)

    def set_meta(self, **items: Any) -> None:
        """Set plain-data meta entries (status, stop reason, ...)."""
        rows = [(k, serialization.dumps(v)) for k, v in items.items()]
        self._con.execute("BEGIN")
        self._con.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", rows)
        self._con.execute("COMMIT")

    def queue_meta(self, **items: Any) -> None:
        """:meth:`set_meta`, committed with the next :meth:`flush` (queued batches, a
        checkpoint) instead of in a transaction of its own."""
        self._meta_queue += [(k, serialization.dumps(v)) for k, v in items.items()]

    def last_queued(self) -> int | None:
        """The iteration of the last batch queued (not committed yet), or None."""
        last = [int(self._plain[-1][0])] if self._plain else []
        last += [r[1][0] for r in self._queue]
        return max(last) if last else None

    # ------------------------------------------------------------------ reading

    @_reads
    def get_meta(self, key: str, default: Any = None) -> Any:
        """A meta entry, or ``default``."""
        row = self._con.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else serialization.loads(row[0])

    @_reads
    def meta(self) -> dict[str, Any]:
        """All meta entries."""
        return {k: serialization.loads(v) for k, v in self._con.execute("SELECT * FROM meta")}

    @_reads
    def latest_checkpoint(self) -> tuple[int, dict[str, Any], dict[str, Any]] | None:
        """``(iteration, optimiser_state, controller_state)`` of the last checkpoint, or None.

        Batches after ``iteration`` are replayed on resume (see :meth:`batches`).
        """
        row = self._con.execute(
            "SELECT iteration, optimiser, controller FROM checkpoint").fetchone()
        if row is None:
            return None
        return row[0], serialization.loads(row[1]), serialization.loads(row[2])

    @_reads
    def last_iteration(self) -> int:
        """The number of the last stored batch (0 when none)."""
        row = self._con.execute("SELECT MAX(iteration) FROM batches").fetchone()
        return int(row[0] or 0)

    @_reads
    def last_batch(self) -> Batch | None:
        """The last stored batch, or None."""
        row = self._con.execute(
            f"SELECT {_BATCH_COLUMNS} FROM batches ORDER BY iteration DESC LIMIT 1"
        ).fetchone()
        return None if row is None else _batch(row)

    @_reads
    def last_candidates(self) -> Any:
        """Candidates of the last stored batch, or None."""
        row = self._con.execute(
            "SELECT candidates FROM batches ORDER BY iteration DESC LIMIT 1"
        ).fetchone()
        return None if row is None else serialization.unpack(row[0])

    @_reads
    def totals(self) -> dict[str, int]:
        """``iterations``, ``evaluations`` and ``failures`` over the stored batches."""
        it, n, nf = self._con.execute(
            "SELECT COUNT(*), COALESCE(SUM(n), 0), COALESCE(SUM(n_failed), 0) FROM batches"
        ).fetchone()
        return {"iterations": int(it), "evaluations": int(n), "failures": int(nf)}

    @_reads
    def __len__(self) -> int:
        return int(self._con.execute("SELECT COUNT(*) FROM batches").fetchone()[0])

    @_reads
    def batches(self, after: int = 0) -> Iterator[Batch]:
        """The stored batches with ``iteration > after``, in order.

        Parameters
        ----------
        after : int
            Skip the batches up to this one (0: every batch).

        Yields
        ------
        Batch
        """
        cur = self._con.execute(
            f"SELECT {_BATCH_COLUMNS} FROM batches WHERE iteration > ? ORDER BY iteration",
            (after,))
        for r in cur:
            yield _batch(r)

    @_reads
    def trace(self) -> dict[str, np.ndarray]:
        """Every numeric per-batch column as an array (for plots), without decoding candidates.

        Returns
        -------
        dict
            ``iteration``, ``n``, ``n_failed``, ``batch_best``, ``best``, ``elapsed``,
            ``t_ask``, ``t_eval``, ``t_tell``, and one column per extra the method recorded
            (``restart``, ``kl``, ``loss``, ...; NaN in batches that lack it).
        """
        rows = self._con.execute(
            "SELECT iteration, n, n_failed, batch_best, best, elapsed, t_ask, t_eval, t_tell, "
            "extras FROM batches ORDER BY iteration"
        ).fetchall()
        names = ["iteration", "n", "n_failed", "batch_best", "best", "elapsed", "t_ask",
                 "t_eval", "t_tell"]
        cols = list(zip(*rows)) if rows else [()] * (len(names) + 1)
        out = {
            k: np.array([np.nan if v is None else v for v in c], dtype=float)
            for k, c in zip(names, cols)
        }
        extras = [json.loads(e) for e in cols[-1]]
        keys: list[str] = []
        for e in extras:
            keys += [k for k in e if k not in keys and k not in out]
        for k in keys:
            out[k] = np.array([_number(e.get(k)) for e in extras], dtype=float)
        return out

    def backup(self, path: str | Path) -> None:
        """Write a consistent, self-contained copy of the store to the file ``path``.

        Uses SQLite's online backup: committed batches still in the write-ahead log are
        included, and a live writer is not disturbed.

        Parameters
        ----------
        path : path-like
            The new database file (replaced if it exists).
        """
        dest = sqlite3.connect(path, isolation_level=None)
        try:
            self._con.backup(dest)
        except sqlite3.DatabaseError as e:
            if isinstance(e, sqlite3.OperationalError):
                raise  # the destination's (a full disk), not this store's
            raise _damaged(self.path, e) from None
        finally:
            dest.close()

    def close(self) -> None:
        """Commit what is queued and close the connection (merging the write-ahead log into
        the file)."""
        try:
            if not self.readonly:
                self.flush()
                try:
                    self._con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                except sqlite3.Error:  # another connection holds it; SQLite merges it later
                    pass
            self._con.close()
        finally:
            if self._lock is not None:
                self._lock.release()  # the next writer may start

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _describe(x: Any) -> str:
    """A value's type, and an array's dtype and shape, for an error message."""
    if isinstance(x, np.ndarray):
        return f"an array of dtype {x.dtype} and shape {x.shape}"
    return type(x).__name__


def _number(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


def _nan_to_none(x: float) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None
