"""BernoulliRBM: exact log Z, normalisation, CD gradient, AIS, training quality, input checks."""

import itertools
import pickle

import numpy as np
import pytest
import torch
from scipy.special import logsumexp

from asktell import serialization
from asktell_rbm import BernoulliRBM, ais_log_partition, exact_log_partition, load_digits_binary


def all_states(n):
    return np.array(list(itertools.product([0, 1], repeat=n)), dtype=float)


def random_rbm(n_v, n_h, seed, scale=1.0, **kw):
    rbm = BernoulliRBM(n_v, n_h, seed=seed, dtype=torch.float64, **kw)
    g = torch.Generator().manual_seed(seed)
    rbm.W = scale * torch.randn(n_v, n_h, generator=g, dtype=torch.float64)
    rbm.b = scale * torch.randn(n_v, generator=g, dtype=torch.float64)
    rbm.c = scale * torch.randn(n_h, generator=g, dtype=torch.float64)
    return rbm


def brute_force_log_z(rbm):
    vs, hs = all_states(rbm.n_visible), all_states(rbm.n_hidden)
    W, b, c = (t.double().numpy() for t in (rbm.W, rbm.b, rbm.c))
    neg_energy = (vs @ b)[:, None] + (hs @ c)[None, :] + vs @ W @ hs.T
    return logsumexp(neg_energy)


@pytest.mark.parametrize(("n_v", "n_h"), [(6, 4), (4, 6)])
def test_exact_log_z_matches_brute_force_over_all_v_h(n_v, n_h):
    rbm = random_rbm(n_v, n_h, seed=3)
    assert rbm.log_partition("exact").log_z == pytest.approx(brute_force_log_z(rbm), abs=1e-10)


def test_exact_log_z_chunks_agree():
    rbm = random_rbm(12, 9, seed=4)
    a = exact_log_partition(rbm.W, rbm.b, rbm.c, chunk=2**15)
    b = exact_log_partition(rbm.W, rbm.b, rbm.c, chunk=7)
    assert a == pytest.approx(b, abs=1e-10)


def test_probabilities_sum_to_one_over_all_visibles():
    rbm = random_rbm(6, 4, seed=5, scale=2.0)
    p = np.exp(rbm.log_likelihood(all_states(6)))
    assert p.sum() == pytest.approx(1.0, abs=1e-12)


def test_cached_log_z_follows_parameter_changes():
    rbm = random_rbm(5, 3, seed=10)
    z0 = rbm.log_partition().log_z
    rbm.W.mul_(2.0)  # in place
    z1 = rbm.log_partition().log_z
    rbm.b = rbm.b + 1.0  # replaced
    z2 = rbm.log_partition().log_z
    assert len({z0, z1, z2}) == 3
    assert z2 == pytest.approx(brute_force_log_z(rbm), abs=1e-10)


def test_exact_log_z_refuses_large_models():
    rbm = BernoulliRBM(30, 30, seed=0)
    with pytest.raises(ValueError, match="ais"):
        rbm.log_partition("exact")


def exact_mean_nll(W, b, c, data):
    """Exact mean negative log-likelihood of ``data`` (float64 numpy)."""
    vs = all_states(W.shape[0])
    def neg_free(v):
        return v @ b + np.logaddexp(0, c + v @ W).sum(axis=1)
    return -(neg_free(data).mean() - logsumexp(neg_free(vs)))


