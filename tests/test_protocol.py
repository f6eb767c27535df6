"""The ask/tell contract of the base class, exercised through XNES and a string optimiser."""

import math
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from string_optimiser import StringEvolver

import asktell
from asktell import ProtocolError, serialization
from asktell.testing import check_optimiser


def make_xnes(**kw):
    return asktell.create("xnes", x0=[0.5, -0.3, 1.0], sigma0=0.5, **kw)


def test_string_optimiser_conforms():
    check_optimiser(lambda **kw: StringEvolver("CCO", **kw))


def test_string_optimiser_returns_strings_and_improves():
    opt = StringEvolver("C", seed=3, direction="maximise")
    for _ in range(40):
        batch = opt.ask()
        assert isinstance(batch, tuple) and all(isinstance(s, str) for s in batch)
        opt.tell([s.count("N") - 0.01 * len(s) for s in batch])
    assert opt.fbest() >= 3
    assert opt.xbest().count("N") >= 3


def test_tell_before_ask_names_the_problem():
    opt = make_xnes(seed=1)
    with pytest.raises(ProtocolError, match=r"tell\(\) called before ask\(\)"):
        opt.tell([1.0] * 7)


def test_tell_twice_for_one_ask():
    opt = make_xnes(seed=1)
    xs = opt.ask()
    opt.tell(np.ones(len(xs)))
    with pytest.raises(ProtocolError, match="before ask"):
        opt.tell(np.ones(len(xs)))


def test_ask_twice_is_refused():
    opt = make_xnes(seed=1)
    opt.ask()
    with pytest.raises(ProtocolError, match=r"ask\(\) called again before tell\(\)"):
        opt.ask()


def test_wrong_length_message_names_expected_count():
    opt = make_xnes(seed=1)
    xs = opt.ask()
    with pytest.raises(ValueError, match=f"expects {len(xs)} values"):
        opt.tell([1.0, 2.0])


def test_asks_are_read_only():
    opt = make_xnes(seed=1)
    xs = opt.ask()
    with pytest.raises(ValueError):
        xs[0, 0] = 3.0


def test_failures_rank_worst_and_are_counted():
    opt = make_xnes(seed=4)
    xs = opt.ask()
    vals = [float(x @ x) for x in xs]
    vals[0], vals[1], vals[2] = None, math.nan, -math.inf
    opt.tell(vals)
    assert opt.failures == 3
    assert opt.fbest() == min(vals[3:])
    assert not any(np.isnan(v).any() for v in (opt.mean(), opt.covariance()))


def test_direction_maximise():
    opt = asktell.create("xnes", x0=[0.0, 0.0], sigma0=1.0, seed=2, direction="maximise")
    for _ in range(100):
        xs = opt.ask()
        opt.tell(-np.sum((xs - 1.0) ** 2, axis=1))
    assert opt.fbest() > -1e-6
    np.testing.assert_allclose(opt.xbest(), [1.0, 1.0], atol=1e-3)


def test_bad_direction_and_seed():
    with pytest.raises(ValueError, match="direction"):
        make_xnes(direction="up")
    with pytest.raises(TypeError, match="seed"):
        make_xnes(seed=1.5)


def test_seed_none_is_recorded_and_repeatable():
    a = make_xnes()
    b = make_xnes(seed=a.seed)
    assert np.array_equal(a.ask(), b.ask())


def test_load_state_rejects_other_class():
    s = StringEvolver(seed=1).state_dict()
    with pytest.raises(ValueError, match="saved from"):
        make_xnes(seed=1).load_state_dict(s)


def test_pickle_round_trip_continues_identically():
    opt = make_xnes(seed=9)
    for _ in range(3):
        xs = opt.ask()
        opt.tell(np.sum(xs**2, axis=1))
    clone = pickle.loads(pickle.dumps(opt))
    assert np.array_equal(opt.ask(), clone.ask())


# ---------------------------------------------------------------- fuzzing tell()

scalars = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**6), 10**6),
    st.none(),
)
junk = st.one_of(
    st.text(max_size=3),
    st.booleans(),
    st.lists(st.floats(), min_size=1, max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=1),
    st.complex_numbers(allow_nan=False),
)


@settings(max_examples=150, deadline=None)
@given(values=st.one_of(st.lists(scalars, max_size=10),
                        st.lists(st.one_of(scalars, junk), min_size=1, max_size=10),
                        junk))
def test_fuzzed_tell_is_accepted_exactly_when_valid(values):
    opt = make_xnes(seed=0)
    xs = opt.ask()
    n = len(xs)
    before = serialization.dumps(opt.state_dict())
    valid = (
        isinstance(values, list)
        and len(values) == n
        and all(v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))
                for v in values)
    )
    if valid:
        opt.tell(values)
        assert opt.iterations == 1
        n_fail = sum(v is None or not math.isfinite(v) for v in values)
        assert opt.failures == n_fail
        state = opt.state_dict()["method"]
        assert np.isfinite(state["mu"]).all() and np.isfinite(state["A"]).all()
    else:
        with pytest.raises((TypeError, ValueError)):
            opt.tell(values)
        assert serialization.dumps(opt.state_dict()) == before
        opt.tell(np.zeros(n))  # still usable after a rejected call
        assert opt.iterations == 1


@settings(max_examples=60, deadline=None)
@given(arr=st.one_of(
    st.integers(0, 12).map(lambda k: np.zeros(k)),
    st.integers(0, 12).map(lambda k: np.zeros((k, 1))),
    st.just(np.array(["a"] * 7)),
    st.just(np.zeros(7, dtype=bool)),
    st.just(np.zeros(7, dtype=complex)),
))
def test_fuzzed_array_tell(arr):
    opt = make_xnes(seed=0)
    xs = opt.ask()
    ok = arr.dtype.kind in "fiu" and arr.shape == (len(xs),)
    if ok:
        opt.tell(arr)
    else:
        with pytest.raises((TypeError, ValueError)):
            opt.tell(arr)
        assert opt.awaiting_tell
