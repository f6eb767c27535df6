"""Controller, stopping rules, run store, crash-safe resume (SIGKILL), configs and the CLI."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import asktell
from asktell import Controller, RunStore, SequentialEvaluator, serialization
from asktell.cli import main
from asktell.config import ConfigError, load_config

HERE = Path(__file__).parent


def sphere(x):
    return float(np.sum(np.asarray(x) ** 2))


def xnes(**kw):
    return asktell.create("xnes", x0=[1.0, -1.0, 0.5], sigma0=0.5, seed=7, **kw)


@pytest.mark.parametrize("rules, key", [
    ({"max_iterations": 7}, "max_iterations"),
    ({"max_evaluations": 30}, "max_evaluations"),
    ({"target": 1e-3}, "target"),
    ({"max_unchanged_iterations": 5, "unchanged_threshold": 1e9}, "max_unchanged_iterations"),
    ({"xtol": 1e-3}, "xtol"),
    ({"timeout": 0.0}, "timeout"),
])
def test_each_stopping_rule(rules, key):
    result = Controller(xnes(), SequentialEvaluator(sphere), stop=rules, progress=False).run()
    assert list(result.stop_reason) == [key]
    if key == "max_iterations":
        assert result.iterations == 7
    if key == "max_evaluations":
        assert 30 <= result.evaluations < 30 + 8
    if key == "target":
        assert result.fbest <= 1e-3
    if key == "max_unchanged_iterations":
        assert result.iterations == 5 + 1


def test_optimiser_own_stop_is_reported():
    result = Controller(xnes(max_iterations=4), SequentialEvaluator(sphere),
                        progress=False).run()
    assert result.stop_reason == {"maxiter": 4}


def test_callback_receives_info_and_can_stop():
    seen = []

    def cb(info):
        seen.append((info.iteration, info.fbest, len(info.values)))
        return "enough" if info.iteration == 3 else None

    result = Controller(xnes(), SequentialEvaluator(sphere), callbacks=[cb],
                        progress=False).run()
    assert result.stop_reason == {"callback": "enough"}
    assert [s[0] for s in seen] == [1, 2, 3]


def test_bad_stop_rule():
    with pytest.raises(ValueError, match="unknown stopping rule"):
        Controller(xnes(), SequentialEvaluator(sphere), stop={"max_iter": 3})
    with pytest.raises(ValueError, match="positive integer"):
        Controller(xnes(), SequentialEvaluator(sphere), stop={"max_iterations": 0})


def test_store_records_batches_failures_and_state(tmp_path):
    def f(x):
        if x[0] > 1.2:
            raise RuntimeError("too big")
        return sphere(x)

    ev = SequentialEvaluator(f)
    store = RunStore.create(tmp_path / "run", {"note": "test"})
    result = Controller(xnes(), ev, stop={"max_iterations": 6}, store=store,
                        progress=False).run()
    batches = list(store.batches())
    assert [b.iteration for b in batches] == list(range(1, 7))
    failed = sum(int(np.isnan(b.values).sum()) for b in batches)
    assert failed == result.failures > 0
    errors = [e for b in batches for e in b.errors]
    assert len(errors) == failed and errors[0]["error"] == "RuntimeError: too big"
    it, opt_state, _ = store.latest_checkpoint()
    assert it == 6 and opt_state["iterations"] == 6
    assert store.get_meta("status") == "finished"
    assert store.get_meta("stop_reason") == {"max_iterations": 6}
    store.close()


def test_store_holds_no_pickles(tmp_path):
    store = RunStore.create(tmp_path / "run", {})
    Controller(xnes(), SequentialEvaluator(sphere), stop={"max_iterations": 2}, store=store,
               progress=False).run()
    store.close()
    con = sqlite3.connect(tmp_path / "run" / "run.sqlite")
    for table in ("batches", "checkpoint", "meta"):
        for row in con.execute(f"SELECT * FROM {table}"):
            for cell in row:
                if isinstance(cell, bytes):  # only packed numeric arrays, nothing else
                    assert cell.startswith(b"\x93ATA<f8;"), f"unknown binary data in {table}"
                    assert isinstance(serialization.unpack(cell), np.ndarray)
                if isinstance(cell, str) and cell[:1] in "{[":
                    json.loads(cell)  # plain JSON


def test_resume_in_process_equals_uninterrupted(tmp_path):
    full = RunStore.create(tmp_path / "full", {})
    Controller(xnes(), SequentialEvaluator(sphere), stop={"max_iterations": 12}, store=full,
               progress=False).run()
    part = RunStore.create(tmp_path / "part", {})
    Controller(xnes(), SequentialEvaluator(sphere), stop={"max_iterations": 5}, store=part,
               progress=False).run()
    part.close()
    ctl = Controller.resume(tmp_path / "part", xnes(), SequentialEvaluator(sphere),
                            stop={"max_iterations": 12}, progress=False)
    ctl.run()
    a, b = list(full.batches()), list(ctl.store.batches())
    assert len(a) == len(b) == 12
    for x, y in zip(a, b):
        assert serialization.plain_equal(x.candidates, y.candidates)
        assert np.array_equal(x.values, y.values)


def test_create_refuses_existing_run(tmp_path):
    RunStore.create(tmp_path / "r", {}).close()
    with pytest.raises(FileExistsError, match="resume"):
        RunStore.create(tmp_path / "r", {})
    with pytest.raises(FileNotFoundError, match="not an asktell run directory"):
        RunStore.open(tmp_path)


# ---------------------------------------------------------------- crash safety

CONFIG = """
[problem]
callable = "slow_problem:SlowSphere"
path = "{here}"
delay = {delay}

