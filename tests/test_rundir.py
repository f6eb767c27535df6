"""Run directories: one writer (the lock), a stranger's run runs nothing (consent before resume
imports code), damaged stores (one-line errors, ``asktell recover``), sane states on load, and
safe copies (``asktell export --copy``)."""

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import asktell
from asktell import RunLockedError, RunStore, serialization
from asktell.cli import main
from asktell.lock import holder
from asktell.recover import copy_run, recover
from asktell.store import StoreError
from asktell.trust import UntrustedRunError

SPHERE = """
[problem]
name = "sphere"

[optimiser]
name = "xnes"
x0 = [1.0, -0.5, 2.0, 0.3, 1.0, 1.0, 0.5, -1.0, 0.2, 0.1]
sigma0 = 0.5
popsize = 40
seed = 5

[stop]
max_iterations = {n}
optimiser_stop = false

[run]
plot = false
progress = false
checkpoint_every = 25
"""

# An objective of the user's own (imported through problem.callable) that logs each call's pid.
LOGGED = """
import os, time
import numpy as np


class Logged:
    def __init__(self, log, delay=0.0):
        self.log, self.delay = log, delay

    def __call__(self, x):
        time.sleep(self.delay)
        with open(self.log, "a") as fh:
            fh.write(f"{os.getpid()}\\n")
        return float(np.sum(np.asarray(x) ** 2))
"""

LOGGED_CONFIG = """
[problem]
callable = "logged_problem:Logged"
path = "{here}"
log = "{here}/calls.log"
delay = {delay}

[optimiser]
name = "xnes"
x0 = [1.0, -0.5]
sigma0 = 0.5
seed = {seed}

[stop]
max_iterations = {n}
optimiser_stop = false

[run]
plot = false
progress = false
"""


def _sphere(tmp_path, name, n=60):
    cfg = tmp_path / f"{name}.toml"
    cfg.write_text(SPHERE.format(n=n))
    asktell.run(cfg, out=tmp_path / name, progress=False)
    return tmp_path / name


def _logged_config(tmp_path, delay=0.0, n=30, seed=1, name="logged.toml"):
    (tmp_path / "logged_problem.py").write_text(LOGGED)
    cfg = tmp_path / name
    cfg.write_text(LOGGED_CONFIG.format(here=tmp_path, delay=delay, n=n, seed=seed))
    return cfg


def _count(run_dir):
    try:
        con = sqlite3.connect(f"file:{run_dir / 'run.sqlite'}?mode=ro", uri=True, timeout=1)
        try:
            return con.execute("SELECT COUNT(*) FROM batches").fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error:
        return 0


def _meta(run_dir):
    with RunStore.open(run_dir, readonly=True) as s:
        return s.meta(), s.totals()


def _set_meta(run_dir, **items):
    """Edit a stored meta entry by hand, as a user (or an attacker) could."""
    con = sqlite3.connect(run_dir / "run.sqlite")
    con.executemany("UPDATE meta SET value = ? WHERE key = ?",
                    [(serialization.dumps(v), k) for k, v in items.items()])
    con.commit()
    con.close()


def _wait(cond, what, timeout=60):
    deadline = time.time() + timeout
    while not cond():
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def _cli(*argv):
    return [sys.executable, "-m", "asktell.cli", *map(str, argv)]


# ---------------------------------------------------------------- one writer


def test_a_second_writer_is_refused_naming_the_holder(tmp_path):
    store = RunStore.create(tmp_path / "r", {})
    assert holder(tmp_path / "r")["pid"] == os.getpid()
    with pytest.raises(RunLockedError) as info:
        RunStore.open(tmp_path / "r")
    msg = str(info.value)
    assert f"in use by pid {os.getpid()} on host {socket.gethostname()} since " in msg
    assert "\n" not in msg
    with RunStore.open(tmp_path / "r", readonly=True) as reader:  # readers never lock
        assert reader.totals()["iterations"] == 0
    store.close()
    assert holder(tmp_path / "r") is None
    RunStore.open(tmp_path / "r").close()  # free again


