"""DaskEvaluator against a real cluster: `dask scheduler` and `dask worker` processes on 127.0.0.1.

A module-scoped cluster (a scheduler and two single-threaded workers) serves the tests that leave
it intact; the tests that kill workers start their own.
"""

import csv
import re
import subprocess
import sys
import threading
import time
import types
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("distributed")

import dask_objectives as obj
from dask_cluster import ROOT, Cluster

import asktell
from asktell import ClusterLostError, DaskEvaluator
from asktell.cli import main
from asktell.dask_evaluator import ObjectiveLoadError

TESTS = Path(__file__).parent


def guide():
    """The shell, TOML and Python blocks of the user guide's "Running on a cluster"."""
    text = (ROOT / "docs" / "user-guide.md").read_text()
    start = text.index("## Running on a cluster\n")
    end = text.find("\n## ", start + 1)
    section = text[start:end]
    return tuple(re.findall(rf"```{lang}\n(.*?)```", section, flags=re.S)[0]
                 for lang in ("bash", "toml", "python"))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """The user guide's cluster (a scheduler, two single-threaded workers), started by the
    guide's own commands (all but `asktell run`, which a test runs)."""
    shell = guide()[0]
    start = "\n".join(line for line in shell.splitlines() if not line.startswith("asktell "))
    with Cluster(tmp_path_factory.mktemp("dask"), commands=start) as c:
        c.wait(2)
        yield c


@pytest.fixture
def own_cluster(tmp_path, request):
    """A cluster for one test that kills its workers (two, or ``@pytest.mark.parametrize``'d
    ``n_workers``)."""
    n = getattr(request, "param", 2)
    with Cluster(tmp_path / "cluster", n_workers=n) as c:
        c.wait()
        yield c


def history(run_dir):
    with open(Path(run_dir) / "history.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def config(tmp_path, evaluator, problem='name = "sphere"', iterations=3,
           popsize=6):
    cfg = tmp_path / "dask.toml"
    cfg.write_text(
        f"[problem]\n{problem}\n"
        f'[optimiser]\nname = "xnes"\nx0 = [1.0, -1.0]\nseed = 3\npopsize = {popsize}\n'
        f"[evaluator]\n{evaluator}\n"
        f"[stop]\nmax_iterations = {iterations}\n[run]\nplot = false\n")
    return cfg


# ---------------------------------------------------------------------------- an intact cluster


