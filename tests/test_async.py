"""Asynchronous evaluation: the AsyncAskTell capability, the async controller and resume."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import asktell
from asktell.testing import check_async

METHODS = ["xnes", "snes", "cmaes", "pso"]


@pytest.mark.parametrize("name", METHODS)
def test_conforms(name):
    check_async(lambda **kw: asktell.create(name, x0=[1.0, 2.0, 0.5], sigma0=0.5, **kw))


@pytest.mark.parametrize("name", METHODS)
def test_boundaries_respected(name):
    b = asktell.RectangularBoundaries([0, 0], [1, 1])
    o = asktell.create(name, x0=[0.9, 0.9], sigma0=2.0, boundaries=b, seed=0)
    for _ in range(30):
        keys, xs = o.ask_async(2)
        assert np.all(b.contains(xs))
        o.tell_async(keys[::-1], [float(x @ x) for x in xs[::-1]])


@pytest.mark.parametrize("name", ["nelder-mead"])
def test_unsupported_method_is_refused(name):
    o = asktell.create(name, x0=[1.0, 2.0], seed=0)
    assert not isinstance(o, asktell.AsyncAskTell)
    with pytest.raises(TypeError, match=r"nelder-mead does not support asynchronous.*mode='sync'"):
        asktell.Controller(o, asktell.SequentialEvaluator(lambda x: 0.0), mode="async")


def test_modes_do_not_mix():
    o = asktell.create("xnes", x0=[1.0, 2.0], seed=0)
    o.ask()
    with pytest.raises(asktell.ProtocolError, match="do not mix"):
        o.ask_async(1)
    o.tell([1.0] * o.popsize)
    o.ask_async(1)
    with pytest.raises(asktell.ProtocolError, match="do not mix"):
        o.ask()


def test_pso_bounds_in_flight():
    o = asktell.create("pso", x0=[1.0, 2.0], popsize=5, seed=0)
    o.ask_async(5)
    with pytest.raises(ValueError, match="at most 5 candidates in flight"):
        o.ask_async(1)


def test_controller_validation():
    o = asktell.create("xnes", x0=[1.0, 2.0], seed=0)
    ev = asktell.SequentialEvaluator(lambda x: 0.0)
    with pytest.raises(ValueError, match="mode must be"):
        asktell.Controller(o, ev, mode="fast")
    with pytest.raises(ValueError, match="max_in_flight"):
        asktell.Controller(o, ev, mode="async", max_in_flight=0)
    with pytest.raises(TypeError, match=r"streaming asktell\.Evaluator"):
        asktell.Controller(o, lambda xs: [0.0] * len(xs), mode="async")


@pytest.mark.parametrize("name", METHODS)
def test_async_run_converges(name):
    calls = []

    def f(x):
        time.sleep(0.0005 * (len(calls) % 7 == 0))
        calls.append(1)
        return float(x @ x)

    seen = []
    o = asktell.create(name, x0=np.ones(4), sigma0=0.5, seed=3)
    with asktell.ParallelEvaluator(f, 3, backend="threading") as ev:
        r = asktell.Controller(o, ev, mode="async", stop={"target": 1e-6, "max_iterations": 400},
                               callbacks=[seen.append], progress=False).run()
    assert r.fbest < 1e-6, r
    assert r.stop_reason == {"target": 1e-6}
    assert [i.iteration for i in seen] == list(range(1, r.iterations + 1))
    assert all(len(i.values) == o.popsize for i in seen)


def test_failures_and_max_evaluations():
    def f(x):
        return None if x[0] > 1.2 else float(x @ x)

    o = asktell.create("xnes", x0=np.ones(3), sigma0=0.5, seed=0)
    r = asktell.Controller(o, asktell.SequentialEvaluator(f), mode="async", max_in_flight=2,
                           stop={"max_evaluations": 50}, progress=False).run()
    assert r.evaluations == 50 and r.failures > 0


def test_store_and_resume(tmp_path):
    def f(x):
        return float(x @ x)

    run_dir = tmp_path / "run"
    o = asktell.create("cmaes", x0=np.ones(3), sigma0=0.5, seed=0)
    with asktell.RunStore.create(run_dir, {}) as store:
        r1 = asktell.Controller(o, asktell.SequentialEvaluator(f), mode="async", max_in_flight=3,
                                store=store, stop={"max_iterations": 10}, progress=False).run()
    assert r1.iterations == 10
    o = asktell.create("cmaes", x0=np.ones(3), sigma0=0.5, seed=0)
    ctl = asktell.Controller.resume(run_dir, o, asktell.SequentialEvaluator(f), mode="async",
                                    stop={"max_iterations": 20}, progress=False)
    r2 = ctl.run()
    ctl.store.close()
    assert r2.iterations == 20 and r2.fbest <= r1.fbest
    with asktell.RunStore.open(run_dir, readonly=True) as store:
        assert len(store) == 20
        assert store.get_meta("mode") == "async"


_CRASHING = textwrap.dedent("""
    import json, os, sys, threading, time
    import numpy as np
    import asktell
    log_path, run_dir, die_at, resume = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]

    lock = threading.Lock()

    def f(x):
        with lock:
            with open(log_path) as fh:
                n = sum(1 for _ in fh)
            if n == die_at:
                os._exit(9)  # the driver dies mid-evaluation, like a SIGKILL
            with open(log_path, "a") as fh:
                fh.write(json.dumps([float(v) for v in x]) + "\\n")
        time.sleep(0.002)
        return float(x @ x)

    opt = asktell.create("xnes", x0=np.ones(3), sigma0=0.5, popsize=6, seed=4)
    ev = asktell.ParallelEvaluator(f, 3, backend="threading")
    kw = dict(mode="async", stop={"max_evaluations": 60}, progress=False, commit_seconds=0)
    if resume == "1":
        ctl = asktell.Controller.resume(run_dir, opt, ev, **kw)
    else:
        ctl = asktell.Controller(opt, ev, store=asktell.RunStore.create(run_dir, {}), **kw)
    r = ctl.run()
    ctl.store.close()
    print(r.evaluations, r.iterations)
