"""Conformance checks for method plugins, one per specialisation of the protocol.

A plugin author calls :func:`check_optimiser` (a method told numbers) or
:func:`check_estimator` (a method told result objects, such as simulated data sets) in their own
test suite::

    from asktell.testing import check_estimator, check_optimiser

    def test_my_optimiser_conforms():
        check_optimiser(lambda **kw: MyOptimiser(x0=[1.0, 2.0], **kw))

    def test_my_estimator_conforms():
        check_estimator(lambda **kw: MyEstimator(**kw), simulate=my_simulator)

Both run the checks every method shares (call order, misuse refused with nothing changed,
read-only asks, failures counted, reproducible asks, plain-data state that resumes exactly, also
between ask and tell, pickling, ``stop()``); each adds its own. Each check raises
``AssertionError`` with a message saying what the protocol expects. A method that declares
:class:`~asktell.AsyncAskTell` also runs :func:`check_async`.
"""

from __future__ import annotations

import copy
import math
import pickle
from collections.abc import Callable
from typing import Any

import numpy as np

from . import serialization
from .protocol import AskTell, AsyncAskTell, Estimator, Optimiser, ProtocolError

__all__ = [
    "check_async",
    "check_declared_names",
    "check_estimator",
    "check_optimiser",
    "default_objective",
]

Factory = Callable[..., AskTell]
#: Results for a whole batch: ``results(method, batch) -> list``.
Results = Callable[[AskTell, Any], list[Any]]


def default_objective(candidate: Any) -> float:
    """A deterministic score for any candidate: the sum of squares of a numeric candidate,
    minus the length of a string, or a hash-based value otherwise."""
    if isinstance(candidate, np.ndarray) and candidate.dtype.kind in "biuf":
        return float(np.sum(np.asarray(candidate, dtype=float) ** 2))
    if isinstance(candidate, str):
        return -float(len(candidate)) + 0.01 * (sum(map(ord, candidate)) % 97)
    return float(abs(hash(repr(candidate))) % 1000)


def _values(opt: AskTell, batch: Any, objective: Callable[[Any], float]) -> np.ndarray:
    return np.array([objective(c) for c in batch], dtype=float)


def _same(a: Any, b: Any) -> bool:
    return serialization.plain_equal(a, b)


def _state(opt: AskTell) -> str:
    return serialization.dumps(opt.state_dict())


def _walk_floats(obj: Any, path: str = "$") -> list[str]:
    """Paths holding NaN in a state (failures must never leak NaN into the state)."""
    bad: list[str] = []
    if isinstance(obj, np.ndarray) and obj.dtype.kind in "fc":
        if np.isnan(obj).any():
            bad.append(path)
    elif isinstance(obj, float) and math.isnan(obj):
        bad.append(path)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            bad += _walk_floats(v, f"{path}.{k}")
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            bad += _walk_floats(v, f"{path}[{i}]")
    return bad


def _expect_raises(exc: type[BaseException] | tuple[type[BaseException], ...],
                   fn: Callable[[], Any], what: str) -> None:
    try:
        fn()
    except exc:
        return
    except Exception as e:  # wrong exception type
        raise AssertionError(f"{what}: expected {exc}, got {type(e).__name__}: {e}") from e
    raise AssertionError(f"{what}: expected {exc} to be raised, nothing was")


