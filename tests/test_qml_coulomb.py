"""Coulomb matrices: hand-computed values, orders, qmllib agreement, malformed input."""

import numpy as np
import pytest

from asktell_qml import coulomb_matrices, load_qm9_subset
from asktell_qml.coulomb import as_padded

# Formaldehyde-like toy: C at the origin, O on x, one H on y.
Z3 = [6, 8, 1]
R3 = [[0.0, 0.0, 0.0], [1.2, 0.0, 0.0], [0.0, 1.1, 0.0]]


def hand_cm():
    """Direct formula, written out entry by entry."""
    d_co, d_ch, d_oh = 1.2, 1.1, np.hypot(1.2, 1.1)
    return np.array([
        [0.5 * 6**2.4, 6 * 8 / d_co, 6 * 1 / d_ch],
        [6 * 8 / d_co, 0.5 * 8**2.4, 8 * 1 / d_oh],
        [6 * 1 / d_ch, 8 * 1 / d_oh, 0.5 * 1**2.4],
    ])


def test_matches_hand_computed_values():
    C = coulomb_matrices([Z3], [R3], size=3, sorting="none", triangle=False).reshape(3, 3)
    np.testing.assert_allclose(C, hand_cm(), rtol=1e-14)


def test_upper_triangle_and_padding():
    C = coulomb_matrices([Z3], [R3], size=5, sorting="none")
    assert C.shape == (1, 15)
    full = np.zeros((5, 5))
    full[:3, :3] = hand_cm()
    np.testing.assert_allclose(C[0], full[np.triu_indices(5)], rtol=1e-14)


def test_row_norm_sorting_orders_rows_by_decreasing_norm():
    C = coulomb_matrices([Z3], [R3], size=4, sorting="row-norm", triangle=False).reshape(4, 4)
    norms = np.linalg.norm(C, axis=1)
    assert np.all(np.diff(norms) <= 0)
    # O (largest charge) first, padding last.
    assert C[0, 0] == pytest.approx(0.5 * 8**2.4)
    assert np.all(C[3] == 0)


def test_random_sorting_is_a_permutation_and_seeded():
    data = load_qm9_subset().subset(range(50))
    s = coulomb_matrices(data.Z, data.R, sorting="row-norm")
    r1 = coulomb_matrices(data.Z, data.R, sorting="random", seed=3)
    r2 = coulomb_matrices(data.Z, data.R, sorting="random", seed=3)
    r3 = coulomb_matrices(data.Z, data.R, sorting="random", seed=4)
    np.testing.assert_array_equal(r1, r2)
    assert not np.array_equal(r1, r3)
    assert not np.array_equal(r1, s)
    np.testing.assert_array_equal(np.sort(r1, axis=1), np.sort(s, axis=1))


def test_sorted_cm_is_invariant_to_input_atom_order():
    data = load_qm9_subset().subset(range(30))
    rng = np.random.default_rng(0)
    Zs, Rs = [], []
    for z, r in zip(data.Z, data.R):
        k = int((z > 0).sum())
        p = rng.permutation(k)
        Zs.append(z[:k][p])
        Rs.append(r[:k][p])
    a = coulomb_matrices(data.Z, data.R)
    b = coulomb_matrices(Zs, Rs)
    np.testing.assert_allclose(a, b, rtol=1e-12)


def test_agrees_with_qmllib():
    qmllib = pytest.importorskip("qmllib.representations")
    data = load_qm9_subset().subset(range(100))
    ours = coulomb_matrices(data.Z, data.R)
    iu, il = np.triu_indices(29), np.tril_indices(29)
    for i, (z, r) in enumerate(zip(data.Z, data.R)):
        q = qmllib.generate_coulomb_matrix(z[z > 0], r[z > 0], size=29, sorting="row-norm")
        full_q = np.zeros((29, 29))
        full_q[il] = q
        full_o = np.zeros((29, 29))
        full_o[iu] = ours[i]
        np.testing.assert_allclose(full_o.T, full_q, rtol=1e-12, atol=1e-12)


def test_torch_path_matches_numpy():
    torch = pytest.importorskip("torch")
    data = load_qm9_subset().subset(range(64))
    for sorting in ("row-norm", "none"):
        a = coulomb_matrices(data.Z, data.R, sorting=sorting)
        b = coulomb_matrices(data.Z, data.R, sorting=sorting, device=torch.device("cpu"))
        np.testing.assert_allclose(b.numpy(), a, rtol=1e-12)


@pytest.mark.gpu
def test_cuda_matches_numpy():
    data = load_qm9_subset().subset(range(64))
    a = coulomb_matrices(data.Z, data.R)
    b = coulomb_matrices(data.Z, data.R, device="cuda")
    np.testing.assert_allclose(b.cpu().numpy(), a, rtol=1e-12)


@pytest.mark.parametrize(
    ("Z", "R", "message"),
    [
        ([[6, 1]], [[[0, 0, 0]]], "coordinates of shape"),
        ([[6, 1]], [[[0, 0, 0], [np.nan, 0, 0]]], "not finite"),
        ([[6, 200]], [[[0, 0, 0], [1, 0, 0]]], "not in 1..118"),
        ([[6, -1]], [[[0, 0, 0], [1, 0, 0]]], "not in 1..118"),
        ([[6, 1]], [[[0, 0, 0], [0, 0, 0]]], "same position"),
        (np.array([[0, 6]]), np.zeros((1, 2, 3)), "padding"),
        ([[6, 1], [6]], [[[0, 0, 0], [1, 0, 0]]], "1 coordinate arrays"),
    ],
)
def test_malformed_input_raises_clearly(Z, R, message):
    with pytest.raises(ValueError, match=message):
        coulomb_matrices(Z, R, size=3)


def test_too_many_atoms_and_bad_sorting():
    with pytest.raises(ValueError, match="holds 2"):
        coulomb_matrices([Z3], [R3], size=2)
    with pytest.raises(ValueError, match="sorting must be one of"):
        coulomb_matrices([Z3], [R3], sorting="eigen")


def test_as_padded_shapes_mismatch():
    with pytest.raises(ValueError, match=r"R must have shape \(1, 3, 3\)"):
        as_padded(np.array([[6, 8, 1]]), np.zeros((1, 2, 3)))