def test_two_resumes_the_second_refused_before_evaluating_and_a_killed_lock_taken_over(
        tmp_path, capsys):
    cfg = _logged_config(tmp_path, delay=0.02, n=30)
    run_dir = tmp_path / "run"
    log = tmp_path / "calls.log"
    # a run killed with SIGKILL leaves its lock file behind, naming a dead process
    first = subprocess.Popen(_cli("run", cfg, "--out", run_dir, "--no-progress"),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait(lambda: _count(run_dir) >= 2, "the run's first batches")
    first.kill()
    first.wait()
    assert str(first.pid) in (run_dir / "run.lock").read_text()
    assert holder(run_dir) is None  # the kernel released it with the process
    # a resume takes the stale lock over ...
    a = subprocess.Popen(_cli("resume", run_dir, "--no-progress"),
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        n0 = _count(run_dir)
        _wait(lambda: (holder(run_dir) or {}).get("pid") == a.pid and _count(run_dir) > n0,
              "the first resume to hold the lock and commit")
        before = _meta(run_dir)[0]
        # ... and a second resume is refused at once, with one line, evaluating nothing
        code = main(["resume", str(run_dir), "--no-progress", "--set", "stop.max_iterations=99"])
        err = capsys.readouterr().err
        assert code == 1, err
        assert err.count("\n") == 1 and "Traceback" not in err
        assert f"in use by pid {a.pid} on host {socket.gethostname()}" in err
        assert "asktell resume" in err
        after = _meta(run_dir)[0]
        assert str(os.getpid()) not in log.read_text().split()
        assert after["status"] == before["status"] == "running"
        assert after["config"] == before["config"]  # not the loser's stop rule
    finally:
        a.kill()
        a.wait()
    # the killed resume's lock is taken over too, and the run ends normally
    assert main(["resume", str(run_dir), "--no-progress"]) == 0
    meta, totals = _meta(run_dir)
    assert meta["status"] == "finished" and totals["iterations"] == 30
    assert holder(run_dir) is None


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_lock_kept_by_forked_workers_of_a_dead_run_says_so(tmp_path):
    RunStore.create(tmp_path / "r", {}).close()
    code = ("import os, time\n"
            "from asktell import RunStore\n"
            f"store = RunStore.open({str(tmp_path / 'r')!r})\n"
            "if os.fork() == 0:\n"
            "    print('child', os.getpid(), flush=True)\n"
            "    time.sleep(60)\n"
            "    os._exit(0)\n"
            "time.sleep(60)\n")
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    child = None
    try:
        child = int(parent.stdout.readline().split()[1])
        parent.kill()
        parent.wait()
        with pytest.raises(RunLockedError, match=f"left over from pid {parent.pid}.*no longer "
                           "running: end its worker processes"):
            RunStore.open(tmp_path / "r")
    finally:
        parent.kill()
        if child is not None:
            os.kill(child, signal.SIGKILL)  # the orphaned worker this test made
    _wait(lambda: holder(tmp_path / "r") is None, "the orphan to end")
    RunStore.open(tmp_path / "r").close()


# ---------------------------------------------------------------- consent before importing


def test_a_hand_edited_callable_runs_nothing_without_consent(tmp_path, capsys):
    run_dir = _sphere(tmp_path, "run", n=3)
    target = tmp_path / "pwned"
    meta, totals = _meta(run_dir)
    cfg = meta["config"]
    cfg["problem"] = {"callable": "os:system", "command": f"touch {target}"}
    _set_meta(run_dir, config=cfg)
    code = main(["resume", str(run_dir), "--no-progress", "--set", "stop.max_iterations=5"])
    err = capsys.readouterr().err
    assert code == 2 and not target.exists(), err
    assert "problem.callable = 'os:system'" in err and "--trust" in err
    assert err.count("\n") == 1 and "Traceback" not in err
    with pytest.raises(UntrustedRunError, match="os:system"):
        asktell.resume(run_dir)
    assert not target.exists()
    assert _meta(run_dir) == (meta, totals)  # nothing written
    # show says what resume would import
    assert main(["show", str(run_dir), "--no-plot"]) == 0
    out = capsys.readouterr().out
    assert "resume runs:   problem.callable = os:system (NOT run by you" in out
    assert asktell.summary(run_dir)["trusted"] is False


def test_consent_by_flag_or_own_config_and_own_runs_need_none(tmp_path, monkeypatch, capsys):
    cfg = _logged_config(tmp_path, n=3)
    run_dir = tmp_path / "run"
    asktell.run(cfg, out=run_dir, progress=False)
    log = tmp_path / "calls.log"
    assert asktell.summary(run_dir)["trusted"] is True  # run by this user: no flag needed
    assert main(["resume", str(run_dir), "--no-progress", "--set", "stop.max_iterations=4"]) == 0
    # the same directory met by another user (another signing key) is a stranger's run
    monkeypatch.setenv("ASKTELL_TRUST_KEY", str(tmp_path / "other.key"))
    calls = log.read_text()
    code = main(["resume", str(run_dir), "--no-progress", "--set", "stop.max_iterations=5"])
    assert code == 2 and "problem.callable = 'logged_problem:Logged'" in capsys.readouterr().err
    assert log.read_text() == calls
    # their own configuration file for the same run is consent ...
    assert main(["resume", str(run_dir), "--no-progress", "--config", str(cfg),
                 "--set", "stop.max_iterations=5"]) == 0
    assert _meta(run_dir)[1]["iterations"] == 5
    # ... but not one for another run
    other = _logged_config(tmp_path, n=3, seed=2, name="other.toml")
    monkeypatch.setenv("ASKTELL_TRUST_KEY", str(tmp_path / "third.key"))
    code = main(["resume", str(run_dir), "--no-progress", "--config", str(other)])
    err = capsys.readouterr().err
    assert code == 2 and "optimiser.seed" in err and "describes another run" in err, err
    # --trust is consent, and signs the run: the next resume needs no flag
    assert main(["resume", str(run_dir), "--no-progress", "--trust",
                 "--set", "stop.max_iterations=6"]) == 0
    assert main(["resume", str(run_dir), "--no-progress", "--set", "stop.max_iterations=7"]) == 0
    assert _meta(run_dir)[1]["iterations"] == 7


def test_shipped_examples_name_only_registered_code_or_own_runs():
    """``asktell resume`` of a run of a shipped example needs no flag: each names only
    registered plugins, or (the cINN's simulator) is signed when the user runs it."""
    import tomllib

    from asktell.trust import code_references

    refs = {p.name: code_references(tomllib.loads(p.read_text()))
            for p in sorted((Path(__file__).parents[1] / "examples").glob("*.toml"))}
    assert refs["logistic_xnes.toml"] == [] and refs["organ_qm9.toml"] == []
    assert all(all(v.startswith("asktell_") for _, v in r) for r in refs.values()), refs


# ---------------------------------------------------------------- damaged stores


def _page_of(db, table):
    con = sqlite3.connect(db)
    page, = con.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()
    size, = con.execute("PRAGMA page_size").fetchone()
    con.close()
    return (page - 1) * size, size


DAMAGES = [("truncated at 35%", 0.35), ("truncated at 70%", 0.70), ("truncated at 95%", 0.95),
           ("overwritten at 20%", 0.2), ("overwritten at 50%", 0.5),
           ("checkpoint overwritten", "checkpoint")]


@pytest.fixture(scope="module")
def sphere_runs(tmp_path_factory):
    """A finished 60-batch run, and the same run to 65 batches (the reference)."""
    tmp = tmp_path_factory.mktemp("sphere")
    return _sphere(tmp, "run", 60), _sphere(tmp, "ref", 65)


@pytest.mark.parametrize("damage, where", DAMAGES, ids=[d[0] for d in DAMAGES])
def test_a_damaged_store_gives_one_line_and_recover_keeps_every_intact_batch(
        tmp_path, capsys, sphere_runs, damage, where):
    run, ref = sphere_runs
    run_dir = tmp_path / "run"
    shutil.copytree(run, run_dir)
    db = run_dir / "run.sqlite"
    size = db.stat().st_size
    with open(db, "r+b") as fh:
        if isinstance(where, str):
            offset, page = _page_of(db, where)
            fh.seek(offset)
            fh.write(b"\xa5" * page)
        elif damage.startswith("truncated"):
            fh.truncate(int(size * where))
        else:
            fh.seek(int(size * where))
            fh.write(np.random.default_rng(0).bytes(3000))
    # every command says so in one line, naming the file and `asktell recover`
    failed = 0
    for argv in (["show", run_dir, "--no-plot"], ["export", run_dir, tmp_path / "h.csv"],
                 ["export", run_dir, "--copy", tmp_path / "copy"]):
        code = main([str(a) for a in argv])
        err = capsys.readouterr().err
        if code:
            failed += argv[0] == "show" or argv[-1] == tmp_path / "h.csv"
            assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
            assert f"{db}: " in err and f"asktell recover {run_dir}" in err, err
    assert failed, "the damage must be met (export reads every batch)"
    with pytest.raises(StoreError, match="asktell recover"):
        with RunStore.open(run_dir, readonly=True) as s:
            s.latest_checkpoint()
            list(s.batches())

    assert main(["recover", str(run_dir), "--out", str(tmp_path / "rec")]) == 0
    assert "recovered " in capsys.readouterr().out
    rec = tmp_path / "rec"
    with RunStore.open(rec, readonly=True) as s, RunStore.open(ref, readonly=True) as r:
        kept = list(s.batches())
        want = {b.iteration: b for b in r.batches()}
        assert s.get_meta("status") in ("finished", "interrupted")
        checkpoint = s.latest_checkpoint()
    assert all(serialization.plain_equal(b.candidates, want[b.iteration].candidates)
               and np.array_equal(b.values, want[b.iteration].values) for b in kept)
    if damage.startswith("overwritten"):  # one damaged page loses a batch or two, not the rest
        assert len(kept) >= 56
    if damage.startswith("checkpoint"):  # no checkpoint: every batch up to the first gap
        assert checkpoint is None and len(kept) >= 56
        assert [b.iteration for b in kept] == list(range(1, len(kept) + 1))
    # the recovered directory shows, exports and resumes like any other
    assert main(["show", str(rec), "--no-plot"]) == 0
    assert main(["export", str(rec), str(tmp_path / "h.csv")]) == 0
    capsys.readouterr()
    assert main(["resume", str(rec), "--no-progress", "--set", "stop.max_iterations=65"]) == 0
    with RunStore.open(rec, readonly=True) as s:
        resumed = {b.iteration: b for b in s.batches()}
    assert set(range(61, 66)) <= set(resumed)
    for i, b in resumed.items():  # the resumed run is the uninterrupted one
        assert serialization.plain_equal(b.candidates, want[i].candidates), i
        assert np.array_equal(b.values, want[i].values), i


def test_recover_reports_what_it_kept_and_lost(tmp_path, sphere_runs):
    run, _ = sphere_runs
    shutil.copytree(run, tmp_path / "run")
    db = tmp_path / "run" / "run.sqlite"
    with open(db, "r+b") as fh:
        fh.truncate(db.stat().st_size // 2)
    r = recover(tmp_path / "run")
    assert r.out == tmp_path / "run-recovered" and r.checkpoint == 60 and r.resumable
    assert r.last_seen == 60 and r.kept + len(r.lost) == 60 and 0 < r.kept < 60
    assert f"recovered {r.kept} batches" in r.describe() and f"{len(r.lost)} lost" in r.describe()
    with pytest.raises(FileExistsError, match="not empty"):
        recover(tmp_path / "run")  # never over an existing directory
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "run.sqlite").write_bytes(b"\0" * 10000)
    with pytest.raises(StoreError, match=r"nothing can be recovered|not an asktell run store"):
        recover(tmp_path / "junk", tmp_path / "junk-rec")
    assert not (tmp_path / "junk-rec").exists()


def test_recover_keeps_the_finished_evaluations_of_the_running_batch(tmp_path, sphere_runs):
    run, _ = sphere_runs
    shutil.copytree(run, tmp_path / "run")
    with RunStore.open(tmp_path / "run") as s:  # as a run killed during batch 61 leaves it
        s.add_evaluations(61, [(i, np.full(10, float(i)), float(i), None, None, 0.1)
                               for i in range(3)])
        s.add_evaluations(99, [(0, np.zeros(10), 0.0, None, None, 0.1)])  # not the next batch
    recover(tmp_path / "run", tmp_path / "rec")
    with RunStore.open(tmp_path / "rec", readonly=True) as s:
        kept = s.evaluations()
    assert [(e.iteration, e.index, e.value) for e in kept] == [(61, 0, 0.0), (61, 1, 1.0),
                                                               (61, 2, 2.0)]


def test_recover_reads_a_store_of_the_older_schema(tmp_path):
    shutil.copytree(Path(__file__).parent / "data" / "store_v1_xnes", tmp_path / "old")
    r = recover(tmp_path / "old", tmp_path / "rec")
    assert (r.kept, r.lost, r.checkpoint) == (12, [], 12)
    assert sorted(p.name for p in (tmp_path / "old").iterdir()) == ["run.sqlite"]  # untouched
    asktell.resume(tmp_path / "rec", overrides=["stop.max_iterations=14"], progress=False)
    assert asktell.summary(tmp_path / "rec")["iterations"] == 14


# ---------------------------------------------------------------- sane states


@pytest.mark.parametrize("key, value, msg", [
    ("mu", np.array([np.nan] * 10), "'method.mu' must hold finite numbers"),
    ("mu", np.full(10, 1e300), "'method.mu' must hold finite numbers"),
    ("iterations", -5, "'iterations' must be a non-negative integer"),
])
def test_an_impossible_stored_state_is_refused_and_writes_nothing(tmp_path, capsys,
                                                                  sphere_runs, key, value, msg):
    run, _ = sphere_runs
    run_dir = tmp_path / "run"
    shutil.copytree(run, run_dir)
    con = sqlite3.connect(run_dir / "run.sqlite")
    state = serialization.loads(con.execute("SELECT optimiser FROM checkpoint").fetchone()[0])
    if key == "iterations":
        state[key] = value
    else:
        state["method"][key] = value
    con.execute("UPDATE checkpoint SET optimiser = ?", (serialization.dumps(state),))
    con.commit()
    con.close()
    before = _meta(run_dir)
    code = main(["resume", str(run_dir), "--no-progress", "--set", "stop.max_iterations=70"])
    err = capsys.readouterr().err
    assert code == 2 and msg in err and "Traceback" not in err, err
    assert _meta(run_dir) == before  # no batch written, status untouched


def test_a_checkpoint_of_another_iteration_is_refused(tmp_path, capsys, sphere_runs):
    run, _ = sphere_runs
    shutil.copytree(run, tmp_path / "run")
    con = sqlite3.connect(tmp_path / "run" / "run.sqlite")
    con.execute("UPDATE checkpoint SET iteration = -3")
    con.commit()
    con.close()
    code = main(["resume", str(tmp_path / "run"), "--no-progress",
                 "--set", "stop.max_iterations=70"])
    err = capsys.readouterr().err
    assert code == 1 and "checkpoint of batch -3 holds a state after 60 batches" in err, err
    assert _meta(tmp_path / "run")[1]["iterations"] == 60


# ---------------------------------------------------------------- copies


def test_copy_of_a_live_run_keeps_the_batches_in_its_write_ahead_log(tmp_path, capsys):
    run_dir = tmp_path / "live"
    store = RunStore.create(run_dir, {"status": "running"})
    for i in range(1, 6):
        store.append(iteration=i, candidates=np.full((3, 2), float(i)), values=np.arange(3.0),
                     errors=[], batch_best=0.0, best=0.0, t_ask=0.0, t_eval=0.0, t_tell=0.0,
                     elapsed=float(i), controller_state=None)
    try:
        # a crashed run's -wal holds its latest batches: recover reads them
        (tmp_path / "crashed").mkdir()
        for name in ("run.sqlite", "run.sqlite-wal"):
            shutil.copy(run_dir / name, tmp_path / "crashed" / name)
        assert recover(tmp_path / "crashed").kept == 5
        # copying run.sqlite alone loses what is still in run.sqlite-wal: detected, warned
        (tmp_path / "naive").mkdir()
        shutil.copy(run_dir / "run.sqlite", tmp_path / "naive" / "run.sqlite")
        s = asktell.summary(tmp_path / "naive")
        assert s["iterations"] == 0 and "run.sqlite-wal" in s["warnings"][0]
        assert main(["show", str(tmp_path / "naive"), "--no-plot"]) == 0
        assert "warning:" in capsys.readouterr().err
        # the online backup copies everything, into one file, while the writer goes on
        assert main(["export", str(run_dir), "--copy", str(tmp_path / "copy")]) == 0
        assert asktell.summary(run_dir)["writer"]["pid"] == os.getpid()
    finally:
        store.close()
    copy = tmp_path / "copy"
    assert sorted(p.name for p in copy.iterdir()) == ["run.sqlite"]
    s = asktell.summary(copy)
    assert s["iterations"] == 5 and s["status"] == "interrupted" and s["warnings"] == []
    assert _meta(copy)[0]["copied_from"] == str(run_dir.resolve())


def test_a_copied_run_resumes(tmp_path, sphere_runs):
    run, ref = sphere_runs
    copy_run(run, tmp_path / "copy")
    assert (tmp_path / "copy" / "history.csv").exists()
    asktell.resume(tmp_path / "copy", overrides=["stop.max_iterations=65"], progress=False)
    with RunStore.open(tmp_path / "copy", readonly=True) as a, \
            RunStore.open(ref, readonly=True) as b:
        assert [x.values.tolist() for x in a.batches()] == [x.values.tolist() for x in b.batches()]
    with pytest.raises(FileExistsError, match="not empty"):
        copy_run(run, tmp_path / "copy")