def _check_protocol(
    factory: Factory,
    results: Results,
    bad_results: Callable[[int, list[Any]], list[Any]],
    failure_values: tuple[Any, ...],
    *,
    n_steps: int,
    seed: int,
) -> None:
    """The checks every method shares (see :func:`check_optimiser`'s notes)."""
    opt = factory(seed=seed)

    # ---- misuse before the first ask
    before = _state(opt)
    _expect_raises(ProtocolError, lambda: opt.tell([1.0]), "tell() before ask()")
    assert _state(opt) == before, "a rejected tell() before ask() changed the state"

    batch = opt.ask()
    n = len(batch)
    assert n >= 1, "ask() returned an empty batch"
    if isinstance(batch, np.ndarray):
        assert not batch.flags.writeable, "ask() must return a read-only array"
    else:
        assert isinstance(batch, tuple), (
            f"ask() must return a read-only numpy array or a tuple, got {type(batch).__name__}"
        )
    pending = _state(opt)
    _expect_raises(ProtocolError, opt.ask, "ask() twice without tell()")
    assert _state(opt) == pending, "a rejected second ask() changed the state"

    # ---- wrong length and type
    good = results(opt, batch)
    for bad_len in sorted({max(0, n - 1), n + 1}):
        told = list(good[:bad_len]) + [good[0]] * (bad_len - n)
        _expect_raises(ValueError, lambda t=told: opt.tell(t),  # type: ignore[misc]
                       f"tell() with {bad_len} results for {n} candidates")
        assert _state(opt) == pending, "a rejected tell() (wrong length) changed the state"
    for bad in bad_results(n, good):
        _expect_raises((TypeError, ValueError), lambda b=bad: opt.tell(b),  # type: ignore[misc]
                       f"tell({bad!r:.40}) (wrong type)")
        assert _state(opt) == pending, f"a rejected tell({bad!r:.40}) changed the state"

    # ---- failures
    vals: list[Any] = list(good)
    n_fail = min(n, len(failure_values))
    vals[:n_fail] = failure_values[:n_fail]
    opt.tell(vals)
    assert opt.failures == n_fail, f"expected {n_fail} failures counted, got {opt.failures}"
    assert opt.evaluations == n, f"evaluations should be {n}, got {opt.evaluations}"
    record = opt.last_told
    assert record is not None and record.n_failed == n_fail and record.values.shape == (n,), (
        "last_told must record one value per candidate and the batch's failures")
    assert np.isnan(record.values[:n_fail]).all(), "failures must be recorded as NaN"
    leaks = _walk_floats(opt.state_dict()["method"])
    assert not leaks, f"NaN leaked into the method's state at {leaks}"
    # a batch made of failures only
    b2 = opt.ask()
    opt.tell([None] * len(b2))
    leaks = _walk_floats(opt.state_dict()["method"])
    assert not leaks, f"NaN leaked into the state after an all-failed batch at {leaks}"
    b3 = opt.ask()
    opt.tell(results(opt, b3))

    # ---- reproducibility
    def trajectory(o: AskTell, k: int) -> list[Any]:
        out = []
        for _ in range(k):
            if o.stop() is not None and not o.awaiting_tell:
                break
            b = o.ask()
            out.append(copy.deepcopy(b))
            o.tell(results(o, b))
        return out

    a1, a2 = factory(seed=seed), factory(seed=seed)
    t1, t2 = trajectory(a1, n_steps), trajectory(a2, n_steps)
    assert _same(t1, t2), "two methods with the same seed asked different batches"

    # ---- state_dict round trip and resume equality
    state = a1.state_dict()
    try:
        text = serialization.dumps(state)
    except TypeError as e:
        raise AssertionError(f"state_dict() is not plain data: {e}") from e
    r = factory(seed=seed + 1)
    r.load_state_dict(serialization.loads(text))
    assert serialization.dumps(r.state_dict()) == text, "load_state_dict(state_dict()) is lossy"
    cont, resumed = trajectory(a1, n_steps), trajectory(r, n_steps)
    assert _same(cont, resumed), "a restored method asks differently from the original"
    assert (r.iterations, r.evaluations) == (a1.iterations, a1.evaluations)
    # resume from a checkpoint taken between ask and tell
    p1 = factory(seed=seed)
    trajectory(p1, 2)
    pb = p1.ask()
    mid = serialization.loads(serialization.dumps(p1.state_dict()))
    p2 = factory(seed=seed)
    p2.load_state_dict(mid)
    assert p2.awaiting_tell, "a state taken after ask() must restore the pending batch"
    p1.tell(results(p1, pb))
    p2.tell(results(p2, pb))
    assert _same(trajectory(p1, 2), trajectory(p2, 2)), "resume between ask and tell diverged"

    # ---- pickling
    q = pickle.loads(pickle.dumps(a1))
    assert _same(trajectory(a1, 2), trajectory(q, 2)), "an unpickled method asks differently"

    # ---- stop
    s = factory(seed=seed).stop()
    assert s is None or isinstance(s, dict), f"stop() must return None or a dict, got {s!r}"


