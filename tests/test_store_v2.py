"""Core v2: the incremental run store (appended batches, periodic checkpoints, replay on resume),
schema migrations, the evaluation record kept whole, per-batch extras as history columns, and
resumes that would change the method's shape refused."""

import json
import math
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest

import asktell
from asktell import Controller, RunStore, SequentialEvaluator
from asktell.controller import ReplayError
from asktell.store import SCHEMA_VERSION, StoreError

DATA = Path(__file__).parent / "data"


def sphere(x):
    return float(np.sum(np.asarray(x) ** 2))


def xnes(**kw):
    return asktell.create("xnes", x0=[1.0, -0.5, 2.0], sigma0=0.4, seed=kw.pop("seed", 3), **kw)


def _batches(run_dir):
    with RunStore.open(run_dir, readonly=True) as store:
        return [(b.iteration, asktell.serialization.dumps(b.candidates),
                 b.values.tobytes()) for b in store.batches()]


def test_commits_append_and_checkpoint_every_k(tmp_path):
    store = RunStore.create(tmp_path / "run", {})
    Controller(xnes(), SequentialEvaluator(sphere), stop={"max_iterations": 10}, store=store,
               progress=False, checkpoint_every=4, checkpoint_seconds=1e9).run()
    con = sqlite3.connect(tmp_path / "run" / "run.sqlite")
    assert con.execute("SELECT COUNT(*) FROM batches").fetchone()[0] == 10
    # the full state is not in the batch rows, and the checkpoint follows the final batch
    assert con.execute("SELECT iteration FROM checkpoint").fetchone()[0] == 10
    assert con.execute("SELECT COUNT(*) FROM batches WHERE controller IS NOT NULL").fetchone() \
        == (0,)
    assert con.execute("SELECT typeof(candidates), typeof(vals) FROM batches").fetchone() == \
        ("blob", "blob"), "numeric batches are stored as compact bytes"
    store.close()


