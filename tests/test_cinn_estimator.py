"""The cINN estimator through the ask/tell protocol: conformance, data sets told, failures,
bit-identical resume, a short training run on the Gaussian task, the diagnostics' gate."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import asktell  # noqa: E402
from asktell import serialization  # noqa: E402
from asktell.protocol import ProtocolError  # noqa: E402
from asktell.testing import check_estimator  # noqa: E402
from asktell_cinn import CINN, GaussianIID, GaussianMean, TwoMoons  # noqa: E402
from asktell_cinn.diagnostics import diagnose, passes  # noqa: E402

SMALL = dict(n_blocks=2, hidden=8, summary_dim=4, summary_hidden=8, max_epochs=2, patience=2)



def test_registered_in_both_families():
    assert isinstance(asktell.create("cinn", simulator="two-moons", **SMALL), CINN)
    sims = asktell.plugins.registry().names("simulator")
    assert {"gaussian-mean", "two-moons", "slcp", "sir", "gaussian-iid"} <= set(sims)


def test_conformance():
    sim = GaussianMean(dim=2, n_obs=3)
    check_estimator(lambda **kw: CINN(simulator=sim, batch_size=6, **SMALL, **kw), simulate=sim)


def test_bad_arguments_are_refused_with_clear_messages():
    with pytest.raises(ValueError, match="give a prior"):
        CINN()
    with pytest.raises(ValueError, match="at least 2 parameters"):
        CINN(prior={"normal": [[0.0], [1.0]]})
    with pytest.raises(ValueError, match="summary must be one of"):
        CINN(simulator="two-moons", summary="gru")
    with pytest.raises(ValueError, match="truncate=True needs x_obs"):
        CINN(simulator="two-moons", truncate=True)
    with pytest.raises(ValueError, match="prior must be"):
        CINN(prior={"beta": [1, 2]})


def _batch(est, sim, rng):
    theta = est.ask()
    return theta, list(sim.simulate(np.asarray(theta), rng))


def test_tell_takes_data_sets_and_drops_failures():
    sim = TwoMoons()
    est = CINN(simulator=sim, batch_size=10, seed=0, **SMALL)
    with pytest.raises(ProtocolError):
        est.tell([np.zeros((1, 2))] * 10)
    rng = np.random.default_rng(0)
    _theta, xs = _batch(est, sim, rng)
    xs[3] = None
    xs[5] = np.full((1, 2), np.nan)
    before = serialization.dumps(est.state_dict())
    with pytest.raises(TypeError, match="value 0 is a list"):
        est.tell([[0.1, 0.2], *xs[1:]])
    with pytest.raises(ValueError, match="same number of features"):
        est.tell([np.zeros((1, 3)), *xs[1:]])
    with pytest.raises(ValueError, match="expects 10 results"):
        est.tell(xs[:9])
    assert serialization.dumps(est.state_dict()) == before, "a rejected tell changed the state"
    est.tell(xs)
    assert est.failures == 2 and est.n_simulations == 8
    rec = est.last_told.values
    assert np.isnan(rec[[3, 5]]).all() and np.isfinite(np.delete(rec, [3, 5])).all()
    # after training, a told data set's value is -log q(θ|x) under the network before training
    theta2, xs2 = _batch(est, sim, rng)
    want = -est.log_prob(np.asarray(theta2)[:1], xs2[0])
    est.tell(xs2)
    assert est.last_told.values[0] == pytest.approx(float(want[0]), rel=1e-5)
    # the identity summary needs one size; the features of later data must match
    with pytest.raises(ValueError, match="features"):
        est.sample(np.zeros((1, 3)), 5)


def test_untrained_estimator_refuses_to_sample():
    est = CINN(simulator="two-moons", **SMALL)
    with pytest.raises(RuntimeError, match="not trained yet"):
        est.sample(np.zeros((1, 2)), 3)


def test_deepset_estimator_takes_variable_size_data_sets():
    sim = GaussianIID(m_min=2, m_max=12)
    est = CINN(simulator=sim, summary="deepset", batch_size=40, seed=1, **SMALL)
    rng = np.random.default_rng(2)
    for _ in range(2):
        _theta, xs = _batch(est, sim, rng)
        assert len({x.shape[0] for x in xs}) > 1
        est.tell(xs)
    draws = est.sample([np.zeros((3, 1)), np.ones((20, 1))], 7, batched=True, seed=0)
    assert draws.shape == (2, 7, 2) and np.isfinite(draws).all()
    # a data set longer than any seen still works; the result matches one-at-a-time sampling
    one = est.sample(np.ones((20, 1)), 7, seed=5)
    two = est.sample([np.ones((20, 1))], 7, batched=True, seed=5)[0]
    np.testing.assert_allclose(one, two)


def test_resume_is_bit_identical():
    sim = GaussianMean(dim=3, n_obs=4)
    make = lambda seed: CINN(simulator=sim, summary="deepset", batch_size=30, seed=seed,  # noqa: E731
                             **SMALL)
    a = make(3)
    rng = np.random.default_rng(0)
    for _ in range(2):
        a.tell(_batch(a, sim, rng)[1])
    pending = a.ask()
    text = serialization.dumps(a.state_dict())
    b = make(99)
    b.load_state_dict(serialization.loads(text))
    assert b.awaiting_tell and np.array_equal(np.asarray(pending), np.asarray(b._pending_batch))
    xs = list(sim.simulate(np.asarray(pending), rng))
    a.tell(xs)
    b.tell(xs)
    sa, sb = a.state_dict(), b.state_dict()
    for s in (sa, sb):  # wall-clock seconds of each round are the only thing allowed to differ
        for h in s["method"]["history"]:
            h.pop("seconds")
    assert serialization.dumps(sa) == serialization.dumps(sb)
    assert np.array_equal(a.ask(), b.ask())
    x0 = sim(np.zeros(3))
    assert np.array_equal(a.sample(x0, 50), b.sample(x0, 50))
    assert np.array_equal(a.log_prob(np.zeros((2, 3)), x0), b.log_prob(np.zeros((2, 3)), x0))


def test_warm_start_keeps_the_best_checkpoint():
    sim = GaussianMean(dim=2, n_obs=5)
    est = CINN(simulator=sim, summary="deepset", batch_size=200, seed=0, n_blocks=2, hidden=16,
               summary_hidden=16, max_epochs=5)
    rng = np.random.default_rng(0)
    for _ in range(3):
        est.tell(_batch(est, sim, rng)[1])
    h = est.history
    assert [r["warm_start"] for r in h] == [False, True, True]
    assert all(r["best_loss"] <= r["initial_loss"] for r in h)
    assert h[-1]["simulations"] == 600


def test_short_training_on_the_gaussian_task_contracts_and_is_calibrated():
    """The conjugate Gaussian mean model (d = 2, 10 observations, sd 0.1): 2,000 simulations,
    30 epochs; posterior contraction >= 0.9 and SBC passing over 200 data sets x 200 draws,
    and posterior means within 0.5 posterior sd of the analytic ones."""
    torch.set_num_threads(1)
    sim = GaussianMean(dim=2)
    est = CINN(simulator=sim, summary="deepset", batch_size=2000, seed=0, n_blocks=3, hidden=32,
               summary_hidden=32, max_epochs=30, patience=30, lr=2e-3)
    est.tell(_batch(est, sim, np.random.default_rng(0))[1])
    diag = diagnose(est, sim, n_sets=200, n_draws=200, seed=1)
    assert diag.contraction.min() >= 0.9, diag.contraction
    assert diag.sbc_passed, diag.sbc_pvalue
    ok, reasons = passes(diag)
    assert ok, reasons
    # posterior means against the analytic posterior of the data sets diagnose() simulated
    rng = np.random.default_rng(1)
    theta = sim.prior.sample(200, rng)
    xs = sim.simulate(theta, rng)
    assert np.array_equal(theta, diag.theta)
    mean, sd = sim.posterior(xs)
    err = np.abs(diag.draws.mean(1) - mean) / sd
    assert np.median(err) < 0.5, np.median(err)


def test_gate_fails_an_untrained_model_that_sbc_alone_passes():
    sim = GaussianMean(dim=2)
    est = CINN(simulator=sim, summary="deepset", batch_size=200, seed=0, lr=0.0, **SMALL)
    est.tell(_batch(est, sim, np.random.default_rng(0))[1])
    diag = diagnose(est, sim, n_sets=200, n_draws=200, seed=1)
    assert diag.sbc_passed  # the prior is perfectly calibrated ...
    ok, reasons = passes(diag)
    assert not ok and "contraction" in reasons[0]  # ... but does not contract


def test_truncated_proposals_stay_in_the_high_density_region():
    sim = GaussianMean(dim=2, n_obs=10)
    x_obs = sim(np.array([0.5, -0.5]))
    est = CINN(simulator=sim, x_obs=x_obs, truncate=True, summary="deepset", batch_size=1000,
               seed=0, n_blocks=3, hidden=32, summary_hidden=32, max_epochs=15, lr=2e-3)
    rng = np.random.default_rng(0)
    est.tell(_batch(est, sim, rng)[1])
    theta = np.asarray(est.ask())
    # the prior spreads over ±3; the truncated prior stays near the posterior (sd 0.03)
    assert np.abs(theta - np.array([0.5, -0.5])).max() < 0.6
    assert theta.std(0).max() < 0.2


@pytest.mark.gpu
def test_cuda_training_sampling_and_checkpoint_to_cpu():
    sim = GaussianMean(dim=2)
    est = CINN(simulator=sim, summary="deepset", batch_size=300, seed=0, device="cuda", **SMALL)
    est.tell(_batch(est, sim, np.random.default_rng(0))[1])
    x = sim(np.zeros(2))
    draws = est.sample(x, 100, seed=1)
    assert np.isfinite(draws).all()
    cpu = CINN(simulator=sim, summary="deepset", batch_size=300, seed=0, device="cpu", **SMALL)
    cpu.load_state_dict(serialization.loads(serialization.dumps(est.state_dict())))
    np.testing.assert_allclose(cpu.sample(x, 100, seed=1), draws, atol=1e-4)


def test_training_works_with_grad_switched_off_globally():
    """Keras' torch backend switches autograd off process-wide; training must not care."""
    sim = GaussianMean(dim=2, n_obs=3)
    est = CINN(simulator=sim, batch_size=50, seed=0, **SMALL)
    with torch.no_grad():
        est.tell(_batch(est, sim, np.random.default_rng(0))[1])
    assert est.history[-1]["best_loss"] < est.history[-1]["initial_loss"]


def test_lstm_summary_on_the_sir_time_series():
    from asktell_cinn import SIR

    sim = SIR()
    est = CINN(simulator=sim, summary="lstm", batch_size=60, seed=0, **SMALL)
    est.tell(_batch(est, sim, np.random.default_rng(0))[1])
    x = sim(np.log([0.4, 0.125]))
    draws = est.sample(x, 20, seed=0)
    assert draws.shape == (20, 2) and np.isfinite(draws).all()
    assert est.summarise(x).shape == (4,)
