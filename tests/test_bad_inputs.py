"""Bad input, table-driven: every case is refused with a clear error that says what was expected
(through the API: the argument; through the CLI: the file and key, exit status 2, no traceback).
Add a row for every new option."""

import numpy as np
import pytest

import asktell
from asktell import Controller, Evaluation, SequentialEvaluator
from asktell.cli import main
from asktell.testing import check_declared_names


def _needs(module):
    """Skip a row whose plugin's extra is not installed (returns None to go on)."""
    pytest.importorskip(module)


def square(x):
    return float(np.sum(np.asarray(x) ** 2))


def _queue(candidates, values):
    """RunStore.queue_batch of a batch into a store in a temporary directory."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp, asktell.RunStore.create(f"{tmp}/run", {}) as s:
        s.queue_batch(1, candidates, values, 0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0)


API_CASES = [
    ("sigma0 infinite", lambda: asktell.create("xnes", x0=[1.0, 2.0], sigma0=float("inf")),
     ValueError, "sigma0 must be positive and finite"),
    ("sigma0 negative", lambda: asktell.create("cmaes", x0=[1.0, 2.0], sigma0=-1.0),
     ValueError, "sigma0 must be positive"),
    ("x0 with NaN", lambda: asktell.create("xnes", x0=[1.0, float("nan")]),
     ValueError, "x0 must be finite"),
    ("popsize 1", lambda: asktell.create("snes", x0=[1.0, 2.0], popsize=1),
     ValueError, "popsize must be at least 2"),
    ("seed a float", lambda: asktell.create("pso", x0=[1.0, 2.0], seed=1.5),
     TypeError, "seed must be an int"),
    ("direction misspelt", lambda: asktell.create("xnes", x0=[1.0], direction="up"),
     ValueError, "direction must be 'minimise' or 'maximise'"),
    ("n_workers a bool", lambda: asktell.ParallelEvaluator(square, n_workers=True),
     ValueError, "n_workers must be a positive int"),
    ("n_workers zero", lambda: asktell.ParallelEvaluator(square, n_workers=0),
     ValueError, "n_workers must be a positive int"),
    ("unknown backend", lambda: asktell.ParallelEvaluator(square, backend="nope"),
     ValueError, "backend must be one of"),
    ("blas_threads zero", lambda: asktell.ParallelEvaluator(square, blas_threads=0),
     ValueError, "blas_threads must be a positive int"),
    ("check_declared_names of nothing installed",
     lambda: check_declared_names("no-such-dist"),
     ValueError, "no installed distribution named 'no-such-dist'"),
    ("queue_batch of a list", lambda: _queue([[1.0, 2.0]], np.zeros(1)),
     TypeError, "one per candidate; got list and an array of dtype float64"),
    ("queue_batch of strings", lambda: _queue(np.array(["CC", "CO"]), np.zeros(2)),
     TypeError, "got an array of dtype <U2 and shape (2,)"),
    ("queue_batch, values of another length", lambda: _queue(np.zeros((3, 2)), np.zeros(2)),
     TypeError, "a 1-d array of values, one per candidate"),
    ("one point for a batch", lambda: SequentialEvaluator(square)(np.array([1.0, 2.0])),
     TypeError, "1-d numeric array of shape (2,)"),
    ("a string for a batch", lambda: SequentialEvaluator(len)("CCO"),
     TypeError, "wrap a single candidate in a list"),
    ("a number for a batch", lambda: SequentialEvaluator(square)(3.0),
     TypeError, "takes a batch"),
    ("checkpoint_every 0", lambda: Controller(asktell.create("xnes", x0=[1.0]),
                                              SequentialEvaluator(square), checkpoint_every=0),
     ValueError, "checkpoint_every must be a positive int"),
    ("commit_seconds NaN", lambda: Controller(asktell.create("xnes", x0=[1.0]),
                                              SequentialEvaluator(square),
                                              commit_seconds=float("nan")),
     ValueError, "commit_seconds must be a non-negative number"),
    ("stop a string", lambda: Controller(asktell.create("xnes", x0=[1.0]),
                                         SequentialEvaluator(square), stop="max"),
     TypeError, "stop must be StoppingRules, a dict or None"),
    ("a non-method", lambda: Controller(object(), SequentialEvaluator(square)),
     TypeError, "must be an asktell.Optimiser or Estimator"),
    ("checkpoint_seconds negative", lambda: Controller(asktell.create("xnes", x0=[1.0]),
                                                       SequentialEvaluator(square),
                                                       checkpoint_seconds=-1),
     ValueError, "checkpoint_seconds must be a non-negative number"),
    ("restarts misspelt", lambda: asktell.create("xnes", x0=[1.0, 2.0], restarts="nope"),
     ValueError, "restarts must be None, 'ipop' or 'bipop'"),
    ("an extra column of the wrong length",
     lambda: Evaluation(np.zeros(2), extras={"a": [1.0]}),
     ValueError, "extra column 'a' must hold 2 floats"),
    ("cINN subnets 3", lambda: _needs("torch") or asktell.create(
        "cinn", simulator="two-moons", subnets=3),
     ValueError, "subnets must be 2 or 4"),
    ("cINN summary unknown", lambda: _needs("torch") or asktell.create(
        "cinn", simulator="two-moons", summary="nope"),
     ValueError, "summary must be one of"),
    ("ORGAN attention misspelt", lambda: _needs("torch") or asktell.create(
        "organ", attention="head"),
     ValueError, "attention must be one of"),
    ("dashboard refresh 0", lambda: _needs("starlette") or __import__(
        "asktell.dashboard.app", fromlist=["create_app"]).create_app(["."], refresh=0),
     ValueError, "refresh must be a positive number"),
    ("dask scheduler a number", lambda: _needs("distributed") or asktell.DaskEvaluator(
        square, scheduler=8786),
     TypeError, "scheduler must be an address (\"tcp://host:port\"), the path of a scheduler"),
    ("dask scheduler empty", lambda: _needs("distributed") or asktell.DaskEvaluator(
        square, scheduler=" "),
     ValueError, "scheduler must be an address"),
    ("dask timeout negative", lambda: _needs("distributed") or asktell.DaskEvaluator(
        square, scheduler="tcp://127.0.0.1:9", timeout=-1),
     ValueError, "timeout must be a positive number of seconds or None, got -1"),
    ("dask lost_timeout zero", lambda: _needs("distributed") or asktell.DaskEvaluator(
        square, scheduler="tcp://127.0.0.1:9", lost_timeout=0),
     ValueError, "lost_timeout must be a positive number of seconds, got 0"),
    ("dask connect_timeout NaN", lambda: _needs("distributed") or asktell.DaskEvaluator(
        square, scheduler="tcp://127.0.0.1:9", connect_timeout=float("nan")),
     ValueError, "connect_timeout must be a positive number of seconds"),
    ("dask scheduler file missing", lambda: _needs("distributed") or asktell.DaskEvaluator(
        square, scheduler="no-such-dir/scheduler.json", connect_timeout=0.5),
     ValueError, "scheduler file 'no-such-dir/scheduler.json' not found (waited 0.5 s)"),
    ("dask scheduler unreachable", lambda: _needs("distributed") or asktell.DaskEvaluator(
        square, scheduler="tcp://127.0.0.1:9", connect_timeout=2),
     asktell.SchedulerUnreachableError, "cannot be reached within 2 s"),
    ("timeout zero", lambda: asktell.ParallelEvaluator(square, timeout=0),
     ValueError, "timeout must be a positive number of seconds or None, got 0"),
    ("timeout infinite", lambda: asktell.ParallelEvaluator(square, timeout=float("inf")),
     ValueError, "timeout must be a positive number of seconds"),
    ("backend dask on ParallelEvaluator", lambda: asktell.ParallelEvaluator(
        square, backend="dask"), ValueError, "use asktell.DaskEvaluator"),
    ("keys of another length", lambda: SequentialEvaluator(square).submit(
        np.zeros((2, 1)), keys=[0]), ValueError, "got 1 keys for 2 candidates"),
    ("controller mode misspelt", lambda: Controller(
        asktell.create("xnes", x0=[1.0]), SequentialEvaluator(square), mode="asynch"),
     ValueError, "mode must be 'sync' or 'async'"),
    ("max_in_flight zero", lambda: Controller(
        asktell.create("xnes", x0=[1.0]), SequentialEvaluator(square), mode="async",
        max_in_flight=0), ValueError, "max_in_flight must be a positive int"),
    ("async with a synchronous method", lambda: Controller(
        asktell.create("nelder-mead", x0=[1.0]), SequentialEvaluator(square), mode="async"),
     TypeError, "nelder-mead does not support asynchronous evaluation"),
    ("async with a plain callable", lambda: Controller(
        asktell.create("xnes", x0=[1.0]), lambda xs: [0.0] * len(xs), mode="async"),
     TypeError, "needs a streaming asktell.Evaluator"),
    ("a 2-d evaluation", lambda: Evaluation(np.zeros((2, 2))),
     ValueError, "must be 1-d"),
    ("an error outside the batch", lambda: Evaluation(
        np.zeros(2), (asktell.EvaluationError(5, "ValueError", "x"),)),
     ValueError, "error index 5 outside the batch of 2"),
]


@pytest.mark.parametrize("case, call, exc, msg", API_CASES, ids=[c[0] for c in API_CASES])
def test_api_refuses_bad_input_clearly(case, call, exc, msg):
    with pytest.raises(exc) as info:
        call()
    assert msg in str(info.value)


CLI_CASES = [
    ("optimiser.x0=[1,2", "optimiser.x0", "not a valid value"),
    ("optimiser.sigma0=0.5.5", "optimiser.sigma0", "not a valid value"),
    ("optimiser.sigma0=inf", "optimiser.sigma0", "sigma0 must be positive and finite"),
    ("optimiser.popsize=1", "optimiser.popsize", "popsize must be at least 2"),
    ("optimiser.x0=[0.5]", "optimiser.boundaries", "boundaries are 2-dimensional"),
    ("evaluator.n_workers=0", "evaluator.n_workers", "n_workers must be a positive int"),
    ("evaluator.n_workers=true", "evaluator.n_workers", "n_workers must be a positive int"),
    ("evaluator.backend='nope'", "evaluator.backend", "backend must be one of"),
    ("run.checkpoint_every=0", "run.checkpoint_every", "positive integer"),
    ("run.commit_seconds=-1", "run.commit_seconds", "non-negative number"),
    ("run.checkpoint_seconds=-1", "run.checkpoint_seconds", "non-negative number"),
    ("run.mode='fast'", "run.mode", "expected 'sync' or 'async'"),
    ("run.max_in_flight=0", "run.max_in_flight", "positive integer"),
    ("run.max_in_flight=2.5", "run.max_in_flight", "int"),
    ("optimiser.restarts='nope'", "optimiser.restarts", "restarts must be None"),
    ("boundaries.lower=[0]", "boundaries", "must have the same length"),
    ("stop.timeout=-3", "stop", "timeout must be a non-negative number"),
]


@pytest.mark.parametrize("override, key, msg", CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_cli_names_file_and_key_without_traceback(logistic_config, tmp_path, capsys, override,
                                                  key, msg):
    code = main(["run", str(logistic_config), "--out", str(tmp_path / "r"), "--no-progress",
                 "--set", override])
    err = capsys.readouterr().err
    assert code == 2, err
    assert f"{logistic_config}: {key}: " in err and msg in err, err
    assert "Traceback" not in err


@pytest.mark.parametrize("target, msg", [
    ("nomodule_xyz:f", "cannot import module 'nomodule_xyz'"),
    ("math:nope", "module 'math' has no attribute 'nope'"),
])
def test_cli_bad_callable_is_a_config_error(tmp_path, capsys, target, msg):
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[problem]\ncallable = "{target}"\n[optimiser]\nname = "xnes"\n'
                   'x0 = [1.0, 2.0]\n[stop]\nmax_iterations = 2\n')
    code = main(["run", str(cfg), "--out", str(tmp_path / "r"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and f"{cfg}: problem.callable: " in err and msg in err, err
    assert "Traceback" not in err


def test_cli_out_under_a_file_is_one_line(logistic_config, tmp_path, capsys):
    code = main(["run", str(logistic_config), "--out", str(logistic_config / "run"),
                 "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "Not a directory" in err and str(logistic_config) in err, err
    assert "Traceback" not in err


def _bad_state(key, value):
    """Load a state whose method entry ``key`` holds ``value`` (a damaged checkpoint)."""
    opt = asktell.create("snes", x0=[1.0, 2.0], seed=1)
    opt.tell([1.0] * len(opt.ask()))
    state = opt.state_dict()
    state["method"][key] = value
    asktell.create("snes", x0=[1.0, 2.0], seed=1).load_state_dict(state)


STATE_CASES = [
    ("a NaN mean", lambda: _bad_state("mu", np.array([np.nan, 1.0])), "'method.mu' must hold"),
    ("a 1e300 mean", lambda: _bad_state("mu", np.array([1e300, 1.0])), "'method.mu' must hold"),
    ("a zero step size", lambda: _bad_state("sigmas", np.array([0.0, 1.0])),
     "'method.sigmas' must hold positive finite numbers"),
]


@pytest.mark.parametrize("case, call, msg", STATE_CASES, ids=[c[0] for c in STATE_CASES])
def test_impossible_states_are_refused_naming_the_key(case, call, msg):
    with pytest.raises(ValueError) as info:
        call()
    assert msg in str(info.value)


RUN_DIR_CASES = [
    (["export", "{run}"], "export needs an OUTPUT file (.csv or .json) or --copy NEW_DIR"),
    (["export", "{run}", "--copy", "{run}"], "onto itself"),
    (["export", "{run}", "--copy", "{full}"], "exists and is not empty"),
    (["recover", "{run}", "--out", "{full}"], "exists and is not empty"),
    (["recover", "{tmp}/nowhere"], "not an asktell run directory"),
    (["resume", "{run}", "--config", "{tmp}/missing.toml"], "missing.toml: -: file not found"),
    (["resume", "{run}", "--config", "{other}"], "optimiser.seed: describes another run"),
]


@pytest.mark.parametrize("argv, msg", RUN_DIR_CASES, ids=[" ".join(c[0]) for c in RUN_DIR_CASES])
def test_run_dir_commands_refuse_bad_input_in_one_line(tmp_path, capsys, argv, msg):
    text = ('[problem]\nname = "sphere"\n[optimiser]\nname = "xnes"\nx0 = [1.0, 2.0]\n'
            'seed = {}\n[stop]\nmax_iterations = 2\n[run]\nplot = false\n')
    (tmp_path / "c.toml").write_text(text.format(1))
    (tmp_path / "other.toml").write_text(text.format(2))
    assert main(["run", str(tmp_path / "c.toml"), "--out", str(tmp_path / "r"),
                 "--no-progress"]) == 0
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("")
    capsys.readouterr()
    names = {"run": tmp_path / "r", "full": tmp_path / "full", "tmp": tmp_path,
             "other": tmp_path / "other.toml"}
    code = main([a.format(**names) for a in argv])
    err = capsys.readouterr().err
    assert code == 2 and msg in err, err
    assert err.count("\n") == 1 and "Traceback" not in err