@pytest.mark.parametrize("every", [1, 3, 100])
def test_resume_replays_batches_after_the_last_checkpoint(tmp_path, every, monkeypatch):
    ref = RunStore.create(tmp_path / "ref", {})
    Controller(xnes(), SequentialEvaluator(sphere), stop={"max_iterations": 12}, store=ref,
               progress=False).run()
    ref.close()
    # a run that dies after 7 batches without its final checkpoint (as a SIGKILL would)
    monkeypatch.setattr(Controller, "_final_checkpoint", lambda self, elapsed: None)
    store = RunStore.create(tmp_path / "killed", {})
    Controller(xnes(), SequentialEvaluator(sphere), stop={"max_iterations": 7}, store=store,
               progress=False, checkpoint_every=every, checkpoint_seconds=1e9).run()
    store.close()
    with RunStore.open(tmp_path / "killed", readonly=True) as s:
        cp = s.latest_checkpoint()
        assert (0 if cp is None else cp[0]) == (7 // every) * every
    monkeypatch.undo()
    calls = []

    def counted(x):
        calls.append(1)
        return sphere(x)

    ctl = Controller.resume(tmp_path / "killed", xnes(), SequentialEvaluator(counted),
                            stop={"max_iterations": 12}, progress=False)
    assert ctl.optimiser.iterations == 7 and not calls, "the replay evaluates nothing"
    ctl.run()
    ctl.store.close()
    assert len(calls) == 5 * ctl.optimiser.popsize
    assert _batches(tmp_path / "killed") == _batches(tmp_path / "ref")


def test_replay_refuses_a_method_that_asks_differently(tmp_path, monkeypatch):
    monkeypatch.setattr(Controller, "_final_checkpoint", lambda self, elapsed: None)
    store = RunStore.create(tmp_path / "run", {})
    Controller(xnes(), SequentialEvaluator(sphere), stop={"max_iterations": 3}, store=store,
               progress=False).run()
    store.close()
    with pytest.raises(ReplayError, match="asked other candidates"):
        Controller.resume(tmp_path / "run", xnes(seed=4), SequentialEvaluator(sphere))


@pytest.mark.parametrize("changed, key", [
    ({"popsize": 9}, "popsize"),
    ({"x0": [1.0, 2.0]}, "n_parameters"),
    ({"boundaries": asktell.RectangularBoundaries([-5, -5, -5], [5, 5, 5])}, "boundaries"),
])
def test_resume_refuses_a_changed_shape(tmp_path, changed, key):
    store = RunStore.create(tmp_path / "run", {})
    Controller(xnes(), SequentialEvaluator(sphere), stop={"max_iterations": 2}, store=store,
               progress=False).run()
    store.close()
    kw = {"x0": [1.0, -0.5, 2.0], "sigma0": 0.4, "seed": 3, **changed}
    with pytest.raises(ValueError, match=f"settings differ.*{key}: stored"):
        Controller.resume(tmp_path / "run", asktell.create("xnes", **kw),
                          SequentialEvaluator(sphere))


@pytest.mark.parametrize("written_by", ["store_v1_xnes", "store_v2_xnes"])
def test_older_schema_run_directory_opens_shows_exports_and_resumes(tmp_path, written_by):
    """Run directories written by earlier mains (schema 1, and schema 2 by 0d003d7) still
    work: read in memory without touching the file, migrated on the first write."""
    old = tmp_path / "old"
    shutil.copytree(DATA / written_by, old)
    before = (old / "run.sqlite").read_bytes()
    info = asktell.summary(old)  # read-only: migrated in memory, the file untouched
    assert info["iterations"] == 12 and info["evaluations"] == 72 and info["status"] == "finished"
    assert len(info["xbest"]) == 2 and np.isfinite(info["fbest"])
    assert (old / "run.sqlite").read_bytes() == before
    rows = asktell.export_history(old, tmp_path / "h.json")
    assert len(json.loads(rows.read_text())) == 72
    result = asktell.resume(old, overrides=["stop.max_iterations=20"], progress=False)
    assert result.iterations == 20
    with RunStore.open(old, readonly=True) as s:
        assert s.get_meta("schema_version") == SCHEMA_VERSION
    # identical to a run of the same configuration made today
    with RunStore.open(old, readonly=True) as s:
        cfg = s.get_meta("config")
    cfg["stop"]["max_iterations"] = 20
    asktell.run(cfg, out=tmp_path / "new", progress=False)
    assert _batches(old) == _batches(tmp_path / "new")


def test_damaged_or_newer_store_gives_one_clear_error(tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "run.sqlite").write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="not a readable run store"):
        RunStore.open(bad, readonly=True)
    newer = tmp_path / "newer"
    RunStore.create(newer, {}).close()
    con = sqlite3.connect(newer / "run.sqlite")
    con.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match=r"schema 99.*upgrade asktell"):
        RunStore.open(newer)


def test_method_extras_become_history_columns(tmp_path):
    opt = asktell.create("xnes", x0=[2.0, 2.0], sigma0=0.5, seed=1, restarts="ipop",
                         max_restarts=2)
    store = RunStore.create(tmp_path / "run", {})
    Controller(opt, SequentialEvaluator(sphere), stop={"max_evaluations": 3000}, store=store,
               progress=False).run()
    trace = store.trace()
    store.close()
    assert set(np.unique(trace["restart"])) >= {0.0, 1.0}, "restart index kept per batch"
    out = asktell.export_history(tmp_path / "run", tmp_path / "h.csv")
    header = out.read_text().splitlines()[0].split(",")
    assert "restart" in header


