"""The toy simulators: shapes, reproducible per-θ seeding, the analytic Gaussian posterior,
priors and truncated sampling."""

import numpy as np
import pytest

pytest.importorskip("torch")

from asktell_cinn import SIR, SLCP, BoxUniform, DiagNormal, GaussianIID, GaussianMean, TwoMoons
from asktell_cinn.simulators import simulator


@pytest.mark.parametrize("cls, shape", [(GaussianMean, (10, 5)), (TwoMoons, (1, 2)),
                                        (SLCP, (4, 2)), (SIR, (16, 1))])
def test_shapes_and_per_theta_seeding(cls, shape):
    sim = cls(seed=4)
    theta = sim.prior.sample(3, np.random.default_rng(0))
    xs = sim.simulate(theta, np.random.default_rng(1))
    assert xs.shape == (3, *shape) and np.isfinite(xs).all()
    a, b = sim(theta[0]), cls(seed=4)(theta[0].copy())
    assert a.shape == shape and np.array_equal(a, b)        # same θ, same seed: same data
    assert not np.array_equal(a, cls(seed=5)(theta[0]))      # another seed: other data
    with pytest.raises(ValueError, match="takes θ of shape"):
        sim(np.zeros(sim.dim + 1))


def test_gaussian_posterior_is_the_conjugate_one():
    sim = GaussianMean()
    x = sim(np.array([0.3, -1.0, 2.0, 0.0, 0.5]))
    mean, sd = sim.posterior(x)
    np.testing.assert_allclose(mean, 1000 / 1001 * x.mean(0))
    np.testing.assert_allclose(sd, np.sqrt(1 / 1001))
    # importance check of the analytic posterior against prior × likelihood on a grid (d = 1)
    one = GaussianMean(dim=1, n_obs=10, sigma=0.1)
    x1 = one(np.array([0.7]))
    grid = np.linspace(0.0, 1.5, 200001)
    logp = -0.5 * grid**2 - 0.5 * ((x1[:, 0][None, :] - grid[:, None]) ** 2).sum(1) / 0.01
    w = np.exp(logp - logp.max())
    m1, s1 = one.posterior(x1)
    assert abs((w * grid).sum() / w.sum() - m1[0]) < 1e-6
    assert abs(np.sqrt((w * (grid - m1[0]) ** 2).sum() / w.sum()) - s1[0]) < 1e-6


def test_two_moons_and_slcp_follow_their_definitions():
    rng = np.random.default_rng(0)
    x = TwoMoons().simulate(np.zeros((20000, 2)), rng)[:, 0]
    # θ = 0: x = (r cos a + 0.25, r sin a), a ∈ (-π/2, π/2), r ≈ 0.1
    r = np.hypot(x[:, 0] - 0.25, x[:, 1])
    assert abs(r.mean() - 0.1) < 1e-3 and (x[:, 0] >= 0.25 - 0.05).all()
    theta = np.array([[1.0, -2.0, 1.2, 0.8, 0.5]] * 20000)
    y = SLCP().simulate(theta, rng).reshape(-1, 2)
    np.testing.assert_allclose(y.mean(0), [1.0, -2.0], atol=0.02)
    np.testing.assert_allclose(y.std(0), [1.2**2, 0.8**2], rtol=0.02)
    assert abs(np.corrcoef(y.T)[0, 1] - np.tanh(0.5)) < 0.02


def test_sir_and_iid_models():
    sim = SIR()
    x = sim.simulate(np.log([[0.6, 0.1]] * 50), np.random.default_rng(0))
    assert ((x >= 0) & (x <= 1)).all() and x.max() > 0.1   # an epidemic with R0 = 6 takes off
    iid = GaussianIID(m_min=3, m_max=9)
    xs = iid.simulate(np.array([[2.0, np.log(0.5)]] * 400), np.random.default_rng(0))
    sizes = {x.shape[0] for x in xs}
    assert sizes <= set(range(3, 10)) and len(sizes) > 3
    allx = np.concatenate(xs)[:, 0]
    assert abs(allx.mean() - 2.0) < 0.05 and abs(allx.std() - 0.5) < 0.03
    with pytest.raises(ValueError, match="unknown simulator"):
        simulator("lotka")


def test_priors_and_box_truncation():
    rng = np.random.default_rng(0)
    for prior in (BoxUniform([-1, 0], [1, 4]), DiagNormal([0, 1], [1, 0.5])):
        s = prior.sample(50000, rng)
        np.testing.assert_allclose(s.mean(0), prior.mean(), atol=0.02)
        np.testing.assert_allclose(s.std(0), prior.std(), rtol=0.02)
        lo, hi = prior.mean() - 0.3 * prior.std(), prior.mean() + 0.5 * prior.std()
        b = prior.sample_box(20000, lo, hi, rng)
        assert (b >= lo).all() and (b <= hi).all()
        # inside the box the density shape is the prior's: compare with rejection sampling
        ref = s[((s >= lo) & (s <= hi)).all(1)]
        np.testing.assert_allclose(b.mean(0), ref.mean(0), atol=0.02 * prior.std().max())
    assert np.isneginf(BoxUniform([0, 0], [1, 1]).log_prob(np.array([[2.0, 0.5]]))[0])
    with pytest.raises(ValueError, match="low < high"):
        BoxUniform([1, 0], [0, 1])
