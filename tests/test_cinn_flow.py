"""asktell_cinn building blocks: exact invertibility, log-determinants against autograd's
Jacobian, identity at initialisation, summary networks on variable-size data."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from asktell_cinn import (  # noqa: E402
    ActNorm,
    ConditionalAffineCoupling,
    DeepSetSummary,
    FixedPermutation,
    InvertibleNetwork,
    LSTMSummary,
    make_summary,
)
from asktell_cinn.coupling import soft_clamp  # noqa: E402


def _randomise(module, seed=0, scale=0.5):
    """Give every parameter random values so the map is far from the identity."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(scale * torch.randn(p.shape, generator=g, dtype=p.dtype))
    return module


def _jacobian_logdet(fn, u, c):
    out = []
    for i in range(u.shape[0]):
        ci = c[i:i + 1]
        jac = torch.autograd.functional.jacobian(lambda v, ci=ci: fn(v[None], ci)[0][0], u[i])
        out.append(torch.linalg.slogdet(jac)[1])
    return torch.stack(out)


@pytest.mark.parametrize("dim", [2, 3, 5])
def test_coupling_inverse_and_logdet_match_autograd(dim):
    torch.manual_seed(0)
    block = _randomise(ConditionalAffineCoupling(dim, 3, hidden=16, n_layers=2)).double()
    u, c = torch.randn(6, dim, dtype=torch.float64), torch.randn(6, 3, dtype=torch.float64)
    v, log_det = block(u, c)
    assert not torch.allclose(v, u), "randomised block should not be the identity"
    back, inv_log_det = block.inverse(v, c)
    assert torch.allclose(back, u, atol=1e-12), (back - u).abs().max()
    assert torch.allclose(inv_log_det, -log_det, atol=1e-12)
    want = _jacobian_logdet(block, u, c)
    assert torch.allclose(log_det, want, atol=1e-10), (log_det, want)


def test_network_inverse_and_logdet_match_autograd():
    torch.manual_seed(1)
    net = _randomise(InvertibleNetwork(4, 2, n_blocks=3, hidden=8), seed=3, scale=0.3).double()
    theta, c = torch.randn(5, 4, dtype=torch.float64), torch.randn(5, 2, dtype=torch.float64)
    z, log_det = net(theta, c)
    back, inv_ld = net.inverse(z, c)
    assert torch.allclose(back, theta, atol=1e-10)
    assert torch.allclose(inv_ld, -log_det, atol=1e-10)
    assert torch.allclose(log_det, _jacobian_logdet(net, theta, c), atol=1e-9)
    # log_prob is a normalised density: compare with the change of variables by hand
    lp = net.log_prob(theta, c)
    want = -0.5 * (z**2).sum(-1) - 2 * np.log(2 * np.pi) + log_det
    assert torch.allclose(lp, want)


def test_fresh_blocks_are_the_identity():
    theta, c = torch.randn(7, 5), torch.randn(7, 4)
    for layer in (ConditionalAffineCoupling(5, 4), ActNorm(5)):
        v, ld = layer(theta, c)
        assert torch.equal(v, theta) and torch.equal(ld, torch.zeros(7))
    net = InvertibleNetwork(5, 4, n_blocks=4, hidden=16)
    z, ld = net(theta, c)
    # the fixed permutations are the only thing a fresh network does
    perm = torch.arange(5)
    for layer in net.layers:
        if isinstance(layer, FixedPermutation):
            perm = perm[layer.perm]
    assert torch.equal(z, theta[:, perm]) and torch.equal(ld, torch.zeros(7))


def test_soft_clamp_bounds_scales():
    s = torch.tensor([-1e6, -1.0, 0.0, 0.01, 1e6])
    out = soft_clamp(s, 1.9)
    assert out.abs().max() < 1.9 and out[2] == 0
    assert abs(float(out[3]) - 0.02 / np.pi) < 1e-6  # slope 2/π at 0, as in the original code


def test_coupling_rejects_bad_sizes():
    with pytest.raises(ValueError, match="dim >= 2"):
        ConditionalAffineCoupling(1, 2)


def test_deepset_accepts_any_number_of_observations_and_ignores_padding():
    torch.manual_seed(0)
    h = DeepSetSummary(2, out_dim=4, hidden=8)
    x = torch.randn(3, 9, 2)
    lengths = torch.tensor([9, 4, 1])
    out = h(x, lengths)
    assert out.shape == (3, 4)
    # padding rows are masked: changing them changes nothing
    x2 = x.clone()
    x2[1, 4:] = 100.0
    x2[2, 1:] = -7.0
    assert torch.allclose(h(x2, lengths), out)
    # a data set alone, without padding, gives the same summary
    assert torch.allclose(h(x[1:2, :4], torch.tensor([4])), out[1:2], atol=1e-6)
    # permutation invariance over the valid rows
    assert torch.allclose(h(x[:1, torch.randperm(9)], torch.tensor([9])), out[:1], atol=1e-6)
    # different sizes of the same values give different summaries (the size is seen)
    assert not torch.allclose(h(x[:1, :4], torch.tensor([4])), h(x[:1], torch.tensor([9])))


def test_lstm_summary_variable_length():
    torch.manual_seed(0)
    h = LSTMSummary(1, out_dim=3, hidden=8)
    x = torch.randn(2, 6, 1)
    out = h(x, torch.tensor([6, 3]))
    assert torch.allclose(out[1:2], h(x[1:2, :3], torch.tensor([3])), atol=1e-6)


def test_identity_summary_refuses_other_sizes():
    h = make_summary("identity", 4, 2, 8, 8)
    with pytest.raises(ValueError, match="deepset"):
        h(torch.zeros(1, 5, 2), torch.tensor([5]))
    with pytest.raises(ValueError, match="summary must be one of"):
        make_summary("transformer", 4, 2, 8, 8)


def test_training_skips_non_finite_steps_and_keeps_the_best_weights():
    from asktell_cinn.estimator import _Amortizer
    from asktell_cinn.training import train_flow

    torch.manual_seed(0)
    summary = make_summary("identity", 1, 2, 4, 4)
    model = _Amortizer(summary, InvertibleNetwork(2, 2, n_blocks=2, hidden=8))
    theta = torch.randn(64, 2)
    x = (theta + 0.1 * torch.randn(64, 2))[:, None, :]
    lengths = torch.ones(64, dtype=torch.long)
    theta_bad = theta.clone()
    theta_bad[5] = float("nan")  # every minibatch holding item 5 has a NaN loss
    val = (theta[:16], x[:16], lengths[:16])
    gen = torch.Generator().manual_seed(0)
    res = train_flow(model, (theta_bad, x, lengths), val, generator=gen, batch_size=16,
                     max_epochs=6, patience=6)
    assert res.skipped_steps == 6  # one bad minibatch per epoch
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert res.best_loss < res.initial_loss