""")


@pytest.mark.parametrize("die_at", [5, 23, 40])
def test_killed_async_run_repeats_only_the_running(tmp_path, die_at):
    script = tmp_path / "crash.py"
    script.write_text(_CRASHING)
    log = tmp_path / "calls.log"
    log.write_text("")
    run_dir = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    p = subprocess.run([sys.executable, str(script), str(log), str(run_dir), str(die_at), "0"],
                       env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 9, p.stderr
    before = log.read_text().splitlines()
    assert len(before) == die_at
    p = subprocess.run([sys.executable, str(script), str(log), str(run_dir), "-1", "1"],
                       env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split()[0] == "60", p.stdout  # every evaluation told, across the kill
    calls = [tuple(json.loads(line)) for line in log.read_text().splitlines()]
    repeated = len(calls) - len(set(calls))
    assert repeated <= 3, f"{repeated} evaluations repeated; at most the 3 running may be"
    with asktell.RunStore.open(run_dir, readonly=True) as store:
        assert store.get_meta("status") == "finished"
        told = sum(b.values.size for b in store.batches())
    assert told + len(store_evals(run_dir)) >= 60 - 6


def store_evals(run_dir: Path) -> list:
    with asktell.RunStore.open(run_dir, readonly=True) as store:
        return store.evaluations()


def test_config_async_run_and_resume(logistic_config, tmp_path):
    out = tmp_path / "r"
    r = asktell.run(logistic_config, out=out, progress=False,
                    overrides=["run.mode='async'", "run.max_in_flight=2", "stop.max_iterations=4",
                               "run.plot=false"])
    assert r.iterations == 4
    r2 = asktell.resume(out, overrides=["stop.max_iterations=6"], progress=False)
    assert r2.iterations == 6


def test_config_async_refused_for_unsupported_method(logistic_config, tmp_path):
    from asktell.config import ConfigError

    with pytest.raises(ConfigError, match=r"run\.mode: nelder-mead does not support"):
        asktell.run(logistic_config, out=tmp_path / "r", progress=False,
                    overrides=["run.mode='async'", "optimiser.name='nelder-mead'"])


def test_cinn_async_and_check():
    pytest.importorskip("torch")
    from asktell_cinn.estimator import CINN
    from asktell_cinn.simulators import GaussianMean

    sim = GaussianMean(dim=2, n_obs=5)
    small = {"summary": "deepset", "max_epochs": 1, "hidden": 8, "n_blocks": 1}

    def sims(o, keys, thetas, rng):
        return list(sim.simulate(np.asarray(thetas), rng))

    o = CINN(simulator=sim, batch_size=8, seed=0, **small)
    assert isinstance(o, asktell.AsyncAskTell)
    rng = np.random.default_rng(0)
    keys, th = o.ask_async(5)
    data = sims(o, keys, th, rng)
    assert o.tell_async(keys[::-1], data[::-1]) == []
    keys2, th2 = o.ask_async(3)
    data2 = sims(o, keys2, th2, rng)
    data2[0] = None  # a failed simulation
    (u,) = o.tell_async(keys2, data2)
    assert o.iterations == 1 and o.failures == 1 and o.n_simulations == 7
    assert u.told.values.shape == (8,) and np.isnan(u.told.values).sum() == 1
    # a state with results buffered resumes them
    k3, th3 = o.ask_async(2)
    o.tell_async(k3[:1], sims(o, k3[:1], th3[:1], rng))
    state = asktell.serialization.loads(asktell.serialization.dumps(o.state_dict()))
    o2 = CINN(simulator=sim, batch_size=8, seed=0, **small)
    o2.load_state_dict(state)
    assert o2.outstanding[0] == o.outstanding[0]
    with pytest.raises(ValueError, match="no outstanding candidate"):
        o2.tell_async([999], [None])


def test_cinn_async_controller(tmp_path):
    pytest.importorskip("torch")
    from asktell_cinn.estimator import CINN
    from asktell_cinn.simulators import GaussianMean

    sim = GaussianMean(dim=2, n_obs=5)
    o = CINN(simulator=sim, batch_size=8, seed=0, summary="deepset", max_epochs=1, hidden=8,
             n_blocks=1)
    ev = asktell.ParallelEvaluator(sim, 3, backend="threading", output="object")
    run_dir = tmp_path / "cinn"
    with ev, asktell.RunStore.create(run_dir, {}) as store:
        r = asktell.Controller(o, ev, mode="async", stop={"max_iterations": 3}, store=store,
                               progress=False).run()
    assert r.iterations == 3 and o.n_simulations == 24
    o2 = CINN(simulator=sim, batch_size=8, seed=0, summary="deepset", max_epochs=1, hidden=8,
              n_blocks=1)
    with asktell.ParallelEvaluator(sim, 3, backend="threading", output="object") as ev:
        ctl = asktell.Controller.resume(run_dir, o2, ev, mode="async",
                                        stop={"max_iterations": 4}, progress=False)
        assert ctl.run().iterations == 4
        ctl.store.close()
    assert o2.n_simulations == 32


def test_resume_in_the_other_mode_is_refused(tmp_path):
    def f(x):
        return float(x @ x)

    for made, other in (("sync", "async"), ("async", "sync")):
        run_dir = tmp_path / made
        with asktell.RunStore.create(run_dir, {}) as store:
            asktell.Controller(asktell.create("xnes", x0=[1.0, 1.0], seed=0),
                               asktell.SequentialEvaluator(f), mode=made, store=store,
                               stop={"max_iterations": 3}, progress=False).run()
        with pytest.raises(ValueError, match=f"made with mode='{made}'; resume it with"):
            asktell.Controller.resume(run_dir, asktell.create("xnes", x0=[1.0, 1.0], seed=0),
                                      asktell.SequentialEvaluator(f), mode=other)


@pytest.mark.parametrize("name", METHODS)
def test_maximise(name):
    o = asktell.create(name, x0=np.ones(3), sigma0=0.5, seed=1, direction="maximise")
    r = asktell.Controller(o, asktell.SequentialEvaluator(lambda x: -float(x @ x)),
                           mode="async", max_in_flight=2, stop={"max_iterations": 60},
                           progress=False).run()
    assert -1e-2 < r.fbest <= 0 and r.fbest == -float(r.xbest @ r.xbest)


# ---------------------------------------------------------------- NES: stale results


def _nes_state(o):
    return o.mean(), (o.covariance() if hasattr(o, "covariance") else o.stds())


@pytest.mark.parametrize("name", ["xnes", "snes"])
def test_nes_async_with_fresh_results_only_is_the_sync_update(name):
    sync = asktell.create(name, x0=[1.0, -0.5, 2.0], sigma0=0.5, seed=7)
    lazy = asktell.create(name, x0=[1.0, -0.5, 2.0], sigma0=0.5, seed=7)
    for _ in range(5):
        xs = sync.ask()
        sync.tell([float(x @ x) for x in xs])
        keys, ys = lazy.ask_async(lazy.popsize)  # a whole generation, told before more asks
        np.testing.assert_allclose(xs, ys, rtol=1e-10, atol=1e-14)  # the same draws
        lazy.tell_async(keys[::-1], [float(y @ y) for y in ys[::-1]])
        for a, b in zip(_nes_state(sync), _nes_state(lazy), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-14)  # up to rounding


def _with_one_stale(name, shift, stale_value):
    """Generation 1: λ fresh results; generation 2: λ - 1 fresh results plus one result
    asked before the first update (stale). ``shift`` moves every value of generation 2's
    fresh results; ``stale_value`` is the stale result's value."""
    o = asktell.create(name, x0=[1.0, -0.5, 2.0], sigma0=0.5, seed=3)
    lam = o.popsize
    keys, xs = o.ask_async(lam + 1)
    (u1,) = o.tell_async(keys[:lam], [float(x @ x) for x in xs[:lam]])
    k2, x2 = o.ask_async(lam - 1)
    o.tell_async(k2, [float(x @ x) + shift for x in x2])
    (u2,) = o.tell_async(keys[lam:], [stale_value])
    assert o.iterations == 2 and u2.keys[-1] == keys[lam]
    return o, u1


