"""PSO: conformance, the velocity update against a per-particle reference, bounds, solving."""

import numpy as np
import pytest

import asktell
from asktell.testing import check_optimiser
from asktell_optim import PSO
from asktell_optim.pso import constriction


def test_conformance():
    check_optimiser(lambda **kw: PSO([1.0, 2.0, 3.0], sigma0=0.5, **kw))
    b = asktell.RectangularBoundaries([-1, -1], [1, 1])
    check_optimiser(lambda **kw: PSO([0.5, 0.5], boundaries=b, **kw))


def test_constriction_value():
    assert constriction() == pytest.approx(0.729843788)


@pytest.mark.parametrize("chi", [None, 1.0])
def test_update_matches_per_particle_reference(chi):
    """chi=1 is PINTS's update; the default adds Clerc & Kennedy's constriction."""
    opt = PSO([0.5, -0.5, 1.0], sigma0=1.0, popsize=6, chi=chi, local_global_balance=0.3,
              seed=3)
    c = constriction() if chi is None else chi
    for _ in range(4):
        xs = opt.ask().copy()
        vs, pl, fl = opt._vs.copy(), opt._pl.copy(), opt._fl.copy()
        fs = np.sum(xs**2, axis=1)
        rng_copy = np.random.default_rng()
        rng_copy.bit_generator.state = opt._rng.bit_generator.state
        opt.tell(fs)
        for i in range(len(xs)):
            if fs[i] < fl[i]:
                fl[i], pl[i] = fs[i], xs[i]
        g = pl[np.argmin(fl)]
        u = rng_copy.uniform(0, 1, (2, *xs.shape))
        for i in range(len(xs)):
            v = c * (vs[i] + 0.3 * 4.1 * u[0, i] * (pl[i] - xs[i])
                     + 0.7 * 4.1 * u[1, i] * (g - xs[i]))
            np.testing.assert_allclose(opt._vs[i], v, rtol=1e-12)
            np.testing.assert_allclose(opt._xs[i], xs[i] + v, rtol=1e-12)


def test_bounded_swarm_stays_inside():
    b = asktell.RectangularBoundaries([0, 0], [1, 1])
    opt = PSO([0.5, 0.5], boundaries=b, chi=1.0, seed=1)  # unconstricted: particles fly out
    for _ in range(100):
        xs = opt.ask()
        assert b.contains(xs).all() and len(xs) == opt.popsize
        opt.tell(-np.sum(xs, axis=1))  # optimum in the corner (1, 1)
    np.testing.assert_allclose(opt.xbest(), [1, 1], atol=1e-6)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_solves_sphere_and_rosenbrock_d5(seed):
    opt = PSO(np.zeros(5) + 1.0, sigma0=1.0, popsize=30, seed=seed)
    while opt.stop() is None:
        xs = opt.ask()
        opt.tell(np.sum(xs**2, axis=1))
    assert opt.fbest() < 1e-10
    ros = asktell.get("problem", "rosenbrock")()
    opt = PSO(np.zeros(5), sigma0=1.0, popsize=40, seed=seed)
    for _ in range(2500):  # 100,000 evaluations
        xs = opt.ask()
        opt.tell([ros(x) for x in xs])
    assert opt.fbest() < 1e-3
