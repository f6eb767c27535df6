"""IPOP/BIPOP restarts inside ask/tell: conformance, schedules, Rastrigin, resume."""

import numpy as np
import pytest

import asktell
from asktell.testing import check_optimiser

pytest.importorskip("cma")

RASTRIGIN = asktell.get("problem", "rastrigin")()


@pytest.mark.parametrize("name", ["cmaes", "xnes", "snes", "pso"])
@pytest.mark.parametrize("schedule", ["ipop", "bipop"])
def test_conformance_across_restarts(name, schedule):
    check_optimiser(lambda **kw: asktell.create(
        name, x0=[1.0, 2.0], sigma0=0.5, restarts=schedule, max_restarts=3, max_iterations=3,
        **kw), n_steps=10)


def run(opt, f, budget):
    sizes = {}
    while opt.stop() is None and opt.evaluations < budget:
        xs = opt.ask()
        sizes.setdefault(getattr(opt, "restart_index", 0), len(xs))
        opt.tell([f(x) for x in xs])
    return sizes


def test_ipop_doubles_the_population():
    opt = asktell.create("cmaes", x0=np.full(3, 2.0), sigma0=2.0, restarts="ipop",
                         max_restarts=3, seed=1)
    sizes = run(opt, RASTRIGIN, 10**6)
    # pycma's rule: floor((4 + 3 ln 3) * 2^k) = 7, 14, 29, 58
    assert sizes == {0: 7, 1: 14, 2: 29, 3: 58}
    assert opt.stop()["restarts"] == 3


def test_bipop_interleaves_small_runs():
    opt = asktell.create("cmaes", x0=np.full(3, 2.0), sigma0=2.0, restarts="bipop",
                         max_restarts=3, seed=1)
    sizes = run(opt, RASTRIGIN, 10**6)
    large = [s for s in sizes.values() if s in (14, 29, 58)]
    small = [s for s in list(sizes.values())[1:] if s < 14]
    assert large == [14, 29, 58] and small, sizes


def test_bipop_solves_rastrigin_where_plain_cmaes_does_not():
    x0, seed = np.full(5, 3.0), 0
    plain = asktell.create("cmaes", x0=x0, sigma0=2.0, seed=seed)
    run(plain, RASTRIGIN, 10**5)
    assert plain.fbest() > 1.0  # a local minimum
    bipop = asktell.create("cmaes", x0=x0, sigma0=2.0, seed=seed, restarts="bipop")
    while bipop.stop() is None and bipop.fbest() > 1e-8 and bipop.evaluations < 10**5:
        bipop.tell([RASTRIGIN(x) for x in bipop.ask()])
    assert bipop.fbest() < 1e-8 and bipop.restart_index > 0


def test_bad_schedule():
    with pytest.raises(ValueError, match="'ipop' or 'bipop'"):
        asktell.create("cmaes", x0=[1.0, 1.0], restarts="lipop")
    with pytest.raises(ValueError, match="max_restarts"):
        asktell.create("cmaes", x0=[1.0, 1.0], restarts="ipop", max_restarts=-1)
