"""asktell dashboard in a real browser: Debian's Chromium, headless, driven by Selenium.

Skipped where Chromium or its driver is absent (``apt-get install chromium chromium-driver``;
``.ci/run`` installs both). The server binds 127.0.0.1 on a free port and stops by itself.
``ASKTELL_DASHBOARD_SCREENSHOTS=DIR`` saves one screenshot per view there (docs/images for the
documentation site).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                       reason="needs Debian's chromium and chromium-driver "
                              "(apt-get install -y chromium chromium-driver)"),
]

selenium = pytest.importorskip("selenium", reason="needs selenium (asktell[test])")
pytest.importorskip("starlette", reason="the dashboard needs asktell[dashboard]")

from dashboard_runs import FAIL_MESSAGE, make_run  # noqa: E402
from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import (  # noqa: E402
    NoSuchElementException,
    StaleElementReferenceException,
)
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from asktell.dashboard import serve  # noqa: E402

TESTS = Path(__file__).parent
os.environ.setdefault("SE_AVOID_STATS", "true")  # Selenium sends nothing anywhere
REFRESH = 0.5
SHOTS = os.environ.get("ASKTELL_DASHBOARD_SCREENSHOTS")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    make_run(root / "xnes-seed0", 40)
    make_run(root / "xnes-short", 15, seed=3)
    return root


@pytest.fixture(scope="module")
def server(root):
    port = free_port()
    t = threading.Thread(target=serve, args=([root],),
                         kwargs={"port": port, "refresh": REFRESH, "stop_after": 180},
                         daemon=True)
    t.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    yield base


@pytest.fixture(scope="module")
def downloads(tmp_path_factory):
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def browser(downloads, tmp_path_factory):
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run",
                "--disable-dev-shm-usage", "--window-size=1280,900",
                f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"]:
        opts.add_argument(arg)
    opts.add_experimental_option("prefs", {
        "download.default_directory": str(downloads),
        "download.prompt_for_download": False,
    })
    driver = webdriver.Chrome(options=opts, service=Service(executable_path=CHROMEDRIVER))
    driver.execute_cdp_cmd("Browser.setDownloadBehavior",
                           {"behavior": "allow", "downloadPath": str(downloads)})
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def shot(driver, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        time.sleep(0.5)  # let plotly finish drawing
        driver.save_screenshot(str(Path(SHOTS) / f"dashboard-{name}.png"))


def wait(driver, seconds: float = 10) -> WebDriverWait:
    # The page swaps parts of itself as it refreshes: an element read mid-swap is retried.
    return WebDriverWait(driver, seconds, poll_frequency=0.1, ignored_exceptions=(
        NoSuchElementException, StaleElementReferenceException, ValueError))


def test_run_list_loads(server, browser):
    browser.get(server + "/")
    rows = wait(browser).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#runs-table tbody tr"))
    names = {r.get_attribute("data-key") for r in rows}
    assert {"0/xnes-seed0", "0/xnes-short"} <= names
    text = browser.find_element(By.ID, "runs-table").text
    assert "xnes" in text and "finished" in text and "max_iterations=40" in text
    assert browser.execute_script("return typeof Plotly") == "object"  # served locally


def test_run_started_during_the_test_shows_new_batches_within_5_s(server, browser, root):
    browser.get(server + "/")
    wait(browser).until(lambda d: d.find_elements(By.ID, "runs-table"))
    writer = subprocess.Popen([sys.executable, str(TESTS / "dashboard_runs.py"),
                               str(root / "live"), "200", "0.1"])
    try:
        # the run list picks the new run up by itself
        row = wait(browser, 30).until(
            lambda d: d.find_elements(By.CSS_SELECTOR, 'tr[data-key="0/live"]'),
            "the new run did not appear in the run list")
        assert row
        browser.get(server + "/run/0/live")
        counter = lambda d: int(d.find_element(By.ID, "n-batches").text or 0)  # noqa: E731
        wait(browser, 20).until(lambda d: counter(d) > 0, "the run page shows no batch")
        first = wait(browser).until(counter)
        t0 = time.monotonic()
        wait(browser, 5).until(lambda d: counter(d) > first,
                               f"no new batch within 5 s (still {first})")
        grew_after = time.monotonic() - t0
        assert grew_after < 5
        # the curves are drawn from the same data
        assert browser.execute_script(
            "return document.getElementById('plot-main').data[0].x.length") >= first
        wait(browser).until(lambda d: d.find_element(By.ID, "status").text == "running",
                            "the page does not say the run is running")
        shot(browser, "run")
    finally:
        writer.wait(60)
    assert writer.returncode == 0
    wait(browser, 10).until(lambda d: d.find_element(By.ID, "status").text == "finished")


def test_a_failed_items_error_is_visible(server, browser):
    browser.get(server + "/run/0/xnes-seed0")
    table = wait(browser).until(lambda d: d.find_element(By.ID, "errors-table"))
    assert FAIL_MESSAGE in table.text and "ValueError" in table.text
    assert table.is_displayed()
    # every numeric column of the trace has its plot
    plots = browser.find_elements(By.CSS_SELECTOR, "#plots .plot")
    assert {p.get_attribute("id") for p in plots} >= {"plot-n", "plot-n_failed", "plot-elapsed"}


def test_the_csv_downloads(server, browser, downloads):
    browser.get(server + "/run/0/xnes-short")
    wait(browser).until(lambda d: d.find_element(By.ID, "csv-history")).click()
    target = downloads / "xnes-short-history.csv"
    deadline = time.monotonic() + 15
    while not target.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert target.exists(), sorted(p.name for p in downloads.iterdir())
    lines = target.read_text().splitlines()
    assert lines[0].startswith("iteration,") and "x0,x1,value,error" in lines[0]
    assert len(lines) == 1 + 15 * 6


def test_compare_overlays_runs(server, browser):
    browser.get(server + "/")
    wait(browser).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#runs-table"))
    for key in ["0/xnes-seed0", "0/xnes-short"]:
        browser.find_element(By.CSS_SELECTOR, f'input[value="{key}"]').click()
    shot(browser, "runs")
    browser.find_element(By.ID, "compare").click()
    wait(browser).until(lambda d: d.execute_script(
        "const p = document.getElementById('plot-compare');"
        "return p && p.data ? p.data.length : 0") == 2)
    browser.find_element(By.ID, "logy").click()
    wait(browser).until(lambda d: d.execute_script(
        "return document.getElementById('plot-compare').layout.yaxis.type") == "log")
    shot(browser, "compare")


def test_a_broken_store_gets_a_clear_page(server, browser, root):
    (root / "broken").mkdir()
    (root / "broken" / "run.sqlite").write_bytes(b"not a database" * 100)
    browser.get(server + "/run/0/broken")
    box = wait(browser).until(lambda d: d.find_element(By.ID, "problem"))
    assert "not a readable SQLite database" in box.text
    shot(browser, "problem")
