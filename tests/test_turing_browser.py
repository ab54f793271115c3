"""`bench turing` as a person uses it: a real headless Chromium (Selenium) takes a whole short
study against the real threaded server: start, answer by clicking and by keys, reload mid-study,
finish; then the answers file and `bench turing report` are checked.

Needs the `selenium` package (the test extra) and a Chromium with its driver (Debian:
``apt-get install chromium chromium-driver``; `.ci/run` installs them); skipped, with the reason,
where either is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import threading

import pytest
from click.testing import CliRunner

from benchmarks.cli import main
from benchmarks.turing.design import FAKE, REAL
from benchmarks.turing.fixtures import write_demo_run
from benchmarks.turing.launch import StudyRequest, open_or_create
from benchmarks.turing.server import COOKIE, make_server

BROWSER = next(
    (shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)),
    None,
)
DRIVER = shutil.which("chromedriver")
try:
    from selenium import webdriver
except ImportError:
    webdriver = None
MISSING = (
    "selenium is not installed (pip install -e '.[test]')"
    if webdriver is None
    else "no headless browser: install chromium and chromium-driver (apt-get), as .ci/run does"
    if BROWSER is None or DRIVER is None
    else None
)
if MISSING and os.environ.get("GAZEBENCH_REQUIRE_BROWSER"):  # CI: never skip silently
    raise RuntimeError(f"GAZEBENCH_REQUIRE_BROWSER is set but {MISSING}")
pytestmark = pytest.mark.skipif(MISSING is not None, reason=str(MISSING))
TRIALS = 8
# what the page must never show: where an image comes from
SECRETS = ("refined", "synthetic", "degrade", "demo", "wild", "sim:", "image_row", "truth")


def chromium(width: int = 900, height: int = 700):
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = BROWSER
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--window-size={width},{height}"):  # fmt: skip
        opts.add_argument(arg)
    return webdriver.Chrome(service=Service(DRIVER), options=opts)


@pytest.fixture
def served(tmp_path):
    """A study of TRIALS trials (refined vs real) served on a free port; yields (study, url)."""
    run = write_demo_run(tmp_path, n_real=40, n_synthetic=40)
    req = StudyRequest(
        run.results_dir,
        run.work_dir,
        ("refined",),
        None,
        tmp_path / "study",
        {"trials_per_person": TRIALS, "pool_per_source": 20},
    )
    study = open_or_create(req, lambda: run.results_dir)[0]
    server = make_server(study, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield study, f"http://127.0.0.1:{server.port}"
    server.shutdown()
    server.server_close()


def _wait_for_trial(driver, number: int) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 10).until(
        ec.text_to_be_present_in_element((By.ID, "progress"), f"Image {number} of {TRIALS}")
    )
    WebDriverWait(driver, 10).until(  # the image really arrived (decoded, enlarged)
        lambda d: (
            d.execute_script(
                "var i = document.getElementById('eye'); return i.complete && i.naturalWidth;"
            )
            == 360
        )  # fmt: skip
    )


def _assert_no_leak(driver, study) -> None:
    html = driver.page_source.lower()
    for word in (
        *SECRETS,
        *(s.store_path.lower() for s in [study.record.real, *study.record.fakes]),
    ):
        assert word not in html, f"the page shows {word!r}"


def test_a_person_takes_the_whole_study_in_a_browser(served):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    study, url = served
    given = [REAL, FAKE, REAL, FAKE, FAKE, REAL, REAL, FAKE]
    driver = chromium()
    try:
        driver.get(url + "/")
        assert "60 × 36 pixels, shown 6× enlarged" in driver.page_source
        driver.find_element(By.ID, "start").click()
        _wait_for_trial(driver, 1)  # click() returns before the page that sets the cookie loads
        pid = driver.get_cookie(COOKIE)["value"]
        for k, answer in enumerate(given):
            _wait_for_trial(driver, k + 1)
            _assert_no_leak(driver, study)
            if k == 4:  # reload mid-study: the same trial comes back, nothing is recorded
                driver.refresh()
                _wait_for_trial(driver, k + 1)
                assert len(study.answers_path.read_text().splitlines()) == 4
            if k % 2 == 0:  # click the buttons on even trials, press the keys on odd ones
                driver.find_element(By.ID, answer).click()
            else:
                ActionChains(driver).send_keys("r" if answer == REAL else "f").perform()
        from selenium.webdriver.support.ui import WebDriverWait

        WebDriverWait(driver, 10).until(lambda d: d.find_elements(By.ID, "done"))
    finally:
        driver.quit()

    lines = [json.loads(x) for x in study.answers_path.read_text().splitlines()]
    plan = study.trials(pid)
    assert [a["participant"] for a in lines] == [pid] * TRIALS
    assert [a["trial"] for a in lines] == list(range(TRIALS))
    assert [a["answer"] for a in lines] == given
    assert [(a["source"], a["image_row"], a["truth"]) for a in lines] == [
        (t.source, t.image_row, t.truth) for t in plan
    ]
    assert all(0 < a["response_time_s"] < 60 for a in lines)

    r = CliRunner().invoke(main, ["turing", "report", "--study", str(study.path), "--no-machine"])
    assert r.exit_code == 0, r.output
    right = sum(g == t.truth for g, t in zip(given, plan, strict=True))
    md = (study.path / "turing.md").read_text()
    assert f"| refined | {TRIALS} | {right} | {right / TRIALS:.3f} |" in md
    assert f"| {pid} | refined | {TRIALS} | {right} |" in md
