"""XNES: conformance, the update equations against a per-sample reference, and solving problems."""

import math

import numpy as np
import pytest
import scipy.linalg

import asktell
from asktell.testing import check_optimiser
from asktell_optim import XNES, LogisticProblem


def test_conformance_unbounded():
    check_optimiser(lambda **kw: XNES([1.0, -2.0, 0.5], sigma0=0.3, **kw))


def test_conformance_bounded():
    b = asktell.RectangularBoundaries([-1, -1], [1, 1])
    check_optimiser(lambda **kw: XNES([0.9, 0.0], boundaries=b, **kw))


def test_defaults_follow_the_paper_and_pints():
    opt = XNES(np.zeros(10), sigma0=1.0, seed=0)
    assert opt.popsize == 4 + int(3 * math.log(10))
    assert opt._eta_A == pytest.approx(0.6 * (3 + math.log(10)) * 10**-1.5)
    n = opt.popsize
    u = np.maximum(0, math.log(n / 2 + 1) - np.log(np.arange(1, n + 1)))
    u = u / u.sum() - 1 / n
    np.testing.assert_allclose(opt._us, u)
    b = asktell.RectangularBoundaries([0, 200], [1, 1000])
    np.testing.assert_allclose(XNES([0, 700], boundaries=b).sigma0, [1 / 6, 800 / 6])
    np.testing.assert_allclose(XNES([0, 3]).sigma0, [1, 1])


def test_update_matches_per_sample_reference():
    """The vectorised update equals the paper's per-sample sums with scipy's expm (PINTS's form)."""
    opt = XNES([0.3, -0.2, 0.7], sigma0=[0.5, 1.0, 2.0], seed=5)
    for _ in range(5):
        mu, a = opt.mean(), opt._A.copy()
        xs = opt.ask()
        zs = opt._zs.copy()
        fs = np.sum(xs**2, axis=1) + np.sin(5 * xs[:, 0])
        opt.tell(fs)
        order = np.argsort(fs)
        zs = zs[order]
        us = opt._us
        d = len(mu)
        gd = sum(u * z for u, z in zip(us, zs))
        gm = sum(u * (np.outer(z, z) - np.eye(d)) for u, z in zip(us, zs))
        mu_ref = mu + 1.0 * a @ gd
        a_ref = a @ scipy.linalg.expm(0.5 * opt._eta_A * gm)
        np.testing.assert_allclose(opt.mean(), mu_ref, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(opt._A, a_ref, rtol=1e-10, atol=1e-14)


def test_bounded_batches_are_full_and_inside():
    b = asktell.RectangularBoundaries([0, 200], [1, 1000])
    opt = XNES([0, 700], boundaries=b, seed=2)
    for _ in range(50):
        xs = opt.ask()
        assert xs.shape == (opt.popsize, 2)
        assert b.contains(xs).all()
        opt.tell(np.sum(xs, axis=1))


def test_solves_sphere_and_rosenbrock():
    for seed in range(3):
        opt = XNES(np.full(5, 0.5), sigma0=0.5, seed=seed)
        while opt.stop() is None:
            xs = opt.ask()
            opt.tell(np.sum(xs**2, axis=1))
        assert opt.fbest() < 1e-10, seed
    # xNES has no step-size path and sometimes stalls in Rosenbrock's valley: PINTS's XNES
    # solves 9/10 seeds at d = 3 with this budget, ours 19/20; require 8 of 10.
    ros = asktell.get("problem", "rosenbrock")()
    solved = 0
    for seed in range(10):
        opt = XNES(np.zeros(3), sigma0=0.5, seed=seed)
        for _ in range(2000):
            xs = opt.ask()
            opt.tell([ros(x) for x in xs])
        solved += opt.fbest() < 1e-8
    assert solved >= 8


def test_solves_the_notebook_problem():
    """The PINTS ask-and-tell notebook: 500 XNES iterations reach below f(true parameters)."""
    p = LogisticProblem()
    b = asktell.RectangularBoundaries([0, 200], [1, 1000])
    for seed in (1, 2):
        opt = asktell.create("xnes", x0=[0, 700], boundaries=b, seed=seed)
        for _ in range(500):
            xs = opt.ask()
            opt.tell([p(x) for x in xs])
        assert opt.fbest() <= p(p.true_parameters)
        np.testing.assert_allclose(opt.xbest(), [0.015, 500], rtol=0.01)


def test_own_stop_reasons():
    opt = XNES([1.0, 1.0], sigma0=0.5, seed=0)
    while (reason := opt.stop()) is None:
        xs = opt.ask()
        opt.tell(np.sum(xs**2, axis=1))
    assert set(reason) & {"tolx", "tolfun", "conditioncov"}
    opt = XNES([1.0, 1.0], sigma0=0.5, seed=0, max_iterations=3)
    for _ in range(3):
        opt.tell(np.zeros(opt.popsize) + 0 * opt.ask()[:, 0])
    assert opt.stop() == {"maxiter": 3}


def test_bad_arguments():
    with pytest.raises(ValueError, match="outside the boundaries"):
        XNES([2.0], boundaries=asktell.RectangularBoundaries([0], [1]))
    with pytest.raises(ValueError, match="2-dimensional"):
        XNES([0.5], boundaries=asktell.RectangularBoundaries([0, 0], [1, 1]))
    with pytest.raises(ValueError, match="sigma0 must be positive"):
        XNES([0.5], sigma0=-1)
    with pytest.raises(ValueError, match="popsize"):
        XNES([0.5], popsize=1)
    with pytest.raises(ValueError, match="finite"):
        XNES([np.nan])
    with pytest.raises(ValueError, match="strictly below"):
        asktell.RectangularBoundaries([1, 0], [0, 1])
