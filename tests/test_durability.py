"""Per-evaluation durability: a killed run repeats only the evaluations that were running, ends
identical to an uninterrupted run, and leaves no worker processes or shared-memory files behind."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import asktell
from asktell import serialization
from asktell.store import RunStore

HERE = Path(__file__).parent
N_WORKERS = 2
POPSIZE = 10
ITERATIONS = 4

CONFIG = """
[problem]
callable = "slow_problem:LoggedSphere"
path = "{here}"
log = "{log}"
delay = {delay}

[evaluator]
name = "parallel"
n_workers = {workers}

[optimiser]
name = "xnes"
x0 = [1.0, -0.5, 2.0]
sigma0 = 0.5
popsize = {popsize}
seed = 5

[stop]
max_iterations = {iterations}
optimiser_stop = false

[run]
plot = false
"""


def _config(tmp_path, name, delay):
    log = tmp_path / f"{name}.log"
    cfg = tmp_path / f"{name}.toml"
    cfg.write_text(CONFIG.format(here=HERE, log=log, delay=delay, workers=N_WORKERS,
                                 popsize=POPSIZE, iterations=ITERATIONS))
    return cfg, log


def _calls(log):
    return log.read_text().splitlines() if log.exists() else []


def _children(pid):
    """Processes whose parent is ``pid`` (from /proc)."""
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if int((d / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(d.name))
            except (OSError, IndexError, ValueError):
                pass
    return out


def _alive(pid):
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("reference")
    cfg, log = _config(tmp, "ref", 0.0)
    asktell.run(cfg, out=tmp / "run", progress=False)
    return tmp / "run", _calls(log)


@pytest.mark.skipif(not Path("/proc").exists(), reason="reads /proc")
@pytest.mark.parametrize("done_in_batch", [1, 5, 9])
def test_kill_mid_batch_repeats_only_running_evaluations(tmp_path, reference, done_in_batch):
    ref_dir, ref_calls = reference
    assert len(ref_calls) == POPSIZE * ITERATIONS
    cfg, log = _config(tmp_path, "killed", 0.25)
    run_dir = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "asktell.cli", "run", str(cfg), "--out", str(run_dir),
         "--no-progress"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    kill_at = 2 * POPSIZE + done_in_batch  # inside the third batch
    deadline = time.time() + 60
    workers: set[int] = set()
    while len(_calls(log)) < kill_at and time.time() < deadline:
        workers.update(_children(proc.pid))
        time.sleep(0.01)
    workers.update(_children(proc.pid))
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = time.time()
    assert workers, "the run's worker processes were seen"
    # orphans: every process the driver started exits within 5 s of its death
    while any(_alive(p) for p in workers) and time.time() < killed_at + 5:
        time.sleep(0.05)
    assert not [p for p in workers if _alive(p)], "worker processes outlived the driver by 5 s"
    assert not [f for f in os.listdir("/dev/shm") if str(proc.pid) in f]
    before = len(_calls(log))

    asktell.resume(run_dir, progress=False)
    calls = _calls(log)
    repeated = len(calls) - len(ref_calls)
    assert 0 <= repeated <= N_WORKERS, (
        f"{repeated} evaluations ran twice; only the {N_WORKERS} running at the kill may")
    assert sorted(calls) != [] and len(calls) >= before
    # the run ends identical to the uninterrupted one
    with RunStore.open(ref_dir, readonly=True) as a, RunStore.open(run_dir, readonly=True) as b:
        ba, bb = list(a.batches()), list(b.batches())
        assert b.evaluations() == []  # the kept evaluations are in the batch rows now
    assert len(bb) == ITERATIONS
    for x, y in zip(ba, bb, strict=True):
        assert serialization.plain_equal(x.candidates, y.candidates)
        np.testing.assert_array_equal(x.values, y.values)
    assert sorted(set(calls)) == sorted(set(ref_calls))


def test_kept_evaluations_are_reused_in_process(tmp_path):
    """Interrupt a stored run inside a batch (an exception from the objective); the resumed run
    scores only what is missing."""
    seen = []

    class Interrupt(BaseException):
        pass

    def f(x):
        seen.append(tuple(x))
        if len(seen) == 9:  # batch 2, item 2: items 0 and 1 have finished
            raise Interrupt
        return float(x @ x)

    opt = asktell.create("xnes", x0=[1.0, 2.0], sigma0=0.5, popsize=6, seed=2)
    store = RunStore.create(tmp_path / "run", {})
    ctl = asktell.Controller(opt, asktell.SequentialEvaluator(f), store=store,
                             stop={"max_iterations": 3}, progress=False, commit_seconds=0)
    with pytest.raises(Interrupt):
        ctl.run()
    store.close()
    with RunStore.open(tmp_path / "run", readonly=True) as s:
        kept = s.evaluations()
        assert len(s) == 1
    assert [(e.iteration, e.index) for e in kept] == [(2, 0), (2, 1)]
    assert [tuple(e.candidate) for e in kept] == seen[6:8]
    opt2 = asktell.create("xnes", x0=[1.0, 2.0], sigma0=0.5, popsize=6, seed=2)
    n_before = len(seen)
    ctl2 = asktell.Controller.resume(tmp_path / "run", opt2, asktell.SequentialEvaluator(f),
                                     stop={"max_iterations": 3}, progress=False)
    result = ctl2.run()
    ctl2.store.close()
    # batch 2 resumes at item 2 (items 0 and 1 were kept), then batch 3
    assert len(seen) - n_before == 4 + 6
    assert seen[n_before] == seen[8]
    # the same as an uninterrupted run
    ref = asktell.Controller(
        asktell.create("xnes", x0=[1.0, 2.0], sigma0=0.5, popsize=6, seed=2),
        asktell.SequentialEvaluator(lambda x: float(x @ x)), stop={"max_iterations": 3},
        progress=False).run()
    assert result.fbest == ref.fbest
    np.testing.assert_array_equal(result.xbest, ref.xbest)