def test_failed_items_keep_their_errors_from_a_reward_record(tmp_path):
    """A reward that returns the record (krr-surrogate) in a stored run: failures complete the
    batch and their errors are stored (schema 1's controller read `.error` off tuples)."""
    pytest.importorskip("rdkit")
    from string_optimiser import StringEvolver

    reward = asktell.get("reward", "krr-surrogate")()
    store = RunStore.create(tmp_path / "run", {})
    result = Controller(StringEvolver(parent="CCO", seed=2, direction="max"), reward,
                        stop={"max_iterations": 4}, store=store, progress=False).run()
    batches = list(store.batches())
    store.close()
    errors = [e for b in batches for e in b.errors]
    assert result.iterations == 4 and result.failures == len(errors) > 0
    assert all(e["type"] and e["message"] for e in errors)
    failed = {(b.iteration, i) for b in batches for i in np.flatnonzero(np.isnan(b.values))}
    assert failed == {(b.iteration, e["index"]) for b in batches for e in b.errors}


def test_show_plots_the_extras(tmp_path):
    pytest.importorskip("matplotlib")
    from asktell.plotting import plot_convergence

    store = RunStore.create(tmp_path / "run", {})
    opt = asktell.create("xnes", x0=[2.0, 2.0], sigma0=0.5, seed=1, restarts="ipop",
                         max_restarts=1)
    Controller(opt, SequentialEvaluator(sphere), stop={"max_iterations": 30}, store=store,
               progress=False).run()
    store.close()
    import matplotlib.pyplot as plt

    before = len(plt.get_fignums())
    out = plot_convergence(tmp_path / "run", tmp_path / "c.png")
    assert out.stat().st_size > 1000 and len(plt.get_fignums()) == before
    img = plt.imread(out)
    assert img.shape[0] > 600, "a second panel for the restart column"


def test_queued_batches_with_and_without_null_columns_read_back_whole(tmp_path):
    """Rows are inserted with their NULL columns written into the statement, one statement per
    run of rows alike: a group mixing every kind of row commits each one as appended."""
    store = RunStore.create(tmp_path / "run", {})
    rng = np.random.default_rng(0)
    appended = []
    for i in range(1, 41):
        kind = [i % 2 == 0, i % 3 == 0, i % 5 == 0, i % 7 == 0, i % 4 == 0]
        vals = rng.normal(size=3)
        row = dict(
            iteration=i, candidates=rng.normal(size=(3, 2)) if i % 6 else ("CC", "CO", "C"),
            values=vals, errors=[{"index": 0, "type": "E", "message": "m"}] if i % 9 == 0
            else [], batch_best=np.nan if kind[2] else float(vals.min()),
            best=np.inf if kind[3] else -float(i), t_ask=0.1 * i, t_eval=0.2, t_tell=0.3,
            elapsed=float(i), controller_state={"k": i} if kind[1] else None,
            results=[[1.0, i], [2.0], [3.0]] if kind[0] else None,
            extras={"restart": i % 2} if i % 8 == 0 else None,
            columns={"kl": np.full(3, float(i))} if kind[4] else None,
        )
        store.append(**row, defer=i % 13 != 0)  # every 13th commits those queued before it
        appended.append(row)
    store.close()
    with RunStore.open(tmp_path / "run", readonly=True) as store:
        batches = list(store.batches())
    assert [b.iteration for b in batches] == list(range(1, 41))
    for b, row in zip(batches, appended):
        assert asktell.serialization.dumps(b.candidates) == asktell.serialization.dumps(
            row["candidates"] if not isinstance(row["candidates"], tuple)
            else list(row["candidates"]))
        assert b.values.tobytes() == row["values"].tobytes() and b.errors == row["errors"]
        assert (b.results is None) == (row["results"] is None)
        if row["results"] is not None:
            assert b.results == row["results"]
        assert (b.controller is None) == (row["controller_state"] is None)
        if row["controller_state"] is not None:
            assert b.controller == row["controller_state"]
        assert (b.batch_best, b.best) == pytest.approx(
            (row["batch_best"], row["best"] if np.isfinite(row["best"]) else np.nan),
            nan_ok=True)
        assert b.extras == (row["extras"] or {})
        assert list(b.columns) == list(row["columns"] or {})
        for k, v in (row["columns"] or {}).items():
            assert b.columns[k].tobytes() == v.tobytes()
        assert (b.t_ask, b.elapsed) == (row["t_ask"], row["elapsed"])