def test_cd_gradient_with_large_k_equals_finite_difference_of_exact_nll():
    rbm = random_rbm(5, 3, seed=6, scale=0.7)
    data = np.array([[1, 0, 1, 1, 0], [0, 0, 1, 0, 1], [1, 1, 1, 0, 0]], dtype=float)
    W, b, c = (t.numpy().copy() for t in (rbm.W, rbm.b, rbm.c))
    eps = 1e-6
    fd = {"W": np.zeros_like(W), "b": np.zeros_like(b), "c": np.zeros_like(c)}
    for name, arr in (("W", W), ("b", b), ("c", c)):
        for idx in np.ndindex(arr.shape):
            old = arr[idx]
            arr[idx] = old + eps
            up = exact_mean_nll(W, b, c, data)
            arr[idx] = old - eps
            down = exact_mean_nll(W, b, c, data)
            arr[idx] = old
            fd[name][idx] = -(up - down) / (2 * eps)  # gradient of the log-likelihood
    # negative phase: 30,000 chains started at the data, 200 sweeps (mixes on 5x3)
    init = np.tile(data, (10_000, 1))
    grad = rbm.cd_gradient(data, k=200, init=init)
    for name in ("W", "b", "c"):
        np.testing.assert_allclose(grad[name], fd[name], atol=0.02, err_msg=name)
    # and CD-1 from the data is measurably biased here (the test can tell them apart)
    cd1 = rbm.cd_gradient(data, k=1)
    assert np.abs(cd1["W"] - fd["W"]).max() > 0.05


def test_ais_within_three_sigma_of_exact_on_16_hidden_units():
    x, _ = load_digits_binary()
    rbm = BernoulliRBM(64, 16, lr=0.05, momentum=0.9, batch_size=50, epochs=10, seed=0,
                       dtype=torch.float64).fit(x)
    exact = rbm.log_partition("exact")
    est = rbm.log_partition("ais", n_runs=100, betas=3000)
    assert est.estimate and not exact.estimate
    sigma_band = (est.upper - est.lower) / 2
    assert est.lower <= exact.log_z <= est.upper, (exact, est)
    assert sigma_band < 1.0  # a useful band, not a vacuous one


def test_ais_is_exact_without_couplings():
    g = torch.Generator().manual_seed(0)
    b = torch.randn(5, dtype=torch.float64)
    c = torch.randn(3, dtype=torch.float64)
    W = torch.zeros(5, 3, dtype=torch.float64)
    r = ais_log_partition(W, b, c, base_bias=b, n_runs=5, betas=20, generator=g)
    assert r.log_z == pytest.approx(exact_log_partition(W, b, c), abs=1e-10)


def test_training_on_digits_beats_independent_bernoulli():
    x, _ = load_digits_binary()
    p = x.mean(axis=0)
    with np.errstate(divide="ignore"):
        indep = np.where(x == 1, np.log(p), np.log1p(-p)).sum(axis=1).mean()
    assert indep == pytest.approx(-25.1, abs=0.05)
    rbm = BernoulliRBM(64, 16, lr=0.05, momentum=0.9, batch_size=50, epochs=30, seed=1).fit(x)
    ll = rbm.log_likelihood(x).mean()
    assert ll > indep + 5.0, ll  # about -18.3 nats/image


def test_shipped_digits_match_scikit_learn():
    sk = pytest.importorskip("sklearn.datasets")
    d = sk.load_digits()
    x, y = load_digits_binary()
    np.testing.assert_array_equal(x, (d.data >= 8).astype(np.uint8))
    np.testing.assert_array_equal(y, d.target)


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        (np.array([[0, 1, 0.5, 1]]), r"only 0 and 1; got 0.5 at index \(0, 2\)"),
        (np.array([[0, 1, 2, 1]]), r"got 2.0 at index \(0, 2\)"),
        (np.array([[0, -1, 0, 1]]), r"got -1.0"),
        (np.zeros((2, 3)), r"4 columns .* shape \(2, 3\)"),
        (np.zeros((2, 2, 4)), r"2-D .* shape \(2, 2, 4\)"),
        (np.array([["a", "b", "c", "d"]]), "dtype <U1"),
        (np.array([[0, 1, np.nan, 1]]), "only 0 and 1; got nan"),
    ],
)
def test_non_binary_input_is_rejected(bad, match):
    rbm = BernoulliRBM(4, 2, seed=0)
    for method in (rbm.fit, rbm.partial_fit, rbm.transform, rbm.free_energy, rbm.gibbs):
        with pytest.raises(ValueError, match=match):
            method(bad)


