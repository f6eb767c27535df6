"""CMA-ES through pycma: conformance, identical to raw pycma, stop reasons, options, files."""

import os

import numpy as np
import pytest

import asktell
from asktell.testing import check_optimiser

cma = pytest.importorskip("cma")
from asktell_optim import CMAES  # noqa: E402


def sphere(xs):
    return np.sum(np.asarray(xs) ** 2, axis=1)


def test_conformance():
    check_optimiser(lambda **kw: CMAES([1.0, 2.0, 3.0], sigma0=0.5, **kw))
    check_optimiser(lambda **kw: CMAES([0.5], **kw))  # 1-d
    b = asktell.RectangularBoundaries([-1, -1], [1, 1])
    check_optimiser(lambda **kw: CMAES([0.9, 0.0], boundaries=b, **kw))


def test_same_asks_as_raw_pycma():
    """The adapter adds nothing to pycma's search: same random numbers, same points."""
    opt = CMAES([1.0, -1.0, 0.5, 2.0], sigma0=0.7, seed=4)
    rng = np.random.default_rng(4)
    es = cma.CMAEvolutionStrategy([1.0, -1.0, 0.5, 2.0], 0.7, {
        "verbose": -9, "randn": lambda *s: rng.standard_normal(s)})
    for _ in range(30):
        xs = opt.ask()
        raw = es.ask()
        np.testing.assert_array_equal(xs, np.array(raw))
        f = sphere(xs)
        opt.tell(f)
        es.tell(raw, f.tolist())
    np.testing.assert_array_equal(opt.es.mean, es.mean)


def test_reports_every_pycma_stop_criterion():
    opt = CMAES(np.ones(3), sigma0=0.5, seed=0)
    while opt.stop() is None:
        opt.tell(sphere(opt.ask()))
    assert opt.stop() == dict(opt.es.stop())  # all of them, not one (pints#577)
    opt = CMAES(np.ones(3), sigma0=0.5, seed=0, max_iterations=5)
    for _ in range(5):
        opt.tell(sphere(opt.ask()))
    assert opt.stop() == {"maxiter": 5}


def test_per_dimension_sigma_and_bounds():
    b = asktell.RectangularBoundaries([0, 0], [1, 100])
    opt = CMAES([0.5, 50], boundaries=b, seed=1)
    assert opt.es.sigma == pytest.approx(100 / 6)
    np.testing.assert_allclose(opt.es.opts["CMA_stds"], [0.01, 1.0])
    for _ in range(20):
        xs = opt.ask()
        assert b.contains(xs).all()
        opt.tell(np.abs(xs[:, 0] - 0.3) + np.abs(xs[:, 1] - 70) / 100)
    np.testing.assert_allclose(opt.xbest(), [0.3, 70], atol=0.05)


def test_options_pass_through_and_validation():
    opt = CMAES([1.0, 2.0], options={"CMA_diagonal": True}, seed=0)
    assert opt.es.opts["CMA_diagonal"] is True
    with pytest.raises(ValueError, match="unknown pycma options"):
        CMAES([1.0, 2.0], options={"CMA_diagonl": True})
    with pytest.raises(ValueError, match="set by asktell"):
        CMAES([1.0, 2.0], options={"seed": 3})