def check_optimiser(
    factory: Factory,
    *,
    objective: Callable[[Any], float] = default_objective,
    n_steps: int = 5,
    seed: int = 12345,
) -> None:
    """Check that an optimiser (a method told numbers) follows the ask/tell protocol.

    Parameters
    ----------
    factory : callable
        ``factory(seed=..., direction=...) -> Optimiser``; called several times, it must build
        optimisers that differ only by these keywords.
    objective : callable
        Scores one candidate (default :func:`default_objective`).
    n_steps : int
        Batches to run in the reproducibility and resume checks.
    seed : int
        Seed used by the checks.

    Raises
    ------
    AssertionError
        Naming the first check that failed.

    Notes
    -----
    The checks every method shares: ``tell`` before ``ask``, ``ask`` twice, wrong length and
    wrong type are refused with ``ProtocolError``/``ValueError``/``TypeError`` and change
    nothing; asked arrays are read-only; failures are counted, recorded as NaN in
    :attr:`~asktell.AskTell.last_told` and leave no NaN in the state; a batch of failures only is
    survived; the same seed gives the same asks; ``state_dict`` is plain data that round-trips
    through :func:`asktell.serialization.dumps`, and loading it into a fresh method (or
    unpickling) gives the asks of the uninterrupted one, also between ask and tell; ``stop()``
    returns None or a dict. Then, for optimisers: NaN, ±inf and None are failures that rank
    worst; ``direction`` is honoured by ``xbest``/``fbest``.
    """
    opt = factory(seed=seed)
    if not isinstance(opt, Optimiser):
        raise AssertionError(f"factory must return an asktell.Optimiser, got {type(opt)}")

    def results(o: AskTell, batch: Any) -> list[Any]:
        return list(_values(o, batch, objective))

    def bad_results(n: int, good: list[Any]) -> list[Any]:
        return ["1.0", [str(v) for v in good], {"a": 1}, [True] * n, [[v] for v in good], 3.0]

    _check_protocol(factory, results, bad_results,
                    (float("nan"), None, float("inf"), -float("inf")), n_steps=n_steps, seed=seed)

    # ---- failures rank worst
    batch = opt.ask()
    n = len(batch)
    good = _values(opt, batch, objective)
    n_fail = min(n, 4)
    vals: list[Any] = list(good)
    vals[:n_fail] = (float("nan"), None, float("inf"), -float("inf"))[:n_fail]
    opt.tell(vals)
    if n > n_fail:
        fb = opt.fbest()
        finite = good[n_fail:]
        want = finite.min() if opt.direction == "minimise" else finite.max()
        assert fb == want, f"fbest() should be the best finite value {want}, got {fb}"

    # ---- direction
    for direction in ("minimise", "maximise"):
        o = factory(seed=seed, direction=direction)
        assert o.direction == direction
        seen: list[float] = []
        for _ in range(2):
            b = o.ask()
            v = _values(o, b, objective)
            seen.extend(v)
            o.tell(v)
        want = min(seen) if direction == "minimise" else max(seen)
        assert o.fbest() == want, f"{direction}: fbest() {o.fbest()} != best seen {want}"
        xb = o.xbest()
        assert objective(xb) == want, f"{direction}: xbest() does not score fbest()"


