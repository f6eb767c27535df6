"""A real Dask cluster for tests and benchmarks: `dask scheduler` and `dask worker` processes.

Everything binds 127.0.0.1. Each process runs in its own process group (killed as a group), and
stops by itself if whoever started it dies: the scheduler after ``idle`` seconds without tasks,
the workers ``death_timeout`` seconds after the scheduler is gone.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).parents[1]
DASK = str(Path(sys.executable).parent / "dask")

#: The scheduler settings the user guide recommends for evaluations that may crash their worker.
SCHEDULER_ENV = {
    "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "1",
    "DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION": "1.0",
}


def _env() -> dict[str, str]:
    env = dict(os.environ)
    # The workers import asktell, its plugins and the test modules (objectives by reference).
    path = [str(ROOT), str(ROOT / "plugins"), str(ROOT / "tests")]
    env["PYTHONPATH"] = os.pathsep.join([*path, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.update(SCHEDULER_ENV)
    env.pop("DASK_SCHEDULER_ADDRESS", None)
    return env


class Cluster:
    """A scheduler and ``n_workers`` single-threaded worker processes (each with its nanny).

    Parameters
    ----------
    directory : Path
        Where the scheduler file and the processes' logs go.
    n_workers : int
        ``dask worker`` commands started (one worker process each).
    idle : int
        Seconds without tasks after which the scheduler stops by itself.
    """

    def __init__(self, directory: Path, n_workers: int = 2, idle: int = 120,
                 commands: str | None = None) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.scheduler_file = self.directory / "scheduler.json"
        self.scheduler_file.unlink(missing_ok=True)  # a stale one names a dead scheduler
        self.env = _env()
        self.workers: list[subprocess.Popen[bytes]] = []
        self.address = ""
        if commands is not None:
            # Shell commands that start the scheduler and workers in the background, with their
            # own settings, in ``directory``: one process group, killed as one.
            for key in SCHEDULER_ENV:
                del self.env[key]
            self.env["PATH"] = f"{Path(DASK).parent}{os.pathsep}{self.env['PATH']}"
            self.env["DASK_DISTRIBUTED__SCHEDULER__IDLE_TIMEOUT"] = f"{idle}s"
            self.scheduler = self._spawn("commands", ["bash", "-e", "-c", commands])
            return
        self.scheduler = self._spawn("scheduler", [
            DASK, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
            "--scheduler-file", str(self.scheduler_file), "--idle-timeout", f"{idle}s"])
        for _ in range(n_workers):
            self.add_worker()

    def _spawn(self, name: str, cmd: list[str]) -> subprocess.Popen[bytes]:
        log = (self.directory / f"{name}.log").open("ab")
        try:
            return subprocess.Popen(cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True,
                                    cwd=self.directory)
        finally:
            log.close()

    def add_worker(self) -> subprocess.Popen[bytes]:
        """Start one more ``dask worker`` (one process, one thread)."""
        p = self._spawn(f"worker{len(self.workers)}", [
            DASK, "worker", "--scheduler-file", str(self.scheduler_file), "--host", "127.0.0.1",
            "--nworkers", "1", "--nthreads", "1", "--no-dashboard", "--death-timeout", "10",
            "--memory-limit", "0", "--local-directory", str(self.directory / "work")])
        self.workers.append(p)
        return p

    def wait(self, n_workers: int | None = None, timeout: float = 60.0) -> str:
        """Wait until ``n_workers`` (default: those started) are connected; the address."""
        from distributed import Client

        n = (len(self.workers) or 1) if n_workers is None else n_workers
        deadline = time.monotonic() + timeout
        while not self.scheduler_file.is_file():
            if (self.scheduler.poll() not in (None, 0)) or time.monotonic() > deadline:
                raise RuntimeError(f"the scheduler did not start: {self.logs()}")
            time.sleep(0.05)
        with Client(scheduler_file=str(self.scheduler_file), timeout=timeout,
                    set_as_default=False) as c:
            c.wait_for_workers(n, timeout=max(1.0, deadline - time.monotonic()))
            self.address = str(c.scheduler.address)
        return self.address

    def restart_worker(self, i: int) -> None:
        """Start a new ``dask worker`` in the place of the ``i``-th (killed first)."""
        _killpg(self.workers[i])
        self.workers[i] = self.add_worker()
        self.workers.pop()

    def kill_worker(self, i: int) -> None:
        """SIGKILL the ``i``-th ``dask worker`` command: its nanny and its worker process."""
        _killpg(self.workers[i])

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
                         for p in sorted(self.directory.glob("*.log")))

    def stop(self) -> None:
        for p in [*self.workers, self.scheduler]:
            _killpg(p)

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _killpg(p: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    p.wait()
