"""Evaluators: values in order, failures kept per item, dying workers, caching, Dask and torch."""

import os

import numpy as np
import pytest

import asktell
from asktell import ParallelEvaluator, SequentialEvaluator


def square_sum(x):
    return float(np.sum(np.asarray(x) ** 2))


def fragile(x):
    if x[0] < 0:
        raise ValueError(f"negative: {x[0]}")
    return float(x[0])


def killer(x):
    if x[0] == 13:
        os._exit(3)  # the worker process dies without a Python exception
    return float(x[0])


def not_a_number(x):
    return "oops" if x[0] == 2 else float(x[0])


BATCH = np.arange(40, dtype=float).reshape(20, 2)


@pytest.fixture(scope="module")
def parallel():
    ev = ParallelEvaluator(square_sum, n_workers=2)
    yield ev
    ev.close()


def test_sequential_values_in_order():
    ev = SequentialEvaluator(square_sum)
    np.testing.assert_array_equal(ev(BATCH), [square_sum(x) for x in BATCH])


def test_parallel_values_in_order(parallel):
    np.testing.assert_array_equal(parallel(BATCH), [square_sum(x) for x in BATCH])
    # persistent workers: a second batch reuses the pool
    np.testing.assert_array_equal(parallel(BATCH[:3]), [square_sum(x) for x in BATCH[:3]])


@pytest.mark.parametrize("cls", [SequentialEvaluator, ParallelEvaluator])
def test_failing_item_keeps_the_batch(cls):
    xs = np.array([[1.0], [-2.0], [3.0], [-4.0]])
    ev = cls(fragile) if cls is SequentialEvaluator else cls(fragile, n_workers=2)
    vals = ev(xs)
    assert vals[0] == 1.0 and vals[2] == 3.0
    assert np.isnan(vals[1]) and np.isnan(vals[3])
    assert [e.index for e in vals.errors] == [1, 3]
    assert vals.errors[0].error == "ValueError: negative: -2.0"
    assert (vals.errors[0].type, vals.errors[0].message) == ("ValueError", "negative: -2.0")
    assert "fragile" in vals.errors[0].traceback
    assert not hasattr(ev, "errors"), "the record carries the errors; nothing is read off ev"
    ev.close()


@pytest.mark.parametrize("cls", [SequentialEvaluator, ParallelEvaluator])
def test_raise_errors(cls):
    ev = cls(fragile, raise_errors=True)
    with pytest.raises(ValueError, match="negative"):
        ev(np.array([[1.0], [-2.0]]))
    ev.close()


def test_non_numeric_return_is_a_failure():
    ev = SequentialEvaluator(not_a_number)
    vals = ev(np.array([[1.0], [2.0]]))
    assert vals[0] == 1.0 and np.isnan(vals[1])
    assert "expected a real number" in vals.errors[0].error and vals.errors[0].index == 1


def test_dying_worker_is_isolated_and_pool_rebuilt():
    ev = ParallelEvaluator(killer, n_workers=2)
    xs = np.arange(20, dtype=float).reshape(-1, 1)
    vals = ev(xs)
    expect = xs[:, 0].copy()
    expect[13] = np.nan
    np.testing.assert_array_equal(vals, expect)
    assert [e.index for e in vals.errors] == [13]
    assert vals.errors[0].type == "WorkerDiedError"
    assert ev.pool_restarts >= 1
    # the rebuilt pool keeps working
    np.testing.assert_array_equal(ev(xs[:4]), xs[:4, 0])
    ev.close()


def test_cache_scores_duplicates_once():
    calls = []

    def f(s):
        calls.append(s)
        return float(len(s))

    ev = SequentialEvaluator(f, cache=True)
    assert ev(("CCO", "C", "CCO")).tolist() == [3.0, 1.0, 3.0]
    assert ev(("C", "CCCC")).tolist() == [1.0, 4.0]
    assert calls == ["CCO", "C", "CCCC"]
    assert ev.cache_hits == 2
    bounded = SequentialEvaluator(f, cache=1)
    bounded(("A", "B", "A"))
    assert len(bounded._cache) == 1