@pytest.mark.parametrize("name", ["xnes", "snes"])
def test_nes_stale_result_is_ranked_in_its_own_generation(name):
    ref, u1 = _with_one_stale(name, 0.0, 0.0)  # best of its cohort (values are x @ x > 0)
    # The stale result is ranked among the results of the generation it was asked in, so
    # the update does not change when the current generation's values move past it ...
    for shift in (-1e3, 1e3):
        o, _ = _with_one_stale(name, shift, 0.0)
        for a, b in zip(_nes_state(ref), _nes_state(o), strict=True):
            np.testing.assert_array_equal(a, b)
    # ... and does change when it moves within its own generation
    worst = float(np.nanmax(u1.told.values)) + 1.0
    o, _ = _with_one_stale(name, 0.0, worst)
    assert not np.array_equal(ref.mean(), o.mean())


@pytest.mark.parametrize("name", ["xnes", "snes"])
def test_nes_async_state_keeps_the_cohorts(name):
    def run(o, n, rng):
        while o.evaluations < n:
            if len(o.outstanding[0]) < 4:
                o.ask_async(4 - len(o.outstanding[0]))
            keys, xs = o.outstanding
            j = int(rng.integers(len(keys)))
            o.tell_async([keys[j]], [float(xs[j] @ xs[j])])

    o = asktell.create(name, x0=np.ones(3), sigma0=0.5, seed=1)
    run(o, 60, np.random.default_rng(0))
    state = asktell.serialization.loads(asktell.serialization.dumps(o.state_dict()))
    assert len(state["method"]["cohorts"]["iterations"]) >= 1
    copy = asktell.create(name, x0=np.ones(3), sigma0=0.5, seed=1)
    copy.load_state_dict(state)
    run(o, 120, np.random.default_rng(1))
    run(copy, 120, np.random.default_rng(1))
    np.testing.assert_array_equal(o.mean(), copy.mean())
    # without its cohorts the resumed run could not rank its stale results alike
    del state["method"]["cohorts"]
    bare = asktell.create(name, x0=np.ones(3), sigma0=0.5, seed=1)
    bare.load_state_dict(state)
    run(bare, 120, np.random.default_rng(1))
    assert not np.array_equal(o.mean(), bare.mean())
    # a synchronous state has no cohorts: unchanged from earlier versions
    s = asktell.create(name, x0=np.ones(3), sigma0=0.5, seed=1)
    s.ask()
    s.tell([1.0] * s.popsize)
    assert "cohorts" not in s.state_dict()["method"]


