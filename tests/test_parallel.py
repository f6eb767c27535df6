"""ParallelEvaluator: streaming, per-evaluation timeout, worker loss without collateral damage."""

import os
import signal
import time

import numpy as np
import pytest

from asktell import ParallelEvaluator


def sleepy(x):
    """Sleeps x[1] seconds, returns x[0]."""
    time.sleep(x[1])
    return float(x[0])


class Logged:
    """Sleeps ``delay``, logging (key, pid, start, end) lines to a directory."""

    def __init__(self, folder, delay):
        self.folder = folder
        self.delay = delay

    def __call__(self, x):
        t0 = time.time()
        with open(os.path.join(self.folder, f"start-{int(x[0])}-{os.getpid()}"), "w"):
            pass
        time.sleep(self.delay)
        with open(os.path.join(self.folder, "calls"), "a") as fh:
            fh.write(f"{int(x[0])} {os.getpid()} {t0} {time.time()}\n")
        return float(x[0])


def test_results_stream_as_they_finish():
    ev = ParallelEvaluator(sleepy, n_workers=2, backend="threading")
    ev.submit(np.array([[0.0, 0.6], [1.0, 0.05], [2.0, 0.05]]), keys=[10, 11, 12])
    assert ev.in_flight == 3
    first = ev.results()
    assert [r.key for r in first] == [11] and first[0].value == 1.0 and first[0].error is None
    rest = []
    while ev.in_flight:
        rest += ev.results()
    assert sorted(r.key for r in rest) == [10, 12]
    assert ev.results() == []
    ev.close()


@pytest.mark.parametrize("backend", ["loky", "threading"])
def test_timeout_ends_the_item_not_the_batch(backend):
    ev = ParallelEvaluator(sleepy, n_workers=2, backend=backend, timeout=2.0)
    xs = np.array([[0.0, 0.01], [1.0, 30.0], [2.0, 0.01], [3.0, 0.01]])
    t0 = time.monotonic()
    out = ev(xs)
    assert time.monotonic() - t0 < 20, "the batch waited for the slow item"
    np.testing.assert_array_equal(out[[0, 2, 3]], [0.0, 2.0, 3.0])
    assert np.isnan(out[1]) and [e.index for e in out.errors] == [1]
    assert out.errors[0].type == "TimeoutError" and "2 s" in out.errors[0].message
    assert ev.pool_restarts == 1
    # the replaced worker works
    np.testing.assert_array_equal(ev(xs[[0, 2]]), [0.0, 2.0])
    ev.close()


def test_killed_worker_costs_only_its_own_task(tmp_path):
    """An external kill of one worker: finished results are kept, the others keep running in
    parallel, the killed item is retried (not blamed) and nothing else is scored twice."""
    ev = ParallelEvaluator(Logged(str(tmp_path), 0.3), n_workers=2)
    xs = np.arange(8, dtype=float)[:, None]
    ev.submit(xs)
    got = ev.results()  # the first finished item: both workers have started
    victim = None
    while victim is None:
        for name in os.listdir(tmp_path):
            if name.startswith("start-"):
                key, pid = map(int, name.split("-")[1:])
                if key not in {r.key for r in got} and key > 1:
                    victim = (key, pid)
        time.sleep(0.01)
    killed_at = time.time()
    os.kill(victim[1], signal.SIGKILL)
    while ev.in_flight:
        got += ev.results()
    assert sorted(r.key for r in got) == list(range(8))
    assert all(r.error is None and r.value == r.key for r in got), [r.error for r in got]
    calls = [line.split() for line in (tmp_path / "calls").read_text().splitlines()]
    assert sorted(int(c[0]) for c in calls) == list(range(8)), "scored once each"
    after = [c for c in calls if float(c[2]) > killed_at]
    assert len({c[1] for c in after}) == 2, "both workers kept scoring after the kill"
    assert ev.pool_restarts == 1
    ev.close()


def test_cheap_items_go_in_chunks():
    ev = ParallelEvaluator(abs, n_workers=2)
    xs = -np.arange(2000, dtype=float)[:, None]
    np.testing.assert_array_equal(ev(xs), np.arange(2000.0))
    assert ev.n_tasks < 100, "cheap items travel in chunks, not one task each"
    ev.close()


class CountedSquare:
    """Counts how often the driver pickles it (the workers unpickle what it sends)."""

    pickled = 0

    def __reduce__(self):
        type(self).pickled += 1
        return (CountedSquare, ())

    def __call__(self, x):
        return float(np.sum(np.asarray(x) ** 2))


def test_the_function_is_sent_to_each_worker_once(monkeypatch):
    """A large objective is not pickled for every task: once per worker process, again only
    when a worker is replaced (here: loky ends idle workers after IDLE_TIMEOUT)."""
    from asktell import parallel

    monkeypatch.setattr(parallel, "IDLE_TIMEOUT", 1)
    CountedSquare.pickled = 0
    ev = ParallelEvaluator(CountedSquare(), n_workers=2)
    xs = np.arange(40.0).reshape(20, 2)
    for _ in range(3):
        np.testing.assert_allclose(ev(xs).values, (xs ** 2).sum(axis=1))
    assert ev.n_tasks >= 6
    assert CountedSquare.pickled == 2
    time.sleep(2.5)  # the idle workers exit; loky starts new ones, which do not hold f
    np.testing.assert_allclose(ev(xs).values, (xs ** 2).sum(axis=1))
    assert CountedSquare.pickled == 4
    ev.close()