def check_estimator(
    factory: Factory,
    *,
    simulate: Callable[[Any], Any],
    n_steps: int = 3,
    seed: int = 12345,
) -> None:
    """Check that an estimator (a method told result objects) follows the ask/tell protocol.

    Parameters
    ----------
    factory : callable
        ``factory(seed=...) -> Estimator``; called several times, it must build estimators that
        differ only by the seed.
    simulate : callable
        ``simulate(candidate) -> result``: one result (a data set) for one asked candidate,
        deterministic in the candidate.
    n_steps : int
        Batches to run in the reproducibility and resume checks.
    seed : int
        Seed used by the checks.

    Raises
    ------
    AssertionError
        Naming the first check that failed.

    Notes
    -----
    The checks every method shares (see :func:`check_optimiser`), with None as the failed
    result; then: the recorded values are finite for successful results, ``recorded`` names
    them, and a result of the wrong kind (a string, a dict, a bool) is refused.
    """
    opt = factory(seed=seed)
    if not isinstance(opt, Estimator):
        raise AssertionError(f"factory must return an asktell.Estimator, got {type(opt)}")
    if not isinstance(type(opt).recorded, str) or not type(opt).recorded:
        raise AssertionError("an estimator must declare what it records (the class attribute "
                             "`recorded`)")

    def results(o: AskTell, batch: Any) -> list[Any]:
        return [simulate(c) for c in batch]

    def bad_results(n: int, good: list[Any]) -> list[Any]:
        return ["1.0", {"a": 1}, ["x"] * n, [True] * n, 3.0]

    _check_protocol(factory, results, bad_results, (None,), n_steps=n_steps, seed=seed)

    batch = opt.ask()
    opt.tell(results(opt, batch))
    told = opt.last_told
    assert told is not None and told.n_failed == 0, "a batch of good results has no failure"
    assert np.isfinite(told.values).all(), (
        f"the recorded {type(opt).recorded!r} must be finite for successful results")


def check_async(
    factory: Factory,
    *,
    objective: Callable[[Any], float] = default_objective,
    n_results: int = 40,
    in_flight: int = 3,
    seed: int = 12345,
) -> None:
    """Check a method that declares :class:`~asktell.AsyncAskTell`.

    Parameters
    ----------
    factory : callable
        ``factory(seed=...) -> AsyncAskTell``.
    objective : callable
        Scores one candidate.
    n_results : int
        Results to tell in the run checks.
    in_flight : int
        Candidates kept outstanding (capped by the method's ``max_in_flight``).
    seed : int
        Seed used by the checks.

    Raises
    ------
    AssertionError
        Naming the first check that failed.

    Notes
    -----
    Out-of-order, partial tells (a seeded shuffle) make updates and give the same run twice;
    keys are unique and asked arrays read-only; an unknown or repeated key, a wrong number of
    values and a wrong type are refused with nothing changed; ``ask()`` is refused while
    asynchronous candidates are outstanding; a state saved with candidates outstanding and
    results buffered resumes the same run; failures are counted.
    """
    opt = factory(seed=seed)
    if not isinstance(opt, AsyncAskTell):
        raise AssertionError(f"{type(opt).__name__} does not declare asktell.AsyncAskTell")

    def run(o: Any, n: int, shuffle: np.random.Generator) -> list[str]:
        limit = o.max_in_flight
        m = in_flight if limit is None else min(in_flight, limit)
        trace: list[str] = []
        while o.evaluations < n:
            keys, _ = o.outstanding
            if len(keys) < m:
                _k, xs = o.ask_async(m - len(keys))
                assert not xs.flags.writeable, "ask_async() must return a read-only array"
                trace.append(serialization.dumps(xs))
            keys, xs = o.outstanding
            j = int(shuffle.integers(len(keys)))
            o.tell_async([keys[j]], [objective(xs[j])])
        return trace

    a, b = factory(seed=seed), factory(seed=seed)
    ta = run(a, n_results, np.random.default_rng(1))
    tb = run(b, n_results, np.random.default_rng(1))
    assert ta == tb, "the same seed and arrival order must give the same asks"
    assert a.iterations >= 1, f"{n_results} results told made no update"
    assert a.evaluations == n_results, "evaluations must count told results"
    # state with candidates outstanding and results buffered, then continued
    c = factory(seed=seed)
    c.load_state_dict(copy.deepcopy(serialization.loads(serialization.dumps(a.state_dict()))))
    rest_a = run(a, 2 * n_results, np.random.default_rng(2))
    rest_c = run(c, 2 * n_results, np.random.default_rng(2))
    assert rest_a == rest_c, "a state saved mid-run must resume the same asynchronous run"
    # misuse
    o = factory(seed=seed)
    assert isinstance(o, AsyncAskTell)
    keys, xs = o.ask_async(2)
    assert len(set(keys)) == 2, "keys must be distinct"
    before = _state(o)
    for bad_keys, bad_vals, what in (
        ([max(keys) + 100], [1.0], "an unknown key"),
        ([keys[0], keys[0]], [1.0, 1.0], "a repeated key"),
        ([keys[0]], [1.0, 2.0], "more values than keys"),
        ([keys[0]], ["1.0"], "a string value"),
    ):
        _expect_raises((TypeError, ValueError),
                       lambda k=bad_keys, v=bad_vals: o.tell_async(k, v),  # type: ignore[misc]
                       f"tell_async() with {what}")
        assert _state(o) == before, f"a refused tell_async() ({what}) changed the state"
    _expect_raises(ProtocolError, o.ask, "ask() while asynchronous candidates are outstanding")
    assert _state(o) == before, "a refused ask() changed the state"
    o.tell_async([keys[1]], [None])
    assert o.failures == 1, "a None value must count as a failure"
    o.tell_async([keys[0]], [objective(xs[0])])
    assert not o.outstanding[0], "told candidates must leave the outstanding set"