@pytest.mark.parametrize("name", ["xnes", "snes"])
def test_nes_async_state_of_an_earlier_version_resumes(name):
    """Candidates asked by an earlier version carry no z in their records (d + 2 columns)."""
    o = asktell.create(name, x0=np.ones(3), sigma0=0.5, seed=2)
    keys, xs = o.ask_async(o.popsize + 3)
    o.tell_async(keys[:5], [float(x @ x) for x in xs[:5]])
    state = asktell.serialization.loads(asktell.serialization.dumps(o.state_dict()))
    d = 3
    a = state["async"]
    a["asked_rec"] = [np.asarray(r)[: d + 2] for r in a["asked_rec"]]
    a["buffer_rec"] = [np.asarray(r)[: d + 2] for r in a["buffer_rec"]]
    old = asktell.create(name, x0=np.ones(3), sigma0=0.5, seed=2)
    old.load_state_dict(state)
    new_keys, new_xs = old.ask_async(2)  # new records beside the earlier version's
    told = [*new_keys, *keys[5:]]  # the first update mixes the two kinds of record
    ups = old.tell_async(told, [float(x @ x) for x in [*new_xs, *xs[5:]]])
    assert len(ups) == 1 and old.iterations == 1
    assert np.all(np.isfinite(old.mean())) and not np.array_equal(old.mean(), np.ones(3))