def test_user_guide_cluster_section_runs(cluster, monkeypatch):
    """The rest of "Running on a cluster" as written: `asktell run` on its TOML, and its Python."""
    shell, toml, python = guide()
    (cluster.directory / "cluster.toml").write_text(toml)
    run = "\n".join(line for line in shell.splitlines() if line.startswith("asktell "))
    assert run
    done = subprocess.run(["bash", "-e", "-c", run], cwd=cluster.directory, env=cluster.env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    (run_dir,) = (cluster.directory / "runs").iterdir()
    rows = history(run_dir)
    assert len(rows) == 20 * 6 and not any(r["error"] for r in rows)
    # The Python example; its function goes to the workers by value (they cannot import it).
    import cloudpickle

    module = types.ModuleType("docs_cluster")
    monkeypatch.setitem(sys.modules, "docs_cluster", module)
    monkeypatch.chdir(cluster.directory)
    cloudpickle.register_pickle_by_value(module)
    try:
        exec(compile(python, "user-guide.md", "exec"), module.__dict__)
    finally:
        cloudpickle.unregister_pickle_by_value(module)
    assert module.opt.evaluations == 50 * 6 and module.opt.fbest() < 1.0


def test_values_in_order_and_a_failure_recorded(cluster):
    with DaskEvaluator(obj.fragile, scheduler=cluster.address) as ev:
        r = ev(np.array([[1.0], [-2.0], [3.0], [4.0]]))
        np.testing.assert_array_equal(r[[0, 2, 3]], [1.0, 9.0, 16.0])
        assert np.isnan(r[1])
        (err,) = r.errors
        assert (err.index, err.type, err.message) == (1, "ValueError", "negative input -2.0")
        assert "fragile" in err.traceback  # the worker's traceback came back
        # streaming under the caller's keys, and cheap items chunked: every value once
        xs = np.arange(300.0)[:, None]
        ev.submit(xs, keys=range(1000, 1300))
        got = {}
        while ev.in_flight:
            for f in ev.results(timeout=30):
                assert f.key not in got
                got[f.key] = f.value
        assert got == {1000 + i: float(i) ** 2 for i in range(300)}


def test_timeout_fails_the_item_and_the_batch_goes_on(cluster):
    with DaskEvaluator(obj.sleepy, scheduler=cluster.address, timeout=1.0) as ev:
        t0 = time.monotonic()
        r = ev([0.05, 30.0, 0.05, 0.05])
        elapsed = time.monotonic() - t0
    assert r[[0, 2, 3]].tolist() == [0.05, 0.05, 0.05] and np.isnan(r[1])
    (err,) = r.errors
    assert err.index == 1 and err.type == "TimeoutError"
    assert "over the timeout of 1 s" in err.message
    assert elapsed < 20  # did not wait for the 30 s evaluation


@pytest.mark.parametrize("where", ["file", "address", "env"])
def test_run_from_a_config(cluster, tmp_path, monkeypatch, where):
    if where == "env":
        monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", cluster.address)
        line = ""
    else:
        target = cluster.scheduler_file if where == "file" else cluster.address
        line = f'scheduler = "{target}"'
    cfg = config(tmp_path, f'name = "dask"\n{line}')
    result = asktell.run(cfg, out=tmp_path / "run", progress=False)
    rows = history(result.run_dir)
    assert result.iterations == 3 and len(rows) == 18
    for row in rows:  # every stored value is the sphere of its candidate
        assert float(row["value"]) == pytest.approx(float(row["x0"]) ** 2 + float(row["x1"]) ** 2)


def test_an_objective_the_workers_cannot_import_is_a_clear_error(cluster, tmp_path,
                                                                 monkeypatch):
    import importlib.util

    (tmp_path / "only_here.py").write_text("def f(x):\n    return 1.0\n")
    spec = importlib.util.spec_from_file_location("only_here", tmp_path / "only_here.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setitem(sys.modules, "only_here", module)  # pickled by reference
    with DaskEvaluator(module.f, scheduler=cluster.address) as ev:
        with pytest.raises(ObjectiveLoadError, match="No module named 'only_here'"):
            ev([1, 2])
        assert ev.in_flight == 0


def test_an_asynchronous_run_keeps_every_worker_busy(cluster, tmp_path):
    with DaskEvaluator(obj.fragile, scheduler=cluster.address) as ev:
        assert ev.n_workers == 2  # what an asynchronous run keeps in flight by default
    calls = tmp_path / "calls"
    calls.mkdir()
    problem = (f'callable = "dask_objectives:TimedSphere"\npath = "{TESTS}"\n'
               f'calls = "{calls}"\ndelay = 0.1')
    cfg = config(tmp_path, f'name = "dask"\nscheduler = "{cluster.address}"', problem=problem)
    result = asktell.run(cfg, out=tmp_path / "run", progress=False,
                         overrides=["run.mode=async", "stop.max_evaluations=16"])
    assert result.evaluations >= 16
    for row in history(result.run_dir):
        assert float(row["value"]) == pytest.approx(float(row["x0"]) ** 2 + float(row["x1"]) ** 2)
    spans = [tuple(map(float, p.read_text().split())) for p in calls.iterdir()]
    assert len(spans) >= result.evaluations
    overlapping = max(sum(a <= t < b for a, b in spans) for t, _ in spans)
    assert overlapping == 2  # both workers evaluated at once


def test_no_scheduler_says_what_to_set(monkeypatch):
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    with pytest.raises(ValueError, match="set DASK_SCHEDULER_ADDRESS"):
        DaskEvaluator(obj.fragile)


def test_cli_unreachable_scheduler_is_a_config_error(tmp_path, capsys):
    cfg = config(tmp_path, 'name = "dask"\nscheduler = "tcp://127.0.0.1:9"\nconnect_timeout = 2')
    t0 = time.monotonic()
    code = main(["run", str(cfg), "--out", str(tmp_path / "run"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and f"{cfg}: evaluator.scheduler: " in err, err
    assert "cannot be reached within 2 s" in err and "Traceback" not in err
    assert time.monotonic() - t0 < 30
    assert not (tmp_path / "run").exists()


# Last on the module's cluster: its workers die (their nannies start new ones).
def test_worker_killing_candidate_fails_alone(cluster):
    with DaskEvaluator(obj.exit_on_three, scheduler=cluster.address) as ev:
        r = ev([0, 1, 2, 3, 4, 5])
        assert r[[0, 1, 2, 4, 5]].tolist() == [0.0, 1.0, 2.0, 4.0, 5.0] and np.isnan(r[3])
        (err,) = r.errors
        assert err.index == 3 and err.type == "KilledWorker"
        assert "2 different workers, but all those workers died" in err.message
        # the nannies restart the workers: the next batch works
        assert ev([6, 7, 8]).tolist() == [6.0, 7.0, 8.0]
        assert ev.killed_workers == 1
    cluster.wait(2)



# ---------------------------------------------------------------------------- workers killed


def test_worker_killed_mid_batch_nothing_lost_or_doubled(own_cluster, tmp_path):
    calls = tmp_path / "calls"
    calls.mkdir()
    problem = (f'callable = "dask_objectives:CountedSphere"\npath = "{TESTS}"\n'
               f'calls = "{calls}"\ndelay = 0.2')
    cfg = config(tmp_path, f'name = "dask"\nscheduler = "{own_cluster.scheduler_file}"',
                 problem=problem, iterations=2, popsize=10)

    def kill_when_busy():
        while len(list(calls.iterdir())) < 4:
            time.sleep(0.02)
        own_cluster.kill_worker(0)  # its nanny too: the worker does not come back

    killer = threading.Thread(target=kill_when_busy, daemon=True)
    killer.start()
    result = asktell.run(cfg, out=tmp_path / "run", progress=False)
    killer.join(timeout=5)
    assert own_cluster.workers[0].poll() is not None  # the kill happened during the run
    rows = history(result.run_dir)
    assert len(rows) == 20 and not any(r["error"] for r in rows)
    assert len({(r["iteration"], r["index"]) for r in rows}) == 20
    for row in rows:
        assert float(row["value"]) == pytest.approx(float(row["x0"]) ** 2 + float(row["x1"]) ** 2)
    # at most the evaluations running (or finished, not yet fetched) on the dead worker again
    n_calls = len(list(calls.iterdir()))
    assert 20 <= n_calls <= 22, n_calls


@pytest.mark.parametrize("own_cluster", [1], indirect=True)
def test_all_workers_lost_is_a_clear_error_within_the_timeout(own_cluster):
    with DaskEvaluator(obj.sleepy, scheduler=own_cluster.address, lost_timeout=2) as ev:
        ev.submit([0.5] * 20)
        assert ev.results(timeout=30)  # the workers run
        for i in range(len(own_cluster.workers)):
            own_cluster.kill_worker(i)
        t0 = time.monotonic()
        with pytest.raises(ClusterLostError) as info:
            while ev.in_flight:
                ev.results()
        waited = time.monotonic() - t0
    assert 2 <= waited < 2 + 15
    msg = str(info.value)
    assert own_cluster.address in msg and "no workers for 2 s" in msg
    # losing the scheduler ends a batch at once, whatever lost_timeout is
    with DaskEvaluator(obj.sleepy, scheduler=own_cluster.address, lost_timeout=300) as ev:
        ev.submit([0.5] * 4)  # no worker runs them
        own_cluster.stop()
        t0 = time.monotonic()
        with pytest.raises(ClusterLostError, match="lost the connection to the Dask scheduler"):
            while ev.in_flight:
                ev.results()
        assert time.monotonic() - t0 < 60
