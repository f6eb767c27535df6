"""Bad input, table-driven: every case is refused with a clear error that says what was expected
(through the API: the argument; through the CLI: the file and key, exit status 2, no traceback).
Add a row for every new option."""

import numpy as np
import pytest

import asktell
from asktell import Controller, Evaluation, SequentialEvaluator
from asktell.cli import main


def _needs(module):
    """Skip a row whose plugin's extra is not installed (returns None to go on)."""
    pytest.importorskip(module)


def square(x):
    return float(np.sum(np.asarray(x) ** 2))


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