def test_free_energy_and_transform_formulas():
    rbm = random_rbm(4, 3, seed=8)
    v = all_states(4)
    W, b, c = (t.numpy() for t in (rbm.W, rbm.b, rbm.c))
    np.testing.assert_allclose(rbm.free_energy(v).numpy(),
                               -(v @ b) - np.logaddexp(0, c + v @ W).sum(1), atol=1e-12)
    np.testing.assert_allclose(rbm.transform(v).numpy(), 1 / (1 + np.exp(-(c + v @ W))),
                               atol=1e-12)


def test_gibbs_sampling_reaches_the_model_distribution():
    rbm = random_rbm(4, 3, seed=9)
    s = rbm.sample(40_000, k=50).numpy()
    codes = s @ (2 ** np.arange(3, -1, -1))
    freq = np.bincount(codes.astype(int), minlength=16) / len(s)
    p = np.exp(rbm.log_likelihood(all_states(4)))
    assert np.abs(freq - p).max() < 0.01


def test_persistent_chains_are_independent_of_batch_size():
    x, _ = load_digits_binary()
    rbm = BernoulliRBM(64, 8, persistent=True, n_chains=37, batch_size=10, seed=2)
    rbm.fit(x[:100], epochs=1)
    assert rbm.chains.shape == (37, 64)
    rbm.partial_fit(x[:50])
    assert rbm.chains.shape == (37, 64)


def test_persistent_cd_learns_digits():
    x, _ = load_digits_binary()
    rbm = BernoulliRBM(64, 16, persistent=True, n_chains=10, lr=0.05, momentum=0.0,
                       batch_size=10, epochs=10, seed=3).fit(x)
    assert rbm.log_likelihood(x).mean() > -22.0  # about -20.4


def test_same_seed_same_model_and_resume_is_bit_identical():
    x, _ = load_digits_binary()
    a = BernoulliRBM(64, 8, persistent=True, n_chains=20, seed=5, epochs=2).fit(x[:300])
    b = BernoulliRBM(64, 8, persistent=True, n_chains=20, seed=5, epochs=2).fit(x[:300])
    assert torch.equal(a.W, b.W)
    state = serialization.loads(serialization.dumps(a.state_dict()))
    c = BernoulliRBM(64, 8, persistent=True, n_chains=20, seed=99)
    c.load_state_dict(state)
    d = pickle.loads(pickle.dumps(a))
    for m in (a, c, d):
        m.partial_fit(x[300:600])
    assert torch.equal(a.W, c.W) and torch.equal(a.W, d.W)
    assert torch.equal(a.sample(5, k=3), c.sample(5, k=3))


def test_load_state_dict_rejects_other_shapes():
    a = BernoulliRBM(6, 3, seed=0)
    with pytest.raises(ValueError, match="6x3 RBM, this one is 6x4"):
        BernoulliRBM(6, 4, seed=0).load_state_dict(a.state_dict())


@pytest.mark.gpu
def test_cuda_matches_cpu_statistics():
    x, _ = load_digits_binary()
    rbm = BernoulliRBM(64, 16, lr=0.05, momentum=0.9, batch_size=50, epochs=30, seed=1,
                       device="cuda").fit(x)
    assert rbm.W.device.type == "cuda"
    ll = rbm.log_likelihood(x).mean()
    assert ll > -20.0
    ais = rbm.log_partition("ais", n_runs=100, betas=3000)
    exact = rbm.log_partition("exact")
    assert ais.lower <= exact.log_z <= ais.upper


def test_a_generator_state_of_another_device_is_refused_clearly():
    a = BernoulliRBM(6, 3, seed=0)
    state = a.state_dict()
    state["generator"] = state["generator"][:8]
    with pytest.raises(ValueError, match="random-generator state does not fit a cpu generator"):
        BernoulliRBM(6, 3, seed=0).load_state_dict(state)
