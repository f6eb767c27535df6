"""The example third-party estimator (examples/asktell-example-estimator), written from the
plugin guide alone: it passes the estimator conformance suite, is found by name, runs under the
controller with a store, resumes, and learns the posterior of a conjugate Gaussian model."""

import os

import numpy as np
import pytest

import asktell
from asktell.testing import check_estimator

if os.environ.get("ASKTELL_REQUIRE_EXAMPLE_PLUGIN") == "1":
    import asktell_example_estimator as example
else:
    example = pytest.importorskip("asktell_example_estimator",
                                  reason="scripts/test.sh installs the example estimator")

SIGMA, M = 0.5, 20


def simulate(theta, rng=None):
    """x_j ~ N(θ, σ²) iid, M rows: the conjugate model whose posterior is known exactly."""
    rng = rng if rng is not None else np.random.default_rng(
        np.frombuffer(np.asarray(theta, float).tobytes(), np.uint32).tolist())
    return np.asarray(theta) + SIGMA * rng.standard_normal((M, len(theta)))


def make(**kw):
    return asktell.create("linear-gaussian", prior_mean=[0.0, 1.0], prior_sd=[1.0, 2.0],
                          batch_size=50, **kw)


def test_conforms_and_is_registered():
    check_estimator(make, simulate=simulate)
    entry = asktell.registry().entry("optimiser", "linear-gaussian")
    assert entry.distribution == "asktell-example-estimator"
    assert isinstance(make(seed=0), example.LinearGaussian)


def test_learns_the_conjugate_posterior():
    est = make(seed=1)
    for _ in range(10):
        theta = est.ask()
        est.tell([simulate(t) for t in theta])
    x_obs = simulate(np.array([0.3, 2.0]), np.random.default_rng(7))
    draws = est.sample(x_obs, 20000, seed=0)
    prec = 1 / np.array([1.0, 4.0]) + M / SIGMA**2
    mean = (np.array([0.0, 1.0]) / np.array([1.0, 4.0]) + x_obs.sum(0) / SIGMA**2) / prec
    np.testing.assert_allclose(draws.mean(0), mean, atol=0.03)
    np.testing.assert_allclose(draws.std(0), 1 / np.sqrt(prec), rtol=0.1)
    # the recorded -log q falls as the estimate improves
    first, last = est.last_told.values, None
    theta = est.ask()
    est.tell([simulate(t) for t in theta])
    last = est.last_told.values
    assert np.mean(last) < np.mean(first) + 1.0


def test_stored_run_resumes_identically(tmp_path):
    ev = asktell.SequentialEvaluator(simulate, output="object")
    ref = asktell.RunStore.create(tmp_path / "ref", {})
    asktell.Controller(make(seed=2), ev, stop={"max_iterations": 6}, store=ref,
                       progress=False).run()
    ref.close()
    part = asktell.RunStore.create(tmp_path / "part", {})
    asktell.Controller(make(seed=2), ev, stop={"max_iterations": 3}, store=part,
                       progress=False, checkpoint_every=2).run()
    part.close()
    ctl = asktell.Controller.resume(tmp_path / "part", make(seed=2), ev,
                                    stop={"max_iterations": 6}, progress=False)
    ctl.run()
    ctl.store.close()
    with asktell.RunStore.open(tmp_path / "ref", readonly=True) as a, \
            asktell.RunStore.open(tmp_path / "part", readonly=True) as b:
        assert [x.values.tobytes() for x in a.batches()] == \
            [x.values.tobytes() for x in b.batches()]
        assert a.trace()["best"].tolist() == b.trace()["best"].tolist()