def test_nes_malformed_cohorts_are_refused():
    o = asktell.create("xnes", x0=np.ones(3), sigma0=0.5, seed=2)
    state = o.state_dict()
    state["method"]["cohorts"] = {"iterations": np.array([0]), "losses": [np.ones(3)],
                                  "outside": [np.ones(2)]}
    with pytest.raises(ValueError, match="cohorts"):
        asktell.create("xnes", x0=np.ones(3), sigma0=0.5, seed=2).load_state_dict(state)


# ---------------------------------------------------------------- CMA-ES: stragglers


def _cmaes_generations(boundaries=None):
    """Three updates: one candidate asked before the first is told in the third (a
    straggler, two updates old), one asked before the second also in the third (one update
    old). Returns the solutions passed to pycma's tell in the third update with their keys,
    those two candidates by key, and pycma's (mean, sigma) when each key was asked."""
    o = asktell.create("cmaes", x0=[0.8, 0.6, 0.7], sigma0=0.3, seed=5, boundaries=boundaries)
    lam, told, dists = o.popsize, [], {}
    real_tell = o.es.tell

    def spy(solutions, values, **kw):
        told.append([np.array(s) for s in solutions])
        return real_tell(solutions, values, **kw)

    def ask(n):
        keys, xs = o.ask_async(n)
        dists.update(dict.fromkeys(keys, (o.es.mean.copy(), o.es.sigma)))
        return keys, xs

    def f(x):
        return float(x @ x)

    o.es.tell = spy
    k0, x0 = ask(lam + 1)  # the last one straggles
    o.tell_async(k0[:lam], [f(x) for x in x0[:lam]])
    k1, x1 = ask(lam + 1)  # the last one is one update late
    o.tell_async(k1[:lam], [f(x) for x in x1[:lam]])
    k2, x2 = ask(lam - 2)
    (u,) = o.tell_async([k0[-1], k1[-1], *k2], [f(x0[-1]), f(x1[-1]), *(f(x) for x in x2)])
    assert o.iterations == 3 and len(told) == 3
    return told[-1], u.keys, {k0[-1]: x0[-1], k1[-1]: x1[-1]}, dists


def test_cmaes_straggler_step_is_taken_from_the_current_mean():
    sent, keys, xs, dists = _cmaes_generations()
    by_key = dict(zip(keys, sent, strict=True))
    straggler, late = list(xs)
    mean_then, sigma_then = dists[straggler]
    mean_now, sigma_now = dists[max(dists)]  # pycma's distribution in the third generation
    expected = mean_now + (sigma_now / sigma_then) * (xs[straggler] - mean_then)
    np.testing.assert_allclose(by_key[straggler], expected, rtol=1e-12)
    np.testing.assert_array_equal(by_key[late], xs[late])  # one update old: as it is


def test_cmaes_straggler_with_boundaries_is_told_as_it_is():
    b = asktell.RectangularBoundaries([-2.0, -2.0, -2.0], [2.0, 2.0, 2.0])
    sent, keys, xs, _dists = _cmaes_generations(b)
    by_key = dict(zip(keys, sent, strict=True))
    for k, x in xs.items():
        np.testing.assert_array_equal(by_key[k], x)


def test_cmaes_async_state_of_an_earlier_version_resumes():
    """Candidates asked by an earlier version carry pycma's sample and update only; one of
    them is told two updates late."""
    def f(x):
        return float(x @ x)

    o = asktell.create("cmaes", x0=np.ones(3), sigma0=0.5, seed=2)
    lam = o.popsize
    keys, xs = o.ask_async(2 * lam + 1)
    o.tell_async(keys[:lam], [f(x) for x in xs[:lam]])
    o.ask_async(1)  # pycma needs an ask between two tells, as the controller makes
    state = asktell.serialization.loads(asktell.serialization.dumps(o.state_dict()))
    state["async"]["asked_rec"] = [np.asarray(r)[:4] for r in state["async"]["asked_rec"]]
    old = asktell.create("cmaes", x0=np.ones(3), sigma0=0.5, seed=2)
    old.load_state_dict(state)
    assert len(old.tell_async(keys[lam:2 * lam], [f(x) for x in xs[lam:2 * lam]])) == 1
    old.ask_async(lam - 2)  # new records beside the earlier version's
    rest, vals = list(old.outstanding[0]), [f(v) for v in old.outstanding[1]]
    assert keys[-1] in rest  # asked before the first update, told after the second
    assert len(old.tell_async(rest, vals)) == 1
    assert old.iterations == 3 and np.all(np.isfinite(old.es.mean))
