"""IPOP/BIPOP/independent restarts inside ask/tell: conformance, schedules, Rastrigin, resume."""

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


@pytest.mark.parametrize("name", ["xnes", "cmaes"])
def test_conformance_across_independent_restarts(name):
    box = asktell.RectangularBoundaries([-3.0, -3.0], [3.0, 3.0])
    check_optimiser(lambda **kw: asktell.create(
        name, x0=[1.0, 2.0], sigma0=0.5, boundaries=box, restarts="independent",
        max_restarts=3, max_iterations=3, **kw), n_steps=10)


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


BOX = asktell.RectangularBoundaries([-5.0, -5.0, -5.0], [5.0, 5.0, 5.0])


def independent(seed=3, **kw):
    return asktell.create("xnes", x0=np.full(3, 4.0), sigma0=1.0, boundaries=BOX,
                          restarts="independent", seed=seed, **kw)


def drive(opt, f, budget):
    """Run to the end; per run: its starting point, batch sizes, evaluations, and whether the
    run's own stop() had fired before the next run asked."""
    runs = []
    while opt.stop() is None and opt.evaluations < budget:
        before, stopped = opt.restart_index, opt.inner.stop() is not None
        xs = opt.ask()
        if not runs or opt.restart_index != before:
            assert not runs or stopped  # a new run only once the last one stopped
            runs.append({"x0": opt.inner.x0.copy(), "sizes": set(), "evals": 0})
        opt.tell([f(x) for x in xs])
        runs[-1]["sizes"].add(len(xs))
        runs[-1]["evals"] += len(xs)
    return runs


def test_independent_restarts_on_stagnation_from_fresh_points_inside_the_bounds():
    opt = independent(max_restarts=4)
    runs = drive(opt, RASTRIGIN, 10**6)  # each xNES run stalls in a local minimum
    assert len(runs) == 5 and opt.stop()["restarts"] == 4
    assert set(opt.stop()) & {"tolx", "tolfun", "maxiter"}  # why the last run stopped
    assert np.array_equal(runs[0]["x0"], np.full(3, 4.0))
    starts = np.array([r["x0"] for r in runs[1:]])
    assert BOX.contains(starts).all()
    assert len({tuple(x) for x in starts}) == len(starts)  # a new point every time
    assert not np.any(np.all(starts == 4.0, axis=1))
    # same settings every run: population, step size
    pop = asktell.create("xnes", x0=np.full(3, 4.0)).popsize
    assert all(r["sizes"] == {pop} for r in runs)
    assert np.array_equal(opt.inner.sigma0, np.ones(3))
    # the budgets add up: every evaluation belongs to exactly one run
    assert sum(r["evals"] for r in runs) == opt.evaluations


def test_independent_restarts_repeat_with_the_seed_and_resume_exactly():
    a, b, c = independent(seed=5), independent(seed=5), independent(seed=6)
    asked = {k: [] for k in "abc"}
    while a.restart_index < 2:  # through two restarts
        assert a.iterations < 10**4
        for k, opt in zip("abc", (a, b, c)):
            xs = opt.ask()
            asked[k].append(xs.copy())
            opt.tell([RASTRIGIN(x) for x in xs])
    assert all(np.array_equal(x, y) for x, y in zip(asked["a"], asked["b"]))
    assert not all(np.array_equal(x, y) for x, y in zip(asked["a"], asked["c"]))
    # a resumed copy asks what the original asks, across later restarts
    twin = independent(seed=99)
    twin.load_state_dict(a.state_dict())
    start = a.restart_index
    while a.restart_index < start + 2:
        xs = a.ask()
        assert np.array_equal(xs, twin.ask())
        f = [RASTRIGIN(x) for x in xs]
        a.tell(f)
        twin.tell(f)


def test_independent_restarts_in_a_domain_without_boundaries():
    from asktell.restarts import Restarts

    opt = Restarts(asktell.get("optimiser", "xnes"), {"x0": [0.0, 0.0], "sigma0": 2.0},
                   schedule="independent", domain=asktell.RectangularBoundaries([1, 1], [2, 2]),
                   max_restarts=2, seed=0)
    assert opt.inner.boundaries is None  # the search itself stays unbounded
    runs = drive(opt, lambda x: float(np.sum(x**2)), 10**6)
    assert len(runs) == 3
    assert all(np.all((1 <= r["x0"]) & (r["x0"] < 2)) for r in runs[1:])


def test_bad_schedule():
    with pytest.raises(ValueError, match=r"'ipop' or 'bipop' .* or 'independent', got 'lipop'"):
        asktell.create("cmaes", x0=[1.0, 1.0], restarts="lipop")
    with pytest.raises(ValueError, match="give boundaries"):
        asktell.create("cmaes", x0=[1.0, 1.0], restarts="independent")
    with pytest.raises(ValueError, match="max_restarts"):
        asktell.create("cmaes", x0=[1.0, 1.0], restarts="ipop", max_restarts=-1)