def _failing_sphere(x):
    if int(abs(x[1]) * 1e9) % 4:  # three in four fail, at random: whole batches now and then
        raise ValueError("outside the model's range")
    return sphere(x)


@pytest.mark.parametrize("direction", ["min", "max"])
@pytest.mark.parametrize("popsize", [6, 80])  # a short batch and one past the short path
def test_stored_batch_best_is_the_best_finite_value_or_nan(tmp_path, direction, popsize):
    opt = asktell.create("xnes", x0=[0.8, 0.1], sigma0=0.5, seed=4, popsize=popsize,
                         direction=direction)
    store = RunStore.create(tmp_path / "run", {})
    Controller(opt, SequentialEvaluator(_failing_sphere), stop={"max_iterations": 40},
               store=store, progress=False).run()
    batches = list(store.batches())
    store.close()
    best = np.nanmin if direction == "min" else np.nanmax
    kinds = set()
    for b in batches:
        finite = b.values[np.isfinite(b.values)]
        kinds.add((np.isnan(b.values[0]), finite.size == 0))
        if finite.size:
            assert b.batch_best == best(finite)
        else:
            assert np.isnan(b.batch_best)
    assert (True, False) in kinds, "a batch whose first value failed"
    if popsize == 6:
        assert (True, True) in kinds, "a batch that failed whole"


def _sometimes_nan(x):
    return math.nan if x[1] > 0.3 else sphere(x)  # a NaN is a failure without an error


@pytest.mark.parametrize("direction", ["min", "max"])
def test_a_group_of_cheap_batches_is_stored_as_batch_by_batch_commits_store_it(
        tmp_path, monkeypatch, direction):
    """The controller queues a cheap numeric batch as it is and its row is built when its group
    commits: the rows are those of committing every batch at once (``commit_seconds=0``)."""
    plain = []
    defer_plain = RunStore.queue_batch
    monkeypatch.setattr(RunStore, "queue_batch",
                        lambda self, *a: plain.append(a[0]) or defer_plain(self, *a))
    cols = ("iteration, n, n_failed, candidates, vals, results, errors, extras, columns, "
            "batch_best, best, controller, typeof(candidates), typeof(vals), "
            "typeof(batch_best), typeof(best)")
    stored = {}
    for commit_seconds in (60.0, 0.0):
        run = tmp_path / f"run-{commit_seconds}"
        store = RunStore.create(run, {})
        opt = asktell.create("xnes", x0=[0.0, 1.0], sigma0=0.5, seed=5, direction=direction)
        Controller(opt, SequentialEvaluator(_sometimes_nan), stop={"max_iterations": 30},
                   store=store, progress=False, checkpoint_every=7,
                   commit_seconds=commit_seconds).run()
        store.close()
        con = sqlite3.connect(run / "run.sqlite")
        stored[commit_seconds] = con.execute(
            f"SELECT {cols} FROM batches ORDER BY iteration").fetchall()
        con.close()
    assert len(plain) > 20 and len(stored[60.0]) == 30, "most batches took the queued path"
    assert stored[60.0] == stored[0.0]
    assert any(r[2] for r in stored[60.0]) and any(r[2] == 0 for r in stored[60.0])
    assert stored[60.0][0][9:11] == (None, None), "a first batch that failed whole"
    assert stored[60.0][-1][10] is not None


