"""Kernels against direct formulas, scipy, scikit-learn and qmllib; blocking; devices."""

import numpy as np
import pytest
from scipy.spatial.distance import cdist
from scipy.stats import wasserstein_distance as scipy_w1

import asktell
from asktell_qml import (
    GaussianKernel,
    LaplacianKernel,
    WassersteinKernel,
    coulomb_matrices,
    load_qm9_subset,
    pairwise_wasserstein,
    wasserstein_distance,
)


@pytest.fixture(scope="module")
def cms():
    data = load_qm9_subset().subset(range(300))
    return (coulomb_matrices(data.Z, data.R),
            coulomb_matrices(data.Z, data.R, sorting="random", seed=7))


def rand(n, d, seed):
    return np.random.default_rng(seed).normal(size=(n, d)) * 3


def test_registered_as_kernels():
    for name, cls in [("gaussian", GaussianKernel), ("laplacian", LaplacianKernel),
                      ("wasserstein", WassersteinKernel)]:
        assert asktell.get("kernel", name) is cls


@pytest.mark.parametrize("sym", [True, False])
def test_laplacian_matches_direct_formula(sym):
    X, Y = rand(57, 9, 0), rand(33, 9, 1)
    k = LaplacianKernel(sigma=4.0, block=10)
    got = k(X) if sym else k(X, Y)
    want = np.exp(-cdist(X, X if sym else Y, "cityblock") / 4.0)
    np.testing.assert_allclose(got, want, rtol=1e-14, atol=0)


