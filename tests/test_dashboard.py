"""asktell dashboard, through its HTTP interface (Starlette's test client; no browser).

The browser tests, in headless Chromium, are in test_dashboard_browser.py.
"""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="the dashboard needs asktell[dashboard]")
pytest.importorskip("starlette.testclient", reason="Starlette's test client needs httpx2")

from dashboard_runs import FAIL_MESSAGE, make_run
from starlette.testclient import TestClient

from asktell.cli import main
from asktell.dashboard import MissingExtraError, create_app, serve
from asktell.store import STORE_FILE

TESTS = Path(__file__).parent


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    make_run(root / "alpha", 12)
    make_run(root / "sweep" / "beta", 5)
    return root


def client(*roots, **kw):
    return TestClient(create_app(list(roots), **kw), raise_server_exceptions=False)


def test_run_list_shows_every_run_with_its_summary(runs):
    c = client(runs)
    page = c.get("/")
    assert page.status_code == 200
    for text in ["alpha", "sweep/beta", "xnes", "finished", "max_iterations=12", 'id="runs-table"']:
        assert text in page.text
    data = c.get("/api/runs").json()
    by_name = {r["name"]: r for r in data["runs"]}
    assert set(by_name) == {"alpha", "sweep/beta"}
    alpha = by_name["alpha"]
    assert alpha["method"] == "xnes" and alpha["status"] == "finished"
    assert alpha["iterations"] == 12 and alpha["evaluations"] == 72 and alpha["failures"] >= 1
    assert alpha["best"] < 1 and alpha["created"] > 0
    assert c.get("/fragment/runs").text.count("<tr data-key=") == 2


def test_run_page_plots_every_trace_column(runs):
    from asktell.store import RunStore

    with RunStore.open(runs / "alpha", readonly=True) as store:
        columns = set(store.trace())
    c = client(runs)
    key = "0/alpha"
    page = c.get(f"/run/{key}")
    assert page.status_code == 200 and 'id="plot-main"' in page.text
    trace = c.get(f"/api/trace/{key}").json()["columns"]
    assert set(trace) == columns
    assert trace["iteration"] == [float(i) for i in range(1, 13)]
    assert c.get(f"/api/trace/{key}?since=10").json()["columns"]["iteration"] == [11.0, 12.0]
    assert c.get(f"/api/trace/{key}?since=x").status_code == 400


def test_batch_table_shows_failed_items_and_their_errors(runs):
    c = client(runs)
    html = c.get("/fragment/batches/0/alpha").text
    assert 'id="errors-table"' in html and FAIL_MESSAGE.replace("'", "&#39;") in html
    assert "ValueError" in html and "Latest batches (of 12)" in html


def test_history_and_trace_download_as_csv(runs):
    c = client(runs)
    r = c.get("/csv/history/0/alpha")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert 'filename="alpha-history.csv"' in r.headers["content-disposition"]
    lines = r.text.splitlines()
    assert lines[0].startswith("iteration,") and "x0,x1,value,error" in lines[0]
    assert len(lines) == 1 + 72 and FAIL_MESSAGE in r.text
    t = c.get("/csv/trace/0/sweep/beta")
    assert t.status_code == 200 and len(t.text.splitlines()) == 1 + 5
    assert "iteration" in t.text.splitlines()[0]


def test_compare_overlays_chosen_runs(runs):
    c = client(runs)
    page = c.get("/compare?run=0/alpha&run=0/sweep/beta&run=0/nothing")
    assert page.status_code == 200
    assert "watchCompare" in page.text and "sweep/beta" in page.text
    assert "No run 0/nothing" in page.text
    assert "Choose runs to overlay" in c.get("/compare").text


def test_plotly_is_served_from_the_package_so_the_page_works_offline(runs):
    c = client(runs)
    js = c.get("/static/plotly.min.js")
    assert js.status_code == 200 and len(js.content) > 1_000_000
    assert b"plotly" in js.content[:2000].lower()
    assert c.get("/static/dashboard.js").status_code == 200
    page = c.get("/").text
    assert "http://" not in page.replace("http://127.0.0.1", "")
    assert "https://" not in page


def test_directory_with_no_runs_gets_a_clear_page(tmp_path):
    c = client(tmp_path, tmp_path / "absent")
    page = c.get("/")
    assert page.status_code == 200
    assert "No runs yet" in page.text and "asktell run CONFIG.toml" in page.text
    assert "does not exist" in page.text
    assert c.get("/api/runs").json()["runs"] == []


