"""RBM-EDA and UMDA: protocol conformance, resume, solving OneMax, problems, registry, TOML run."""

import itertools
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import asktell
from asktell import serialization
from asktell.testing import check_optimiser
from asktell_rbm import RBMEDA, UMDA, NKLandscape, OneMax, Trap
from asktell_rbm.selection import tournament, truncation

ROOT = Path(__file__).resolve().parents[1]



EDA_VARIANTS = [
    {},
    {"epochs": "auto", "replacement": "elitist", "selection": "truncation"},
    {"warm_start": False, "k": 2, "gibbs_steps": 3},
]


@pytest.mark.parametrize("options", EDA_VARIANTS)
def test_rbm_eda_conforms(options):
    def factory(**kw):
        return RBMEDA(n_bits=12, popsize=20, **{"epochs": 3, **options, **kw})

    check_optimiser(factory)


def test_umda_conforms():
    check_optimiser(lambda **kw: UMDA(n_bits=12, popsize=20, **kw))


def run(opt, f, max_iterations):
    while opt.iterations < max_iterations and opt.fbest() < f.optimum:
        xs = opt.ask()
        opt.tell(f.batch(xs))
    return opt


def test_ask_returns_read_only_binary_array_and_maximises_by_default():
    opt = RBMEDA(n_bits=10, popsize=16, seed=0)
    assert opt.direction == "maximise"
    for _ in range(3):
        xs = opt.ask()
        assert xs.shape == (16, 10) and xs.dtype == np.uint8
        assert set(np.unique(xs)) <= {0, 1}
        assert not xs.flags.writeable
        opt.tell(xs.sum(axis=1))
    assert opt.fbest() == max(opt.xbest().sum(), opt.fbest())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rbm_eda_solves_onemax_50(seed):
    f = OneMax(50)
    opt = run(RBMEDA(n_bits=50, popsize=200, seed=seed), f, 60)
    assert opt.fbest() == 50.0, (seed, opt.fbest(), opt.iterations)
    assert f(opt.xbest()) == 50.0


def test_long_training_per_generation_is_what_the_parameter_says():
    opt = RBMEDA(n_bits=10, popsize=20, epochs=7, seed=0)
    for _ in range(3):
        opt.tell(opt.ask().sum(axis=1))
    assert opt.epochs_trained == [7, 7, 7]
    auto = RBMEDA(n_bits=10, popsize=20, epochs="auto", max_epochs=4, seed=0)
    for _ in range(3):
        auto.tell(auto.ask().sum(axis=1))
    assert all(1 <= e <= 4 for e in auto.epochs_trained)


def test_resume_mid_run_is_bit_identical_through_the_json_store_format():
    f = Trap(20, 5)

    def make():
        return RBMEDA(n_bits=20, popsize=30, epochs=2, seed=7)

    a = make()
    for _ in range(3):
        a.tell(f.batch(a.ask()))
    state = serialization.loads(serialization.dumps(a.state_dict()))
    b = make()
    b.load_state_dict(state)
    c = pickle.loads(pickle.dumps(a))
    for _ in range(3):
        xa, xb, xc = a.ask(), b.ask(), c.ask()
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(xa, xc)
        for o in (a, b, c):
            o.tell(f.batch(xa))
    assert torch.equal(a.rbm.W, b.rbm.W)


def test_no_global_rng_is_used():
    torch.manual_seed(0)
    np.random.seed(0)  # noqa: NPY002 - the global RNG must not matter
    a = RBMEDA(n_bits=10, popsize=20, epochs=2, seed=3)
    xa = [a.ask()]
    a.tell(xa[0].sum(1))
    xa.append(a.ask())
    torch.manual_seed(123)
    np.random.seed(123)  # noqa: NPY002 - the global RNG must not matter
    b = RBMEDA(n_bits=10, popsize=20, epochs=2, seed=3)
    xb = [b.ask()]
    b.tell(xb[0].sum(1))
    xb.append(b.ask())
    for u, v in zip(xa, xb):
        np.testing.assert_array_equal(u, v)


def test_failures_rank_worst_and_an_all_failed_batch_keeps_the_model():
    opt = RBMEDA(n_bits=10, popsize=20, epochs=2, seed=0)
    xs = opt.ask()
    vals = xs.sum(1).astype(float)
    vals[:5] = np.nan
    opt.tell(vals)
    assert np.isinf(opt.population_losses[:5]).all()
    w = opt.rbm.W.clone()
    opt.ask()
    opt.tell([None] * 20)
    assert torch.equal(w, opt.rbm.W)
    assert opt.failures == 25


def test_umda_solves_onemax_and_fails_on_trap5():
    f = OneMax(50)
    opt = run(UMDA(n_bits=50, popsize=100, seed=0), f, 100)
    assert opt.fbest() == 50.0
    t = Trap(50, 5)
    opt = run(UMDA(n_bits=50, popsize=500, seed=0), t, 100)
    assert t.blocks_solved(opt.xbest()) <= 2  # deceived towards all zeros
    assert opt.fbest() < 50.0