@pytest.mark.parametrize("sym", [True, False])
def test_gaussian_matches_sklearn(sym):
    sk = pytest.importorskip("sklearn.metrics.pairwise")
    X, Y = rand(57, 9, 0), rand(33, 9, 1)
    k = GaussianKernel(sigma=3.0)
    got = k(X) if sym else k(X, Y)
    want = sk.rbf_kernel(X, X if sym else Y, gamma=1 / (2 * 3.0**2))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    direct = np.exp(-cdist(X, X if sym else Y, "sqeuclidean") / 18.0)
    np.testing.assert_allclose(got, direct, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("cls", [GaussianKernel, LaplacianKernel, WassersteinKernel])
def test_symmetric_equals_general_and_is_exactly_symmetric(cls, cms):
    X = cms[0][:150]
    k = cls(sigma=50.0, block=16, n_jobs=2)
    K = k(X)
    np.testing.assert_array_equal(K, K.T)
    np.testing.assert_allclose(K, k(X, X), rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(np.diag(K), 1.0)


@pytest.mark.parametrize("cls", [GaussianKernel, LaplacianKernel, WassersteinKernel])
def test_blocking_and_threads_do_not_change_values(cls, cms):
    X, Y = cms[0][:120], cms[0][120:200]
    a = cls(sigma=30.0, block=7, n_jobs=3)(X, Y)
    b = cls(sigma=30.0, n_jobs=1)(X, Y)
    np.testing.assert_allclose(a, b, rtol=1e-13, atol=0)


def test_distances_then_from_distances_equals_call(cms):
    X = cms[0][:100]
    for cls in (GaussianKernel, LaplacianKernel, WassersteinKernel):
        k = cls(sigma=20.0)
        D = k.distances(X)
        np.testing.assert_allclose(k.from_distances(D), k(X), rtol=1e-13)
        np.testing.assert_allclose(k.from_distances(D, 40.0), cls(sigma=40.0)(X), rtol=1e-13)


def test_w1_matches_scipy_on_random_pairs():
    rng = np.random.default_rng(3)
    X, Y = rng.exponential(size=(20, 40)), rng.normal(size=(15, 40))
    D = WassersteinKernel().distances(X, Y)
    want = np.array([[scipy_w1(x, y) for y in Y] for x in X])
    np.testing.assert_allclose(D, want, rtol=0, atol=1e-13)


def test_w1_kernel_bit_identical_under_atom_permutations(cms):
    sorted_cm, random_cm = cms
    k = WassersteinKernel(sigma=8.0)
    np.testing.assert_array_equal(k(sorted_cm), k(random_cm))
    np.testing.assert_array_equal(k(sorted_cm[:50], sorted_cm[50:]),
                                  k(random_cm[:50], random_cm[50:]))
    # The Laplacian kernel, by contrast, depends on the order.
    lap = LaplacianKernel(sigma=1000.0)
    assert not np.allclose(lap(sorted_cm), lap(random_cm))


def test_w1_matches_qmllib(cms):
    qk = pytest.importorskip("qmllib.kernels")
    X = cms[0]
    np.testing.assert_allclose(WassersteinKernel(sigma=10.0)(X[:60], X[60:100]),
                               qk.wasserstein_kernel(X[:60], X[60:100], 10.0), rtol=0,
                               atol=1e-14)


def test_w2_equal_length_matches_general_formula():
    rng = np.random.default_rng(4)
    X, Y = rng.normal(size=(6, 12)), rng.normal(size=(5, 12))
    D = WassersteinKernel(p=2).distances(X, Y)
    want = np.array([[wasserstein_distance(x, y, p=2) for y in Y] for x in X])
    np.testing.assert_allclose(D, want, rtol=1e-12)


def test_general_wp_on_unequal_lengths():
    rng = np.random.default_rng(5)
    u, v = rng.normal(size=7), rng.normal(size=11) + 1
    assert wasserstein_distance(u, v) == pytest.approx(scipy_w1(u, v), rel=1e-12)
    # W_p via replication to a common length (7 * 11 atoms) agrees for p = 3.
    uu, vv = np.sort(np.repeat(u, 11)), np.sort(np.repeat(v, 7))
    want = np.mean(np.abs(uu - vv) ** 3) ** (1 / 3)
    assert wasserstein_distance(u, v, p=3) == pytest.approx(want, rel=1e-12)
    ragged = [u, v, u[:3]]
    D = WassersteinKernel(p=3).distances(ragged)
    np.testing.assert_allclose(D, pairwise_wasserstein(ragged, p=3))
    assert D[0, 1] == pytest.approx(want, rel=1e-12)
    K = WassersteinKernel(sigma=2.0)(ragged)
    np.testing.assert_allclose(K, np.exp(-pairwise_wasserstein(ragged) / 2.0))


def test_bad_input_raises():
    k = LaplacianKernel()
    with pytest.raises(ValueError, match="2-D"):
        k(np.zeros(3))
    with pytest.raises(ValueError, match="NaN"):
        k(np.array([[np.nan, 1.0]]))
    with pytest.raises(ValueError, match="as many features"):
        k(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="positive"):
        LaplacianKernel(sigma=0.0)
    with pytest.raises(ValueError, match="p must be >= 1"):
        WassersteinKernel(p=0.5)
    with pytest.raises(ValueError, match="p = 1 or 2"):
        WassersteinKernel(p=3)(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="at least one value"):
        wasserstein_distance([], [1.0])


@pytest.mark.parametrize("cls", [GaussianKernel, LaplacianKernel, WassersteinKernel])
def test_torch_backend_matches_numpy(cls, cms):
    torch = pytest.importorskip("torch")
    X, Y = cms[0][:90], cms[0][90:150]
    a = cls(sigma=40.0)
    b = cls(sigma=40.0, device=torch.device("cpu"), block=32)
    np.testing.assert_allclose(b(X, Y).numpy(), a(X, Y), rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(b(X).numpy(), a(X), rtol=1e-11, atol=1e-13)


@pytest.mark.gpu
@pytest.mark.parametrize("cls", [GaussianKernel, LaplacianKernel, WassersteinKernel])
def test_cuda_matches_numpy(cls, cms):
    X, Y = cms[0][:200], cms[0][200:]
    np.testing.assert_allclose(cls(sigma=40.0, device="cuda")(X, Y).cpu().numpy(),
                               cls(sigma=40.0)(X, Y), rtol=1e-10, atol=1e-12)
