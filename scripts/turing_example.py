"""Make docs/turing-example.md and docs/turing-page.png: a simulated `bench turing` study.

A small demo run (benchmarks.turing.fixtures: demo ``wild`` test images as the real ones, demo
``sim`` as synthetic, ``degrade`` as the refiner; nothing trained), a study of refined and
synthetic vs real, and six *scripted* participants who take it through the web app (Flask's
test client, the same routes a browser uses). Each calls an image fake when its brightness and
contrast look unlike typical real images (beyond their own threshold), with 15% random lapses.
They are a stand-in to show the report, not people. Then a headless Chromium
(if installed) screenshots a trial page.

    python scripts/turing_example.py            # from the repository root; writes under docs/
"""

from __future__ import annotations

import shutil
import sys
import threading
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.turing.fixtures import write_demo_run  # noqa: E402
from benchmarks.turing.launch import StudyRequest, open_or_create  # noqa: E402
from benchmarks.turing.report_md import write_turing_report  # noqa: E402
from benchmarks.turing.server import COOKIE, create_app, make_server  # noqa: E402

WORK = Path("work/turing-example")  # relative: the report's provenance names these paths
DOCS = ROOT / "docs"
PEOPLE, LAPSE = 6, 0.15


def _looks(images: np.ndarray) -> np.ndarray:
    """(k, 2): each image's mean grey level and contrast (std of grey levels)."""
    f = images.reshape(len(images), -1).astype(np.float64)
    return np.stack([f.mean(1), f.std(1)], 1)


def simulate(study) -> None:
    """PEOPLE scripted participants take the whole study through the app. Each calls an image
    fake when its brightness and contrast are further than their own threshold (1.5 to 2.5
    standard deviations) from the typical real image, with LAPSE random answers."""
    import re

    app = create_app(study)
    rng = np.random.default_rng(0)
    real = _looks(study.images["real"])
    centre, spread = real.mean(0), real.std(0)
    for person in range(PEOPLE):
        threshold = rng.uniform(1.5, 2.5)
        client = app.test_client()
        client.set_cookie(COOKIE, f"p{person + 1:012x}")  # fixed ids: a reproducible example
        client.post("/start")
        pid = client.get_cookie(COOKIE).value
        for k in range(study.design.trials_per_person):
            html = client.get("/trial").get_data(as_text=True)
            token = re.search(r'name="token" value="([^"]+)"', html).group(1)
            t = study.trials(pid)[k]
            look = _looks(study.image(t.source, t.image_row)[None])[0]
            odd = np.linalg.norm((look - centre) / spread) > threshold
            answer = "fake" if odd else "real"
            if rng.random() < LAPSE:
                answer = str(rng.choice(["real", "fake"]))
            rt_ms = 1000 * rng.lognormal(0.3, 0.4)
            client.post("/answer", data={"token": token, "answer": answer, "rt_ms": f"{rt_ms}"})


def screenshot(study, out: Path) -> bool:
    """A trial page in headless Chromium -> out (PNG); False when no browser is installed."""
    browser, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if browser is None or driver_path is None:
        return False
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    server = make_server(study, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    opts = webdriver.ChromeOptions()
    opts.binary_location = browser
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=760,640"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(driver_path), options=opts)
    try:
        driver.get(f"http://127.0.0.1:{server.port}/")
        driver.find_element(By.ID, "start").click()
        WebDriverWait(driver, 10).until(
            lambda d: d.execute_script("return document.getElementById('eye').naturalWidth") > 0
        )
        driver.save_screenshot(str(out))
    finally:
        driver.quit()
        server.shutdown()
        server.server_close()
    return True


def main() -> None:
    shutil.rmtree(WORK, ignore_errors=True)
    run = write_demo_run(WORK, n_real=400, n_synthetic=400)
    req = StudyRequest(
        run.results_dir,
        run.work_dir,
        ("refined", "synthetic"),
        design={"trials_per_person": 40, "pool_per_source": 200},
    )
    study = open_or_create(req, lambda: run.results_dir)[0]
    simulate(study)
    written = write_turing_report(study.path)
    text = written["markdown"].read_text().split("\n", 1)
    note = (
        "\n> **Example, not a study of people.** Six scripted participants (a brightness and "
        "contrast rule with 15% random lapses) took this study of demo images through the web app; "
        "`scripts/turing_example.py` makes it. The refiner is `degrade` (gamma, blur and noise "
        "fitted by moments), not a trained SimGAN.\n"
    )
    (DOCS / "turing-example.md").write_text(text[0] + "\n" + note + text[1])
    shutil.copyfile(written["csv"], DOCS / "turing-example.csv")
    print(f"wrote {DOCS / 'turing-example.md'}, {DOCS / 'turing-example.csv'}")
    if screenshot(study, DOCS / "turing-page.png"):
        print(f"wrote {DOCS / 'turing-page.png'}")
    else:
        print("no chromium + chromedriver: no screenshot")


if __name__ == "__main__":
    main()
