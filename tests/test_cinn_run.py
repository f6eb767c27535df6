"""The cINN estimator in a configured run: tell() takes simulated data sets from the evaluator
(output = "object"), the run store records floats, the run writes the SBC and recovery plots,
and a killed run resumes."""

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("matplotlib")

from asktell import runs
from asktell.config import load_config

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "cinn_gaussian.toml"

SMALL = [
    "optimiser.batch_size=100", "optimiser.max_epochs=3", "optimiser.n_blocks=2",
    "optimiser.hidden=16", "optimiser.summary_hidden=16", "stop.max_iterations=2",
]



def test_example_runs_writes_report_and_resumes(tmp_path, monkeypatch):
    from asktell_cinn import report

    # a smaller diagnostic than the example's default, to keep the test fast
    orig = report.write_report
    monkeypatch.setattr(report, "write_report",
                        lambda est, d, **kw: orig(est, d, n_sets=50, n_draws=100))
    cfg = load_config(EXAMPLE, SMALL)
    out = tmp_path / "run"
    result = runs.run(cfg, out=out, progress=False)
    assert result.iterations == 2 and result.evaluations == 200 and result.failures == 0
    for name in ("sbc.png", "recovery.png", "diagnostics.json", "posterior_samples.csv",
                 "history.csv", "run.sqlite"):
        assert (out / name).is_file(), name
    diag = json.loads((out / "diagnostics.json").read_text())
    assert diag["simulations"] == 200 and len(diag["rounds"]) == 2
    samples = np.loadtxt(out / "posterior_samples.csv", delimiter=",", skiprows=1)
    assert samples.shape == (100, 5) and np.isfinite(samples).all()
    # the store holds one float per simulation (-log q(θ|x) before training), not data sets
    summary = runs.summary(out)
    assert np.isfinite(summary["fbest"])
    rows = (out / "history.csv").read_text().splitlines()
    assert len(rows) == 201 and rows[0].startswith("iteration,index,x0")
    # extend the finished run: the estimator comes back with its replay buffer
    resumed = runs.resume(out, overrides=["stop.max_iterations=3"], progress=False)
    assert resumed.iterations == 3 and resumed.evaluations == 300
    diag = json.loads((out / "diagnostics.json").read_text())
    assert diag["simulations"] == 300 and diag["rounds"][-1]["warm_start"]


def test_parallel_evaluator_simulates_data_sets_for_tell():
    import asktell
    from asktell_cinn import CINN, SLCP

    sim = SLCP(seed=3)
    est = CINN(simulator=sim, summary="deepset", batch_size=40, seed=0, n_blocks=2, hidden=8,
               summary_dim=4, summary_hidden=8, max_epochs=2)
    theta = est.ask()
    with asktell.ParallelEvaluator(sim, n_workers=2, output="object") as ev:
        xs = ev(theta)
    # the per-θ seeding makes workers' simulations equal to in-process ones
    assert all(np.array_equal(x, sim(t)) for x, t in zip(xs, theta))
    est.tell(xs)
    assert est.n_simulations == 40 and est.failures == 0
