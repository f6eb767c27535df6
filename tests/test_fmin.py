import numpy as np
import pytest

import asktell


def shifted(x):
    return float(np.sum((np.asarray(x) - 1.0) ** 2))


@pytest.mark.parametrize("method", ["cmaes", "xnes", "snes", "pso", "nelder-mead"])
def test_fmin_every_method(method):
    r = asktell.fmin(shifted, [0.0, 0.0, 0.0], 0.5, method=method, seed=2,
                     max_evaluations=20000, **({"xatol": 1e-8, "fatol": 1e-12}
                                               if method == "nelder-mead" else {}))
    assert r.fbest < 1e-8, (method, r)
    np.testing.assert_allclose(r.xbest, 1.0, atol=1e-4)


def test_fmin_parallel_restarts_target():
    ras = asktell.get("problem", "rastrigin")()
    r = asktell.fmin(ras, np.full(3, 2.0), 2.0, restarts="bipop", seed=3, target=1e-6,
                     n_workers=2, max_evaluations=200_000)
    assert r.stop_reason == {"target": 1e-6} and r.fbest <= 1e-6


def test_fmin_maximise_and_failures():
    def f(x):
        if x[0] > 2:
            raise ValueError("out of model range")
        return -float(np.sum((x - 1.5) ** 2))

    r = asktell.fmin(f, [0.0, 0.0], 0.5, direction="maximise", seed=0, max_iterations=300)
    assert r.fbest > -1e-8 and r.failures >= 0