def check_declared_names(distribution: str) -> None:
    """Check that a distribution declares exactly the names its plugins register.

    A distribution may declare the names each of its plugins provides, one entry-point group
    per family, so that looking a name up imports only that plugin (see
    :mod:`asktell.plugins`)::

        [project.entry-points.asktell]
        mine = "my_plugin"

        [project.entry-points."asktell.optimiser"]
        my-method = "my_plugin"

    Declarations that drift from the hooks only cost start-up time (an undeclared name is still
    found, by importing every plugin), but say nothing; this check makes them fail a test.

    Parameters
    ----------
    distribution : str
        The installed distribution's name (``"asktell-example-plugin"``).

    Raises
    ------
    ValueError
        If no distribution of that name is installed.
    AssertionError
        Naming each name registered but not declared (as the line to add) and each declared
        but not registered, or a plugin of the distribution that fails to load.
    """
    import importlib.metadata as md

    from .plugins import ENTRY_POINT_GROUP, Registry, normalise_name

    try:
        eps = list(md.distribution(distribution).entry_points)
    except md.PackageNotFoundError:
        raise ValueError(f"no installed distribution named {distribution!r}: pass the name "
                         "in your pyproject.toml's [project] name") from None
    plugins = [ep for ep in eps if ep.group == ENTRY_POINT_GROUP]
    assert plugins, f"{distribution} has no entry point in the group {ENTRY_POINT_GROUP!r}"
    reg = Registry.load(entry_points=plugins, core=False)
    assert not reg.failures, "plugins failed to load: " + "; ".join(
        f"{f.plugin}: {f.error}" for f in reg.failures)
    module = {ep.name: ep.value.strip() for ep in plugins}
    registered = {(e.family, e.name, module[e.plugin]) for e in reg.entries()}
    prefix = ENTRY_POINT_GROUP + "."
    declared = {(ep.group.removeprefix(prefix), normalise_name(ep.name), ep.value.strip())
                for ep in eps if ep.group.startswith(prefix)}
    problems = [f'not declared: [project.entry-points."{prefix}{f}"] {n} = "{m}"'
                for f, n, m in sorted(registered - declared)]
    problems += [f"declared but not registered: {f} {n!r} by {m!r}"
                 for f, n, m in sorted(declared - registered)]
    assert not problems, f"{distribution}: " + "; ".join(problems)