@pytest.mark.parametrize("kind", ["corrupt", "empty", "no-tables"])
def test_corrupt_or_half_written_store_gets_a_clear_page(tmp_path, kind):
    run = tmp_path / "broken"
    run.mkdir()
    db = run / STORE_FILE
    if kind == "corrupt":
        db.write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 20)
    elif kind == "empty":
        db.write_bytes(b"")
    else:  # created, but its writer died before the schema was written
        sqlite3.connect(db).close()
    make_run(tmp_path / "good", 3)
    c = client(tmp_path)
    listing = c.get("/")
    assert listing.status_code == 200 and "good" in listing.text
    assert 'class="problem-row"' in listing.text
    page = c.get("/run/0/broken")
    assert page.status_code == 200
    assert 'id="problem"' in page.text and "cannot be shown" in page.text
    assert "Traceback" not in page.text
    expected = "not a readable SQLite database" if kind == "corrupt" else "half-written"
    assert expected in page.text
    assert c.get("/api/trace/0/broken").json()["problem"] in {"corrupt", "incomplete"}
    assert c.get("/csv/history/0/broken").status_code == 409


def test_store_from_another_schema_gets_a_clear_page(tmp_path):
    make_run(tmp_path / "old", 3)
    con = sqlite3.connect(tmp_path / "old" / STORE_FILE)
    con.execute("UPDATE meta SET value = '0' WHERE key = 'schema_version'")
    con.commit()
    con.close()
    page = client(tmp_path).get("/run/0/old")
    assert page.status_code == 200 and "Traceback" not in page.text
    # Either this asktell reads (migrates) the old store, or it says why it cannot.
    assert 'id="summary"' in page.text or ("schema" in page.text and 'id="problem"' in page.text)


def test_unknown_runs_and_paths_outside_the_roots_are_404(runs, tmp_path):
    make_run(tmp_path / "outside", 2)
    c = client(runs)
    for url in ["/run/0/nothing", "/run/7/alpha", "/run/x", "/run/0/../outside",
                "/api/trace/0/%2e%2e/outside"]:
        r = c.get(url)
        assert r.status_code == 404, url
    assert "No run" in c.get("/run/0/nothing").text


def test_the_dashboard_never_writes_to_a_store(runs):
    db = runs / "alpha" / STORE_FILE
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    c = client(runs)
    for url in ["/", "/run/0/alpha", "/api/trace/0/alpha", "/fragment/batches/0/alpha",
                "/csv/history/0/alpha", "/csv/trace/0/alpha"]:
        assert c.get(url).status_code == 200
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    assert not (runs / "alpha" / "history.csv").exists()


def test_a_live_writer_is_never_blocked(tmp_path):
    """Reads while another process commits batches as fast as it can: no lock errors."""
    run = tmp_path / "live"
    writer = subprocess.Popen([sys.executable, str(TESTS / "dashboard_runs.py"), str(run), "150"],
                              stderr=subprocess.PIPE, text=True)
    c = client(tmp_path)
    seen = set()
    try:
        deadline = time.monotonic() + 60
        while writer.poll() is None and time.monotonic() < deadline:
            r = c.get("/api/trace/0/live")
            assert r.status_code in (200, 404)  # 404 until the store exists
            if r.status_code == 200 and "columns" in r.json():
                seen.add(len(r.json()["columns"]["iteration"]))
    finally:
        _, err = writer.communicate(timeout=60)
    assert writer.returncode == 0, err
    assert "locked" not in err
    assert len(seen) > 1  # it saw the run grow
    assert c.get("/api/runs").json()["runs"][0]["status"] == "finished"


def test_bad_refresh_is_refused():
    with pytest.raises(ValueError, match="refresh"):
        create_app(["runs"], refresh=0)


def test_missing_extra_names_the_install_command(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "plotly" else real(name, *a))
    with pytest.raises(MissingExtraError, match=r'asktell\[dashboard\]'):
        create_app(["runs"])


def test_cli_refuses_a_bad_port(capsys):
    assert main(["dashboard", "--port", "70000"]) == 2
    assert "--port must be between 0 and 65535" in capsys.readouterr().err


def test_serve_binds_localhost_and_stops_by_itself(runs):
    import socket
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t = threading.Thread(target=serve, args=([runs],), kwargs={"port": port, "stop_after": 3},
                         daemon=True)
    t.start()
    for _ in range(100):
        try:
            body = urllib.request.urlopen(f"http://127.0.0.1:{port}/api/runs", timeout=2).read()
            break
        except OSError:
            time.sleep(0.05)
    else:
        pytest.fail("the dashboard did not answer")
    assert b"alpha" in body
    t.join(15)
    assert not t.is_alive()
