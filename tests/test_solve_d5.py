"""Each optimiser solves the sphere and Rosenbrock at d = 5 within a stated budget, 3 seeds.

Budgets and targets (f below the target, evaluations at most the budget):

| method | sphere | Rosenbrock |
| --- | --- | --- |
| xnes, cmaes | 1e-8 in 5,000 | 1e-8 in 20,000 |
| nelder-mead | 1e-8 in 1,000 | 1e-8 in 2,000 |
| snes | 1e-8 in 5,000 | 1e-3 in 400,000 (*) |
| pso (40 particles) | 1e-8 in 10,000 | 1e-8 in 300,000 |

(*) SNES's separable model follows Rosenbrock's curved valley slowly: 1e-8 is out of reach.
"""

import numpy as np
import pytest

import asktell

pytest.importorskip("cma")

SPHERE = asktell.get("problem", "sphere")()
ROSENBROCK = asktell.get("problem", "rosenbrock")()

CASES = {
    # name: (options, (sphere target, budget), (rosenbrock target, budget))
    "xnes": ({}, (1e-8, 5_000), (1e-8, 20_000)),
    "cmaes": ({}, (1e-8, 5_000), (1e-8, 20_000)),
    "nelder-mead": ({"xatol": 1e-10, "fatol": 1e-14}, (1e-8, 1_000), (1e-8, 2_000)),
    "snes": ({"max_iterations": 50_000}, (1e-8, 5_000), (1e-3, 400_000)),
    "pso": ({"popsize": 40, "max_iterations": 10_000}, (1e-8, 10_000), (1e-8, 300_000)),
}


def solve(name, f, x0, target, budget, seed, options):
    opt = asktell.create(name, x0=x0, sigma0=0.5, seed=seed, **options)
    while opt.stop() is None and opt.fbest() > target and opt.evaluations < budget:
        opt.tell([f(x) for x in opt.ask()])
    return opt


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sphere_d5(name, seed):
    options, (target, budget), _ = CASES[name]
    opt = solve(name, SPHERE, np.full(5, 0.5), target, budget, seed, options)
    assert opt.fbest() <= target and opt.evaluations <= budget


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rosenbrock_d5(name, seed):
    options, _, (target, budget) = CASES[name]
    opt = solve(name, ROSENBROCK, np.zeros(5), target, budget, seed, options)
    assert opt.fbest() <= target and opt.evaluations <= budget
