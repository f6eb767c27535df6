"""One writer per run directory: an advisory lock held for the life of a writing store.

A writing :class:`~asktell.RunStore` (``asktell run``, ``asktell resume``,
:meth:`asktell.Controller.resume`) holds an exclusive ``fcntl.flock`` on ``RUN_DIR/run.lock``
until it is closed. The kernel releases the lock when the holding process exits for any reason,
SIGKILL and power-off of a container included, so a lock left by a crashed run is never stale:
the next writer simply takes it over (and logs whose it was). The file also names its holder
(pid, host, start time and command line), so that a second writer is refused at once with a
message that says who holds the directory. Readers (``asktell show``, ``export``, the
dashboard) never take the lock.

``flock`` locks are local to one machine, and on network file systems they are only as good
as the file system's own locking (NFSv4 and Lustre honour them; some older NFS set-ups do not).
"""

from __future__ import annotations

import errno
import json
import logging
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

from .store import StoreError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks, a single writer is trusted
    fcntl = None  # type: ignore[assignment]

__all__ = ["LOCK_FILE", "RunLock", "RunLockedError", "holder"]

LOCK_FILE = "run.lock"

log = logging.getLogger(__name__)

#: A reader probing the lock holds it for microseconds; a writer retries this long before it
#: gives up, so that a probe never makes a writer fail.
_RETRY_SECONDS = 0.25


class RunLockedError(StoreError):
    """A run directory is being written by another process (its holder is named).

    Attributes
    ----------
    run_dir : Path
        The run directory.
    info : dict
        What the holder wrote: ``pid``, ``host``, ``started`` (Unix time) and ``command``
        (empty if it could not be read).
    """

    def __init__(self, run_dir: Path, info: dict[str, Any]) -> None:
        self.run_dir, self.info = run_dir, info
        super().__init__(describe(run_dir, info))


def describe(run_dir: str | Path, info: dict[str, Any]) -> str:
    """The one-line message for a run directory held by ``info``'s process.

    Parameters
    ----------
    run_dir : path-like
        The run directory.
    info : dict
        The holder as written in the lock file (see :class:`RunLockedError`).

    Returns
    -------
    str
    """
    started = info.get("started")
    since = (f" since {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(started))}"
             if isinstance(started, (int, float)) else "")
    who = (f"pid {info.get('pid', '?')} on host {info.get('host', '?')}{since}"
           if info else "another process")
    command = info.get("command") or "another 'asktell run' or 'asktell resume'"
    if info.get("host") == socket.gethostname() and not _alive(info.get("pid")):
        # forked children (worker processes) inherit the lock with its descriptor
        return (f"{run_dir} is still locked by processes left over from pid {info.get('pid')} "
                f"({command}), which is no longer running: end its worker processes (e.g. "
                f"`fuser {Path(run_dir) / LOCK_FILE}` lists them), then try again")
    return (f"{run_dir} is in use by {who} ({command}); wait for it to finish or stop it, "
            "then try again (a run directory has one writer)")


def _alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return True  # unknown: assume the holder runs
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process
        return True
    return True


def _command() -> str:
    """This process's command line, short (``asktell resume runs/x``)."""
    argv = [*sys.argv] or ["python"]
    name = Path(argv[0]).name
    argv[0] = "asktell" if name == "cli.py" else name
    return " ".join(argv)[:200]


def _read(fd: int) -> dict[str, Any]:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        data = os.read(fd, 65536)
        info = json.loads(data.decode("utf-8")) if data.strip() else {}
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


def _flock(fd: int, mode: int) -> bool:
    """Try a non-blocking flock; False when another open file description holds it."""
    if fcntl is None:  # pragma: no cover
        return True
    try:
        fcntl.flock(fd, mode | fcntl.LOCK_NB)
    except OSError as e:
        if e.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            return False
        raise
    return True


class RunLock:
    """The exclusive lock of one run directory, held until :meth:`release` (or process exit).

    Use :meth:`acquire`; a :class:`~asktell.RunStore` opened for writing does so itself.

    Parameters
    ----------
    run_dir : path-like
        The run directory.
    fd : int
        The open, locked lock file.
    """

    def __init__(self, run_dir: str | Path, fd: int) -> None:
        self.run_dir = Path(run_dir)
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, run_dir: str | Path) -> RunLock:
        """Take the run directory's lock, or fail at once naming its holder.

        Parameters
        ----------
        run_dir : path-like
            An existing run directory.

        Returns
        -------
        RunLock

        Raises
        ------
        RunLockedError
            If another process (or another store in this process) holds the lock.
        """
        run_dir = Path(run_dir)
        fd = os.open(run_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            deadline = time.monotonic() + _RETRY_SECONDS
            while not _flock(fd, fcntl.LOCK_EX if fcntl else 0):
                if time.monotonic() > deadline:
                    raise RunLockedError(run_dir, _read(fd))
                time.sleep(0.01)
            previous = _read(fd)
            if previous.get("pid") is not None:
                log.info("%s: taking over the lock left by pid %s on host %s (no longer "
                         "running)", run_dir, previous.get("pid"), previous.get("host"))
            info = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time(),
                    "command": _command()}
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(info).encode("utf-8"), 0)
        except BaseException:
            os.close(fd)
            raise
        return cls(run_dir, fd)

    @property
    def held(self) -> bool:
        """Whether this object still holds the lock."""
        return self._fd is not None

    def release(self) -> None:
        """Clear the holder's name and release the lock (idempotent)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.ftruncate(fd, 0)
        except OSError:  # a read-only remount: the lock still goes with the descriptor
            pass
        os.close(fd)

    def __del__(self) -> None:
        try:
            self.release()
        except Exception:  # interpreter shutdown: the descriptor closes with the process
            pass


def holder(run_dir: str | Path) -> dict[str, Any] | None:
    """Who writes a run directory now, without taking its lock for more than an instant.

    Parameters
    ----------
    run_dir : path-like
        A run directory.

    Returns
    -------
    dict or None
        The holder's ``pid``, ``host``, ``started`` and ``command`` (an empty dict when the
        holder did not say), or None when no process holds the lock.
    """
    try:
        fd = os.open(Path(run_dir) / LOCK_FILE, os.O_RDONLY)
    except OSError:  # no lock file: never written by a locking asktell, or not a run
        return None
    try:
        if fcntl is None or _flock(fd, fcntl.LOCK_SH):
            return None  # closing the descriptor releases the probe's shared lock
        return _read(fd)
    finally:
        os.close(fd)