def test_cache_repeats_of_a_failure_fail_too():
    ev = SequentialEvaluator(lambda s: 1 / len(s), cache=True)
    vals = ev(("", "C", ""))
    assert np.isnan(vals[0]) and np.isnan(vals[2]) and vals[1] == 1.0
    assert [e.index for e in vals.errors] == [0, 2]
    assert ev.n_evaluated == 2  # the failure is not cached, but scored once per batch


def test_parallel_with_strings_and_cache():
    ev = ParallelEvaluator(len, n_workers=2, cache=True)
    assert ev(("CC", "CCC", "CC", "C")).tolist() == [2.0, 3.0, 2.0, 1.0]
    assert ev.n_evaluated == 3
    ev.close()


def test_object_output_for_simulators():
    ev = SequentialEvaluator(lambda th: np.full(3, th[0]) if th[0] > 0 else 1 / 0, output="object")
    out = ev(np.array([[1.0], [-1.0]]))
    assert isinstance(out, asktell.Evaluation) and not out.is_scalar and out[1] is None
    assert out.n_failed == 1 and out.errors[0].type == "ZeroDivisionError"
    np.testing.assert_array_equal(out[0], [1.0, 1.0, 1.0])


def test_bad_arguments():
    with pytest.raises(TypeError, match="callable"):
        SequentialEvaluator(3)
    with pytest.raises(ValueError, match="n_workers"):
        ParallelEvaluator(abs, n_workers=0)
    with pytest.raises(TypeError, match="batch"):
        SequentialEvaluator(abs)(3.0)


def test_blas_threads_limited_in_workers():
    def blas_threads(_):
        from threadpoolctl import threadpool_info

        return float(max([i["num_threads"] for i in threadpool_info()] or [1]))

    ev = ParallelEvaluator(blas_threads, n_workers=2, blas_threads=1)
    assert ev(np.zeros((4, 1))).tolist() == [1.0] * 4
    ev.close()


class Unloadable:
    """Pickles fine, fails to load in the worker."""

    def __call__(self, x):
        return 0.0

    def __reduce__(self):
        return (_fail_to_load, ())


def _fail_to_load():
    raise ImportError("no such module in the worker")


def test_unloadable_function_is_a_clear_error_not_a_dead_worker():
    ev = ParallelEvaluator(Unloadable(), n_workers=2)
    with pytest.raises(TypeError, match="could not load the task"):
        ev(np.zeros((4, 1)))
    assert ev.pool_restarts == 0
    ev.close()


def test_coexists_with_joblib_parallel():
    """The evaluator's workers are its own: joblib.Parallel keeps working beside it."""
    import joblib

    ev = ParallelEvaluator(square_sum, n_workers=2)
    ev(BATCH)
    assert joblib.Parallel(n_jobs=2)(joblib.delayed(square_sum)(x) for x in BATCH[:3]) == [
        square_sum(x) for x in BATCH[:3]]
    np.testing.assert_array_equal(ev(BATCH[:3]), [square_sum(x) for x in BATCH[:3]])
    ev.close()
    assert joblib.Parallel(n_jobs=2)(joblib.delayed(square_sum)(x) for x in BATCH[:2]) == [
        square_sum(x) for x in BATCH[:2]]


def test_remember_adds_equivalent_keys_to_the_cache():
    calls = []
    ev = SequentialEvaluator(lambda x: calls.append(x) or float(len(x)), cache=3)
    ev(["ab"])
    ev.remember({"AB": 2.0, "cd": 2.0})
    assert ev(["AB", "cd", "ab"]).tolist() == [2.0, 2.0, 2.0]
    assert calls == ["ab"]
    ev.remember({"x": 1.0})  # bounded: the least recently used entry goes
    assert len(ev._cache) == 3
    SequentialEvaluator(len).remember({"a": 1})  # no cache: nothing to do