def test_no_files_no_global_rng(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    state = np.random.get_state()[1].copy()  # noqa: NPY002 - checking pycma leaves it alone
    opt = CMAES([1.0, 2.0], seed=0)
    for _ in range(5):
        opt.tell(sphere(opt.ask()))
    assert os.listdir(tmp_path) == []
    assert np.array_equal(np.random.get_state()[1], state)  # noqa: NPY002


def test_failures_are_ranked_last():
    opt = CMAES([1.0, 2.0], sigma0=0.5, seed=0)
    for _ in range(50):
        xs = opt.ask()
        f = sphere(xs)
        f[xs[:, 0] > 0.8] = np.nan
        opt.tell(f)
    assert opt.failures > 0 and opt.fbest() < 1e-3


def test_state_is_fixed_size_and_resumes_bit_identically():
    """The checkpoint is pycma's state itself (no log of told values): it does not grow."""
    from asktell import serialization

    def run(n):
        opt = CMAES(np.full(4, 0.5), sigma0=0.3, seed=3, max_iterations=10**6)
        for _ in range(n):
            opt.tell(sphere(opt.ask()) + 1.0)  # never converges: no stop within 300 batches
        return opt

    early = len(serialization.dumps(run(30).state_dict()))
    opt = run(300)
    text = serialization.dumps(opt.state_dict())
    assert len(text) <= 1.2 * early
    restored = CMAES(np.full(4, 0.5), sigma0=0.3, seed=99, max_iterations=10**6)
    restored.load_state_dict(serialization.loads(text))
    for _ in range(20):
        xs, ys = opt.ask(), restored.ask()
        np.testing.assert_array_equal(xs, ys)
        opt.tell(sphere(xs) + 1.0)
        restored.tell(sphere(ys) + 1.0)
    assert restored.stop() == opt.stop()
    np.testing.assert_array_equal(restored.es.C, opt.es.C)
    assert "pickle" not in text


def test_state_runs_to_the_same_stop_and_refuses_foreign_classes():
    from asktell import serialization

    opt = CMAES(np.ones(3), sigma0=0.5, seed=2)
    for _ in range(40):
        opt.tell(sphere(opt.ask()))
    restored = CMAES(np.ones(3), sigma0=0.5, seed=2)
    restored.load_state_dict(serialization.loads(serialization.dumps(opt.state_dict())))
    for o in (opt, restored):
        while o.stop() is None:
            o.tell(sphere(o.ask()))
    assert restored.stop() == opt.stop() and restored.iterations == opt.iterations
    assert restored.fbest() == opt.fbest()
    state = opt.state_dict()
    state["method"]["es"]["$l"][0]["$o"] = "os:system"
    with pytest.raises(TypeError, match="only objects of the cma package"):
        CMAES(np.ones(3), sigma0=0.5).load_state_dict(state)


def test_old_replay_state_still_loads():
    """Checkpoints from before the direct state (told values + first rng state) replay."""
    opt = CMAES([1.0, 2.0], sigma0=0.5, seed=5)
    rng0 = opt._rng.bit_generator.state
    told = []
    for _ in range(12):
        f = sphere(opt.ask())
        opt.tell(f)
        told.append(f)
    state = opt.state_dict()
    state["method"] = {"told": np.array(told), "rng0": rng0, "asked": False}
    restored = CMAES([1.0, 2.0], sigma0=0.5, seed=0)
    restored.load_state_dict(state)
    for _ in range(5):
        xs, ys = opt.ask(), restored.ask()
        np.testing.assert_array_equal(xs, ys)
        opt.tell(sphere(xs))
        restored.tell(sphere(ys))


def test_state_after_the_diagonal_phase_resumes_identically():
    """d = 10: pycma starts with a diagonal covariance and later hands its genotype transform a
    bound method of the strategy; the checkpoint stores it and the resume is exact."""
    from asktell import serialization

    def make():
        return asktell.create("cmaes", x0=np.full(10, 3.0), sigma0=1.0, seed=5,
                              tolfun=0.0, tolx=0.0, max_iterations=10**6)

    a = make()
    for _ in range(120):
        xs = a.ask()
        a.tell(np.einsum("ij,ij->i", xs, xs))
    b = make()
    b.load_state_dict(serialization.loads(serialization.dumps(a.state_dict())))
    for _ in range(10):
        xa, xb = a.ask(), b.ask()
        np.testing.assert_array_equal(xa, xb)
        a.tell(np.einsum("ij,ij->i", xa, xa))
        b.tell(np.einsum("ij,ij->i", xb, xb))


def test_float_lists_are_packed_exactly_and_stay_shared():
    """pycma's best/median histories (lists of floats that grow with the run) are stored as
    one packed array: exact, still lists of floats, and shared where they were."""
    from asktell import serialization
    from asktell_optim._cma_state import decode, encode

    floats = [0.1 * k + 1e-17 * k for k in range(40)] + [float("nan"), float("inf")]
    mixed = [1.0] * 20 + [1]
    data = encode({"a": floats, "b": floats, "m": mixed})
    assert "$lf" in data["$d"]["a"] and "$l" in data["$d"]["m"]
    back = decode(serialization.loads(serialization.dumps(data)))
    assert back["a"] is back["b"] and type(back["a"]) is list
    assert all(type(v) is float for v in back["a"])
    np.testing.assert_array_equal(back["a"], floats)
    assert back["m"] == mixed and type(back["m"][-1]) is int
    with pytest.raises(TypeError, match="float list"):
        decode({"$lf": np.zeros((2, 2))})
