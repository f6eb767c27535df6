"""The cINN on the paper's kinds of model: the Ricker simulator, the 1-D convolutional summary
and the paper's four-subnetwork coupling block."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import asktell  # noqa: E402
from asktell_cinn import Ricker  # noqa: E402
from asktell_cinn.coupling import ConditionalAffineCoupling  # noqa: E402
from asktell_cinn.network import InvertibleNetwork  # noqa: E402
from asktell_cinn.summary import ConvSummary, make_summary  # noqa: E402


def test_ricker_is_registered_seeded_and_counts():
    sim = asktell.get("simulator", "ricker")()
    assert isinstance(sim, Ricker) and sim.dim == 3
    theta = np.array([3.8, 0.3, 10.0])
    x = sim(theta)
    assert x.shape == (50, 1) and np.array_equal(x, sim(theta))  # seeded from θ
    assert np.all(x >= 0) and np.array_equal(x, np.round(x))  # Poisson counts
    # the mean count follows φ: doubling φ roughly doubles it (same noise)
    xs = sim.simulate(np.array([[3.8, 0.3, 5.0]] * 200), np.random.default_rng(0))
    ys = sim.simulate(np.array([[3.8, 0.3, 10.0]] * 200), np.random.default_rng(0))
    assert 1.8 < ys.mean() / xs.mean() < 2.2
    with pytest.raises(ValueError):
        Ricker(steps=0)


def test_conv_summary_ignores_padding_and_sees_the_whole_series():
    torch.manual_seed(0)
    h = ConvSummary(1, out_dim=4, hidden=8)
    x = torch.randn(2, 30, 1)
    lengths = torch.tensor([30, 13])
    a = h(x, lengths)
    y = x.clone()
    y[1, 13:] = 100.0  # padding of the second series
    b = h(y, lengths)
    assert torch.allclose(a[1], b[1])
    z = x.clone()
    z[0, 0] += 3.0  # the first step of a full series reaches the summary
    assert not torch.allclose(h(z, lengths)[0], a[0])
    assert make_summary("conv1d", 30, 1, 6, 8).out_dim == 6


@pytest.mark.parametrize("subnets", [2, 4])
def test_coupling_is_invertible_with_the_right_log_det(subnets):
    torch.manual_seed(1)
    block = ConditionalAffineCoupling(5, 3, hidden=8, subnets=subnets).double()
    u, c = torch.randn(4, 5, dtype=torch.double), torch.randn(4, 3, dtype=torch.double)
    v, ld = block(u, c)
    assert torch.allclose(v, u) and torch.equal(ld, torch.zeros(4, dtype=torch.double))
    for p in block.parameters():  # leave the identity start
        torch.nn.init.normal_(p, std=0.3)
    v, ld = block(u, c)
    back, ld_inv = block.inverse(v, c)
    assert torch.allclose(back, u, atol=1e-10) and torch.allclose(ld_inv, -ld)
    for i in range(4):
        ci = c[i:i + 1]
        jac = torch.autograd.functional.jacobian(lambda w, ci=ci: block(w[None], ci)[0][0],
                                                 u[i])
        assert torch.allclose(torch.logdet(jac), ld[i], atol=1e-8)


def test_four_subnetworks_are_separate_networks():
    two = ConditionalAffineCoupling(6, 2, hidden=16, subnets=2)
    four = ConditionalAffineCoupling(6, 2, hidden=16, subnets=4)
    n2 = sum(p.numel() for p in two.parameters())
    n4 = sum(p.numel() for p in four.parameters())
    assert 1.6 < n4 / n2 < 2.0  # the hidden layers are no longer shared by s and t
    assert {"net1.s.mlp.0.weight", "net1.t.mlp.0.weight", "net2.s.mlp.0.weight",
            "net2.t.mlp.0.weight"} <= set(four.state_dict())
    with pytest.raises(ValueError, match="subnets"):
        ConditionalAffineCoupling(6, 2, subnets=3)
    net = InvertibleNetwork(3, 2, n_blocks=2, hidden=8, subnets=4)
    theta, c = torch.randn(5, 3), torch.randn(5, 2)
    assert torch.allclose(net.inverse(net(theta, c)[0], c)[0], theta, atol=1e-6)


def test_estimator_with_conv_summary_and_four_subnetworks_on_ricker():
    sim = Ricker(steps=20, burn_in=10)
    est = asktell.create("cinn", simulator=sim, summary="conv1d", subnets=4, batch_size=200,
                         seed=0, n_blocks=2, hidden=16, summary_hidden=16, max_epochs=3)
    theta = est.ask()
    est.tell([np.log1p(x) for x in sim.simulate(np.asarray(theta), np.random.default_rng(0))])
    draws = est.sample(np.log1p(sim(np.array([3.8, 0.3, 10.0]))), 50)
    assert draws.shape == (50, 3) and np.isfinite(draws).all()
    with pytest.raises(ValueError, match="subnets"):
        asktell.create("cinn", simulator=sim, subnets=3)