def test_invalid_arguments_name_what_was_expected():
    with pytest.raises(ValueError, match="popsize must be an integer >= 2, got 1"):
        RBMEDA(n_bits=5, popsize=1)
    with pytest.raises(ValueError, match="epochs must be a positive integer or 'auto'"):
        RBMEDA(n_bits=5, epochs="long")
    with pytest.raises(ValueError, match="selection must be one of"):
        RBMEDA(n_bits=5, selection="roulette")
    with pytest.raises(ValueError, match="truncation must be in"):
        UMDA(n_bits=5, truncation=0)


def test_selection_operators():
    rng = np.random.default_rng(0)
    losses = np.array([5.0, 1.0, np.inf, 3.0, 1.0, 2.0])
    assert set(truncation(losses, 2, rng)) == {1, 4}
    w = tournament(losses, 600, 2, rng)
    counts = np.bincount(w, minlength=6)
    assert counts[2] == 0  # the failure (+inf) loses every tournament against a finite loss
    assert counts[1] + counts[4] > counts[3] > counts[0]
    # without replacement: in each pass every individual plays exactly once
    w = tournament(np.arange(8.0), 4, 2, rng)
    assert 0 in w and 7 not in w


def test_problems():
    t = Trap(10, 5)
    assert t([1] * 10) == 10.0 and t([0] * 10) == 8.0 and t([1, 1, 1, 1, 0] + [1] * 5) == 5.0
    np.testing.assert_array_equal(t.batch(np.eye(10, dtype=np.uint8)), np.full(10, 7.0))
    assert OneMax(7)([1, 0, 1, 1, 1, 1, 1]) == 6.0
    with pytest.raises(ValueError, match="multiple of k"):
        Trap(12, 5)
    with pytest.raises(ValueError, match="length 5"):
        OneMax(5)([1, 0])


@pytest.mark.parametrize(("n", "k"), [(12, 2), (10, 3), (9, 1)])
def test_nk_dynamic_programming_optimum_equals_brute_force(n, k):
    f = NKLandscape(n, k=k, seed=n + k)
    xs = np.array(list(itertools.product([0, 1], repeat=n)))
    assert f._optimum_dp() == pytest.approx(f.batch(xs).max(), abs=1e-12)


def test_registry():
    reg = asktell.plugins.registry()
    assert isinstance(reg.get("optimiser", "rbm-eda")(n_bits=10, popsize=10, seed=0), RBMEDA)
    assert isinstance(reg.get("optimiser", "umda")(n_bits=10, popsize=10, seed=0), UMDA)
    assert reg.get("problem", "trap")(n_bits=10)([1] * 10) == 10.0
    assert reg.get("problem", "onemax")(n_bits=3)([1, 1, 0]) == 2.0
    assert reg.get("problem", "nk-landscape")(n_bits=8, k=2).optimum > 0


SMALL = ["problem.n_bits=20", "optimiser.n_bits=20", "optimiser.popsize=100",
         "optimiser.epochs=3", "run.plot=false"]


def test_toml_example_runs_and_resumes_like_an_uninterrupted_run(tmp_path):
    cfg = ROOT / "examples" / "rbm_trap5.toml"
    full = asktell.runs.run(cfg, out=tmp_path / "full", progress=False,
                            overrides=[*SMALL, "stop.max_iterations=4"])
    assert full.iterations == 4 and full.evaluations == 400
    asktell.runs.run(cfg, out=tmp_path / "part", progress=False,
                     overrides=[*SMALL, "stop.max_iterations=2"])
    resumed = asktell.runs.resume(tmp_path / "part", overrides=["stop.max_iterations=4"],
                                  progress=False)
    assert resumed.iterations == 4
    assert resumed.fbest == full.fbest
    np.testing.assert_array_equal(resumed.xbest, full.xbest)


def test_cli_runs_the_example(tmp_path):
    out = tmp_path / "cli"
    sets = [a for o in [*SMALL, "stop.max_iterations=2"] for a in ("--set", o)]
    cmd = [sys.executable, "-m", "asktell.cli", "run", str(ROOT / "examples" / "rbm_trap5.toml"),
           "--out", str(out), *sets]
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert asktell.runs.summary(out)["iterations"] == 2


@pytest.mark.gpu
def test_rbm_eda_on_cuda_resumes_bit_identically_and_solves_onemax():
    f = OneMax(50)
    a = RBMEDA(n_bits=50, popsize=200, seed=0, device="cuda")
    assert a.rbm.W.device.type == "cuda"
    for _ in range(3):
        a.tell(f.batch(a.ask()))
    b = RBMEDA(n_bits=50, popsize=200, seed=0, device="cuda")
    b.load_state_dict(serialization.loads(serialization.dumps(a.state_dict())))
    xa, xb = a.ask(), b.ask()
    assert isinstance(xa, np.ndarray) and xa.dtype == np.uint8
    np.testing.assert_array_equal(xa, xb)
    a.tell(f.batch(xa))
    assert run(a, f, 60).fbest() == 50.0