[optimiser]
{optimiser}
x0 = [1.0, -0.5, 2.0]
sigma0 = 0.5
seed = 11

[stop]
max_iterations = 40
optimiser_stop = false

[run]
plot = false
"""


OPTIMISERS = {
    "xnes": 'name = "xnes"',
    # short runs, so that the 40 batches cross several restarts
    "cmaes-bipop": 'name = "cmaes"\nrestarts = "bipop"\nmax_iterations = 6',
}


def _cfg(tmp_path, delay, optimiser="xnes"):
    p = tmp_path / f"cfg{delay}.toml"
    p.write_text(CONFIG.format(here=HERE, delay=delay, optimiser=OPTIMISERS[optimiser]))
    return p


def _count(run_dir):
    try:
        con = sqlite3.connect(f"file:{run_dir / 'run.sqlite'}?mode=ro", uri=True, timeout=1)
        n = con.execute("SELECT COUNT(*) FROM batches").fetchone()[0]
        con.close()
        return n
    except sqlite3.Error:
        return 0


def assert_same_batches(ref, other, n):
    """The two run directories hold the same n told batches: candidates, values, restarts."""
    with RunStore.open(ref, readonly=True) as a, RunStore.open(other, readonly=True) as b:
        ba, bb = list(a.batches()), list(b.batches())
    assert [x.iteration for x in bb] == list(range(1, n + 1))
    for x, y in zip(ba, bb):
        assert serialization.plain_equal(x.candidates, y.candidates), x.iteration
        assert np.array_equal(x.values, y.values)
        assert x.restart == y.restart
    return bb


@pytest.mark.parametrize("optimiser", list(OPTIMISERS))
def test_sigkill_then_resume_loses_and_repeats_nothing(tmp_path, optimiser):
    if optimiser.startswith("cmaes"):
        pytest.importorskip("cma")
    ref = asktell.run(_cfg(tmp_path, 0.0, optimiser), out=tmp_path / "ref", progress=False)
    assert ref.iterations == 40
    killed = tmp_path / "killed"
    proc = subprocess.Popen(
        [sys.executable, "-m", "asktell.cli", "run", str(_cfg(tmp_path, 0.01, optimiser)),
         "--out", str(killed), "--no-progress"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 60
    while _count(killed) < 8 and time.time() < deadline:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    n_before = _count(killed)
    assert 8 <= n_before < 40, "the run must be killed part-way"
    with RunStore.open(killed, readonly=True) as s:
        assert s.get_meta("status") == "running"  # it never got to say otherwise
    # resume with the fast objective: same evaluations, not repeated
    assert main(["resume", str(killed), "--no-progress"]) == 0
    bb = assert_same_batches(tmp_path / "ref", killed, 40)
    with RunStore.open(killed, readonly=True) as b:
        assert b.get_meta("status") == "finished"
        if optimiser == "cmaes-bipop":
            restarts = [x.restart for x in bb]
            assert restarts[-1] >= 3 and restarts[n_before - 1] < restarts[-1]


# ---------------------------------------------------------------- configs and CLI

def test_main_job_config_runs_and_writes_outputs(logistic_config, tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["run", str(logistic_config), "--out", str(out), "--no-progress",
                 "--set", "stop.max_iterations=30", "--set", "evaluator.n_workers=1"])
    assert code == 0
    text = capsys.readouterr().out
    assert "x_best:" in text and "f_best:" in text
    assert (out / "run.sqlite").exists() and (out / "history.csv").exists()
    assert (out / "convergence.png").stat().st_size > 1000
    # the problem's own report, through the Reporter hook: the data with the fitted curve
    assert (out / "fit.png").stat().st_size > 1000
    (out / "convergence.png").unlink()
    main(["show", str(out), "--json"])
    s = json.loads(capsys.readouterr().out)
    assert (out / "convergence.png").exists()
    assert s["iterations"] == 30 and s["evaluations"] == 180
    assert s["stop_reason"] == {"max_iterations": 30} and len(s["xbest"]) == 2
    assert main(["export", str(out), str(tmp_path / "h.json")]) == 0
    rows = json.loads((tmp_path / "h.json").read_text())
    assert len(rows) == 180 and {"x0", "x1", "value"} <= set(rows[0])
    # extend the finished run
    assert main(["resume", str(out), "--no-progress", "--set", "stop.max_iterations=35"]) == 0
    capsys.readouterr()
    main(["show", str(out), "--json", "--no-plot"])
    assert json.loads(capsys.readouterr().out)["iterations"] == 35


@pytest.mark.parametrize("override, key, msg", [
    ("optimiser.name=foo", "optimiser.name", "no optimiser named 'foo'"),
    ("optimiser.sigma=3", "optimiser.sigma", "unknown key for XNES"),
    ("stop.max_iterations='ten'", "stop", "max_iterations must be a positive integer"),
    ("stop.max_iter=10", "stop", "unknown stopping rule"),
    ("boundaries.lower='a'", "boundaries.lower", "expected a list of numbers"),
    ("evaluator.name=gpu", "evaluator.name", "expected one of"),
    ("evaluator.workers=2", "evaluator.workers", "unknown key"),
    ("run.plot=3", "run.plot", "expected bool"),
    ("problem.r_true=1", "problem.r_true", "unknown key for LogisticProblem"),
    ("optimiser.seed=1.5", "optimiser.seed", "non-negative integer"),
    ("extra.x=1", "extra", "unknown section"),
])
def test_config_errors_name_file_and_key(logistic_config, override, key, msg):
    with pytest.raises(ConfigError) as info:
        load_config(logistic_config, [override])
    assert info.value.key == key
    assert str(logistic_config) in str(info.value) and msg in str(info.value)


def test_config_missing_sections(tmp_path, capsys):
    p = tmp_path / "c.toml"
    p.write_text('[problem]\nname = "sphere"\n')
    with pytest.raises(ConfigError, match=r"optimiser: missing section \[optimiser\]"):
        load_config(p)
    assert main(["run", str(p)]) == 2
    assert "configuration error" in capsys.readouterr().err
    p.write_text("[problem\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(p)


def test_resume_refuses_non_stop_overrides(logistic_config, tmp_path):
    out = tmp_path / "r"
    asktell.run(logistic_config, out=out, progress=False,
                overrides=["stop.max_iterations=2", "evaluator.n_workers=1", "run.plot=false"])
    with pytest.raises(ConfigError, match="only stop"):
        asktell.resume(out, overrides=["optimiser.seed=2"])


def test_reward_section_replaces_problem_and_evaluator(tmp_path):
    pytest.importorskip("rdkit")
    from asktell.config import ConfigError, parse_config

    base = {"optimiser": {"name": "organ"}, "reward": {"name": "qed"}}
    with pytest.raises(ConfigError, match=r"\[reward\] or \[problem\]"):
        parse_config({**base, "problem": {"name": "sphere"}})
    with pytest.raises(ConfigError, match=r"\[reward\] or \[evaluator\]"):
        parse_config({**base, "evaluator": {"name": "parallel"}})
    with pytest.raises(ConfigError, match=r"reward\.name"):
        parse_config({**base, "reward": {"name": "no-such-reward"}})
    with pytest.raises(ConfigError, match=r"reward\.colour"):
        parse_config({**base, "reward": {"name": "qed", "colour": 1}})


def test_config_is_parsed_once_into_frozen_typed_sections(logistic_config):
    import dataclasses

    from asktell.config import RunConfig, load_config

    cfg = load_config(logistic_config, ["run.commit_seconds=0.5", "stop.max_iterations=7"])
    assert isinstance(cfg, RunConfig) and cfg.source == str(logistic_config)
    assert cfg.optimiser.name == "xnes" and cfg.optimiser.options["seed"] == 1
    assert cfg.run.commit_seconds == 0.5 and cfg.run.checkpoint_every == 100
    assert cfg.run.mode == "sync" and cfg.run.max_in_flight is None
    assert cfg.stop.max_iterations == 7
    assert cfg.problem is not None and cfg.problem.name == "logistic" and cfg.reward is None
    assert cfg.boundaries is not None and cfg.boundaries.lower == (0.0, 200.0)
    assert cfg.evaluator.name == "parallel" and cfg.evaluator.options["n_workers"] == 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.run = None
    with pytest.raises(TypeError):
        cfg.optimiser.options["seed"] = 3  # read-only
    plain = cfg.to_dict()
    plain["optimiser"]["seed"] = 3  # a copy: the parsed configuration is unchanged
    assert cfg.optimiser.options["seed"] == 1
    again = cfg.with_overrides(["optimiser.seed=4"])
    assert again.optimiser.options["seed"] == 4 and cfg.optimiser.options["seed"] == 1


@pytest.mark.parametrize("make, key", [
    (lambda c: c.RunSection(mode="fast"), "mode"),
    (lambda c: c.RunSection(commit_seconds=-1), "commit_seconds"),
    (lambda c: c.RunSection(checkpoint_every=True), "checkpoint_every"),
    (lambda c: c.PluginSection(""), "name"),
    (lambda c: c.ProblemSection(name="sphere", callable="m:f"), "name"),
    (lambda c: c.ProblemSection(callable="no_colon"), "callable"),
    (lambda c: c.BoundariesSection([0, "a"], [1, 2]), "lower"),
])
def test_config_sections_validate_in_their_constructors(make, key):
    from asktell import config

    with pytest.raises(config.FieldError) as info:
        make(config)
    assert info.value.key == key
