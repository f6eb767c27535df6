"""The test problems' batched evaluation agrees with evaluating row by row."""

import numpy as np
import pytest

import asktell


@pytest.mark.parametrize("name", ["sphere", "rosenbrock", "rastrigin", "logistic"])
def test_batch_equals_rows(name):
    problem = asktell.get("problem", name)()
    rng = np.random.default_rng(0)
    xs = rng.uniform([0.001, 200.0], [0.1, 1000.0], (9, 2)) if name == "logistic" else \
        rng.normal(size=(9, 6))
    np.testing.assert_allclose(problem.batch(xs), [problem(x) for x in xs], rtol=1e-12)
    assert problem.batch(xs).shape == (9,)
