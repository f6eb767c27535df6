"""Conformance checks for optimiser plugins.

A plugin author calls :func:`check_optimiser` in their own test suite::

    from asktell.testing import check_optimiser

    def test_my_optimiser_conforms():
        check_optimiser(lambda **kw: MyOptimiser(x0=[1.0, 2.0], **kw))

Each check raises ``AssertionError`` with a message saying what the protocol expects.
"""

from __future__ import annotations

import copy
import math
import pickle
from collections.abc import Callable
from typing import Any

import numpy as np

from . import serialization
from .protocol import Optimiser, ProtocolError

__all__ = ["check_optimiser", "default_objective"]

Factory = Callable[..., Optimiser]


def default_objective(candidate: Any) -> float:
    """A deterministic score for any candidate: the sum of squares of a numeric candidate,
    minus the length of a string, or a hash-based value otherwise."""
    if isinstance(candidate, np.ndarray) and candidate.dtype.kind in "biuf":
        return float(np.sum(np.asarray(candidate, dtype=float) ** 2))
    if isinstance(candidate, str):
        return -float(len(candidate)) + 0.01 * (sum(map(ord, candidate)) % 97)
    return float(abs(hash(repr(candidate))) % 1000)


def _values(opt: Optimiser, batch: Any, objective: Callable[[Any], float]) -> np.ndarray:
    return np.array([objective(c) for c in batch], dtype=float)


def _same(a: Any, b: Any) -> bool:
    return serialization.plain_equal(a, b)


def _state(opt: Optimiser) -> str:
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


def _expect_raises(exc: type[BaseException] | tuple, fn: Callable[[], Any], what: str) -> None:
    try:
        fn()
    except exc:
        return
    except Exception as e:  # wrong exception type
        raise AssertionError(f"{what}: expected {exc}, got {type(e).__name__}: {e}") from e
    raise AssertionError(f"{what}: expected {exc} to be raised, nothing was")


def check_optimiser(
    factory: Factory,
    *,
    objective: Callable[[Any], float] = default_objective,
    n_steps: int = 5,
    seed: int = 12345,
) -> None:
    """Check that an optimiser follows the ask/tell protocol.

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
    The checks: ``tell`` before ``ask``, ``ask`` twice, wrong length and wrong type are refused
    with ``ProtocolError``/``ValueError``/``TypeError`` and change nothing; asked arrays are
    read-only; NaN/inf/None count as failures, rank worst and leave no NaN in the state; a batch
    of failures only is survived; the same seed gives the same asks; ``state_dict`` is plain data
    that round-trips through :func:`asktell.serialization.dumps`, and loading it into a fresh
    optimiser (or unpickling) gives the asks of the uninterrupted optimiser; ``direction``
    is honoured by ``xbest``/``fbest``; ``stop()`` returns None or a dict.
    """
    opt = factory(seed=seed)
    if not isinstance(opt, Optimiser):
        raise AssertionError(f"factory must return an asktell.Optimiser, got {type(opt)}")

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
    good = _values(opt, batch, objective)
    for bad_len in {max(0, n - 1), n + 1}:
        _expect_raises(ValueError, lambda k=bad_len: opt.tell(list(good[:k]) + [0.0] * (k - n)),
                       f"tell() with {bad_len} values for {n} candidates")
        assert _state(opt) == pending, "a rejected tell() (wrong length) changed the state"
    for bad in ("1.0", [str(v) for v in good], {"a": 1}, [True] * n, [[v] for v in good], 3.0):
        _expect_raises((TypeError, ValueError), lambda b=bad: opt.tell(b),
                       f"tell({bad!r:.40}) (wrong type)")
        assert _state(opt) == pending, f"a rejected tell({bad!r:.40}) changed the state"

    # ---- failures
    vals: list[Any] = list(good)
    for i, fail in zip(range(n), (float("nan"), None, float("inf"), -float("inf"))):
        vals[i] = fail
    n_fail = min(n, 4)
    opt.tell(vals)
    assert opt.failures == n_fail, f"expected {n_fail} failures counted, got {opt.failures}"
    assert opt.evaluations == n, f"evaluations should be {n}, got {opt.evaluations}"
    leaks = _walk_floats(opt.state_dict()["method"])
    assert not leaks, f"NaN leaked into the optimiser state at {leaks}"
    if n > n_fail:
        fb = opt.fbest()
        finite = good[n_fail:]
        want = finite.min() if opt.direction == "minimise" else finite.max()
        assert fb == want, f"fbest() should be the best finite value {want}, got {fb}"
    # a batch made of failures only
    b2 = opt.ask()
    opt.tell([None] * len(b2))
    leaks = _walk_floats(opt.state_dict()["method"])
    assert not leaks, f"NaN leaked into the state after an all-failed batch at {leaks}"
    b3 = opt.ask()
    opt.tell(_values(opt, b3, objective))

    # ---- reproducibility
    def trajectory(o: Optimiser, k: int) -> list[Any]:
        out = []
        for _ in range(k):
            if o.stop() is not None and not o.awaiting_tell:
                break
            b = o.ask()
            out.append(copy.deepcopy(b))
            o.tell(_values(o, b, objective))
        return out

    a1, a2 = factory(seed=seed), factory(seed=seed)
    t1, t2 = trajectory(a1, n_steps), trajectory(a2, n_steps)
    assert _same(t1, t2), "two optimisers with the same seed asked different batches"

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
    assert _same(cont, resumed), "a restored optimiser asks differently from the original"
    assert (r.iterations, r.evaluations) == (a1.iterations, a1.evaluations)
    # resume from a checkpoint taken between ask and tell
    p1 = factory(seed=seed)
    trajectory(p1, 2)
    pb = p1.ask()
    mid = serialization.loads(serialization.dumps(p1.state_dict()))
    p2 = factory(seed=seed)
    p2.load_state_dict(mid)
    assert p2.awaiting_tell, "a state taken after ask() must restore the pending batch"
    p1.tell(_values(p1, pb, objective))
    p2.tell(_values(p2, pb, objective))
    assert _same(trajectory(p1, 2), trajectory(p2, 2)), "resume between ask and tell diverged"

    # ---- pickling
    q = pickle.loads(pickle.dumps(a1))
    assert _same(trajectory(a1, 2), trajectory(q, 2)), "an unpickled optimiser asks differently"

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

    # ---- stop
    s = factory(seed=seed).stop()
    assert s is None or isinstance(s, dict), f"stop() must return None or a dict, got {s!r}"
