"""SNES: conformance, the update against the paper's per-sample formula, solving problems."""

import math

import numpy as np
import pytest

import asktell
from asktell.testing import check_optimiser
from asktell_optim import SNES


def test_conformance():
    check_optimiser(lambda **kw: SNES([1.0, -2.0, 0.5], sigma0=0.3, **kw))
    b = asktell.RectangularBoundaries([-1, -1], [1, 1])
    check_optimiser(lambda **kw: SNES([0.9, 0.0], boundaries=b, **kw))


def test_defaults():
    opt = SNES(np.zeros(10), sigma0=1.0)
    assert opt.popsize == 4 + int(3 * math.log(10))
    assert opt._eta_sigma == pytest.approx(0.2 * (3 + math.log(10)) / math.sqrt(10))


def test_update_matches_per_sample_reference():
    opt = SNES([0.3, -0.2, 0.7, 1.0], sigma0=[0.5, 1.0, 2.0, 0.1], seed=5)
    for _ in range(5):
        mu, s = opt.mean(), opt.stds()
        xs = opt.ask()
        zs = opt._zs.copy()
        fs = np.sum(xs**2, axis=1) + np.cos(3 * xs[:, 1])
        opt.tell(fs)
        zs = zs[np.argsort(fs)]
        us = opt._us
        mu_ref = mu + s * sum(u * z for u, z in zip(us, zs))
        s_ref = s * np.exp(0.5 * opt._eta_sigma * sum(u * (z**2 - 1) for u, z in zip(us, zs)))
        np.testing.assert_allclose(opt.mean(), mu_ref, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(opt.stds(), s_ref, rtol=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_solves_sphere_d5(seed):
    opt = SNES(np.full(5, 1.0), sigma0=0.5, seed=seed)
    while opt.stop() is None:
        xs = opt.ask()
        opt.tell(np.sum(xs**2, axis=1))
    assert opt.fbest() < 1e-10 and opt.evaluations < 6000


def test_high_dimension():
    """d = 1000: O(λ d) per iteration; the mean's value drops tenfold in 3,000 iterations."""
    opt = SNES(np.ones(1000), sigma0=1.0, seed=0)
    for _ in range(3000):
        xs = opt.ask()
        opt.tell(np.sum(xs**2, axis=1))
    m = opt.mean()
    assert m @ m < 100
