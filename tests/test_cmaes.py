"""CMA-ES through pycma: conformance, identical to raw pycma, stop reasons, options, files."""

import os

import numpy as np
import pytest

import asktell
from asktell.testing import check_optimiser

cma = pytest.importorskip("cma")
from asktell_optim import CMAES  # noqa: E402


def sphere(xs):
    return np.sum(np.asarray(xs) ** 2, axis=1)


def test_conformance():
    check_optimiser(lambda **kw: CMAES([1.0, 2.0, 3.0], sigma0=0.5, **kw))
    check_optimiser(lambda **kw: CMAES([0.5], **kw))  # 1-d
    b = asktell.RectangularBoundaries([-1, -1], [1, 1])
    check_optimiser(lambda **kw: CMAES([0.9, 0.0], boundaries=b, **kw))


def test_same_asks_as_raw_pycma():
    """The adapter adds nothing to pycma's search: same random numbers, same points."""
    opt = CMAES([1.0, -1.0, 0.5, 2.0], sigma0=0.7, seed=4)
    rng = np.random.default_rng(4)
    es = cma.CMAEvolutionStrategy([1.0, -1.0, 0.5, 2.0], 0.7, {
        "verbose": -9, "randn": lambda *s: rng.standard_normal(s)})
    for _ in range(30):
        xs = opt.ask()
        raw = es.ask()
        np.testing.assert_array_equal(xs, np.array(raw))
        f = sphere(xs)
        opt.tell(f)
        es.tell(raw, f.tolist())
    np.testing.assert_array_equal(opt.es.mean, es.mean)


def test_reports_every_pycma_stop_criterion():
    opt = CMAES(np.ones(3), sigma0=0.5, seed=0)
    while opt.stop() is None:
        opt.tell(sphere(opt.ask()))
    assert opt.stop() == dict(opt.es.stop())  # all of them, not one (pints#577)
    opt = CMAES(np.ones(3), sigma0=0.5, seed=0, max_iterations=5)
    for _ in range(5):
        opt.tell(sphere(opt.ask()))
    assert opt.stop() == {"maxiter": 5}


def test_per_dimension_sigma_and_bounds():
    b = asktell.RectangularBoundaries([0, 0], [1, 100])
    opt = CMAES([0.5, 50], boundaries=b, seed=1)
    assert opt.es.sigma == pytest.approx(100 / 6)
    np.testing.assert_allclose(opt.es.opts["CMA_stds"], [0.01, 1.0])
    for _ in range(20):
        xs = opt.ask()
        assert b.contains(xs).all()
        opt.tell(np.abs(xs[:, 0] - 0.3) + np.abs(xs[:, 1] - 70) / 100)
    np.testing.assert_allclose(opt.xbest(), [0.3, 70], atol=0.05)


def test_options_pass_through_and_validation():
    opt = CMAES([1.0, 2.0], options={"CMA_diagonal": True}, seed=0)
    assert opt.es.opts["CMA_diagonal"] is True
    with pytest.raises(ValueError, match="unknown pycma options"):
        CMAES([1.0, 2.0], options={"CMA_diagonl": True})
    with pytest.raises(ValueError, match="set by asktell"):
        CMAES([1.0, 2.0], options={"seed": 3})


def test_no_files_no_global_rng(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    state = np.random.get_state()[1].copy()  # noqa: NPY002 - checking pycma leaves it alone
    opt = CMAES([1.0, 2.0], seed=0)
    for _ in range(5):
        opt.tell(sphere(opt.ask()))
    assert os.listdir(tmp_path) == []
    assert np.array_equal(np.random.get_state()[1], state)  # noqa: NPY002


def test_failures_are_ranked_last():
    opt = CMAES([1.0, 2.0], sigma0=0.5, seed=0)
    for _ in range(50):
        xs = opt.ask()
        f = sphere(xs)
        f[xs[:, 0] > 0.8] = np.nan
        opt.tell(f)
    assert opt.failures > 0 and opt.fbest() < 1e-3