def test_queued_plain_batches_are_stored_as_appended(tmp_path):
    """RunStore.queue_batch builds a group's rows with one array operation per column when the
    batches share their shapes and direction, one by one when they do not: either way each row
    is the one append() writes, infinities, NaN and empty batches included."""
    rng = np.random.default_rng(3)
    inf, nan = math.inf, math.nan
    odd = [[1.0, inf, 2.0], [-inf, 3.0, 0.5], [nan, nan, nan], [nan, 4.0, -1.0], [inf, inf, nan]]
    groups = {
        "alike": [(rng.normal(size=(3, 2)), rng.normal(size=3), 1.0, float(-i))
                  for i in range(6)],
        "odd values, min": [(rng.normal(size=(3, 2)), np.array(v), 1.0, b)
                            for v in odd for b in (0.5, nan)],
        "odd values, max": [(rng.normal(size=(3, 2)), np.array(v), -1.0, inf) for v in odd],
        "other shapes": [(rng.normal(size=(k, 2)), rng.normal(size=k), 1.0, 1.0)
                         for k in (3, 4, 3)],
        "ints, then empty": [(np.arange(6).reshape(3, 2), np.arange(3.0), 1.0, 0.0),
                             (np.zeros((0, 2)), np.zeros(0), 1.0, 0.0)],
        "two directions": [(rng.normal(size=(3, 2)), np.array(v), s, 1.0)
                           for v, s in (([1.0, 2.0, 0.0], 1.0), ([1.0, 2.0, 0.0], -1.0))],
    }
    cols = ("iteration, n, n_failed, candidates, vals, results, errors, extras, columns, "
            "batch_best, best, t_ask, t_eval, t_tell, elapsed, controller, typeof(candidates), "
            "typeof(vals), typeof(batch_best), typeof(best)")
    for name, group in groups.items():
        rows = {}
        for how in ("queue", "append"):
            run = tmp_path / f"{name}-{how}"
            store = RunStore.create(run, {})
            for it, (cands, vals, sign, best) in enumerate(group, start=1):
                n_failed = int((~np.isfinite(vals)).sum())
                if how == "queue":
                    store.queue_batch(it, cands, vals, n_failed, sign, best, 0.1, 0.2, 0.3,
                                      float(it))
                else:
                    store.append(it, cands, vals, [], asktell.store.batch_best(vals, sign),
                                 best, 0.1, 0.2, 0.3, float(it), None, n_failed=n_failed,
                                 defer=True)
            store.close()
            con = sqlite3.connect(run / "run.sqlite")
            rows[how] = con.execute(f"SELECT {cols} FROM batches ORDER BY iteration").fetchall()
            con.close()
        assert len(rows["queue"]) == len(group), name
        assert rows["queue"] == rows["append"], name


def test_a_batch_the_store_failed_to_take_is_not_in_the_final_checkpoint(tmp_path, monkeypatch):
    """The final checkpoint is written with the queued batches only when the last batch told is
    among them: a run whose store failed on batch 5 keeps batches 1-4 (4 was queued) and the
    checkpoint of batch 3, and resumes to the uninterrupted run's batches."""
    defer_plain = RunStore.queue_batch

    def failing(self, iteration, *args):
        if iteration == 5:
            raise OSError("disk full")
        defer_plain(self, iteration, *args)

    monkeypatch.setattr(RunStore, "queue_batch", failing)
    store = RunStore.create(tmp_path / "run", {})
    with pytest.raises(OSError, match="disk full"):
        Controller(xnes(), SequentialEvaluator(sphere), stop={"max_iterations": 8}, store=store,
                   progress=False, checkpoint_every=3).run()
    store.close()
    monkeypatch.undo()
    with RunStore.open(tmp_path / "run", readonly=True) as s:
        assert [b.iteration for b in s.batches()] == [1, 2, 3, 4]
        assert s.latest_checkpoint()[0] == 3 and s.get_meta("status") == "interrupted"
    ctl = Controller.resume(tmp_path / "run", xnes(), SequentialEvaluator(sphere),
                            stop={"max_iterations": 8}, progress=False)
    ctl.run()
    ctl.store.close()
    ref = RunStore.create(tmp_path / "ref", {})
    Controller(xnes(), SequentialEvaluator(sphere), stop={"max_iterations": 8}, store=ref,
               progress=False).run()
    ref.close()
    assert _batches(tmp_path / "run") == _batches(tmp_path / "ref")
