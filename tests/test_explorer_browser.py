"""The explorer in a real browser: Debian's headless chromium driven by selenium through /usr/bin/chromedriver.

The page is served by `solara run sim.explore` as `make explore` serves it. The test checks that
the page loads, that Step advances the month, and that moving a lever's slider (then Reset,
as the page asks) changes a chart: the capability chart after three months differs from the
one the default levers drew. It saves a screenshot of the page after the slider moved
(tmp_path, or $EXPLORER_SCREENSHOT when set) for a person to look at.

Skips, saying why, where chromium, chromedriver or the page's browser files
(`make explorer-assets`) are missing; .ci/run installs chromium and chromedriver and sets
EXPLORER_BROWSER_REQUIRED=1, which turns a skip into a failure.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REQUIRED = os.environ.get("EXPLORER_BROWSER_REQUIRED") == "1"  # .ci/run: fail instead of skipping
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ROOT = Path(__file__).resolve().parents[1]


def skip(reason: str) -> None:
    if REQUIRED:
        raise RuntimeError(f"EXPLORER_BROWSER_REQUIRED=1 but {reason}")
    pytest.skip(f"explorer browser test skipped: {reason}", allow_module_level=True)


if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
    skip("no /usr/bin/chromium or /usr/bin/chromedriver (apt-get install chromium chromium-driver; .ci/run does)")
for module, extra in (("selenium", "dev"), ("solara", "viz")):
    try:
        __import__(module)
    except ImportError:
        skip(f"{module} (cadre-sim[{extra}]) is not installed")

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from sim.explore import assets_note, server_environment  # noqa: E402

if assets_note():
    skip(assets_note())

LEVER = "staged_training_coverage"  # P1's four-stage training: moves competence within months
CHART = 2  # the capability chart: the second chart on the page (after the pipeline's)
WAIT = 90  # seconds, for a loaded 2-core machine


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    port = free_port()
    solara = Path(sys.executable).with_name("solara")
    command = [str(solara), "run", "sim.explore", "--host", "127.0.0.1", "--port", str(port), "--production", "--no-open"]
    process = subprocess.Popen(command, cwd=ROOT, env=server_environment(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + WAIT
    try:
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                output = process.stdout.read().decode(errors="replace") if process.poll() is not None else ""
                pytest.fail(f"the explorer did not start within {WAIT} s: {output[-2000:]}")
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",  # this machine's network is closed: no update or sync calls
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1500,2100",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(WAIT)
    yield driver
    driver.quit()


def page_text(driver) -> str:
    return driver.find_element(By.TAG_NAME, "body").text


def wait_for_text(driver, text: str) -> None:
    WebDriverWait(driver, WAIT, poll_frequency=0.2).until(lambda d: text in page_text(d), f"no '{text}' on the page")


def button(driver, label: str):
    buttons = [b for b in driver.find_elements(By.TAG_NAME, "button") if b.text.strip().lower() == label.lower()]
    assert buttons, f"no {label} button"
    return buttons[0]


def step(driver, months: int) -> list[float]:
    """Click Step `months` times; the seconds from each click to the new month on the page."""
    seconds = []
    for _ in range(months):
        before = month_shown(driver)
        started = time.monotonic()
        button(driver, "Step").click()
        wait_for_text(driver, f"Month {before + 1} ·")
        seconds.append(time.monotonic() - started)
    return seconds


def month_shown(driver) -> int:
    text = page_text(driver)
    return int(text.split("Month ", 1)[1].split(" ", 1)[0])


def chart_png(driver) -> bytes:
    """The capability chart as drawn, once it has its data (Vega draws asynchronously)."""
    charts = driver.find_elements(By.CSS_SELECTOR, ".vega-embed")
    assert len(charts) >= 6, f"{len(charts)} charts on the page"
    time.sleep(1.0)
    return charts[CHART - 1].screenshot_as_png


def move_slider_to_its_top(driver, label: str) -> None:
    labels = [e for e in driver.find_elements(By.CSS_SELECTOR, ".v-input label") if e.text.strip() == label]
    assert labels, f"no slider labelled {label}"
    slider = labels[0].find_element(By.XPATH, "./ancestor::div[contains(@class, 'v-input')][1]")
    thumb = slider.find_element(By.CSS_SELECTOR, ".v-slider__thumb-container")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].focus();", thumb)
    ActionChains(driver).send_keys(Keys.END).perform()  # the keyboard's End: the slider's top


def test_explorer_loads_steps_and_a_slider_changes_a_chart(server, browser, tmp_path):
    started = time.monotonic()
    browser.get(server)
    wait_for_text(browser, "Month 0 · June 2023")
    assert "Every lever is at its slider's value this month." in page_text(browser)

    seconds = step(browser, 3)
    assert "Month 3 · September 2023" in page_text(browser)
    assert "Sliders moved from the status quo: none" in page_text(browser)  # the sliders hold the defaults exactly
    default_chart = chart_png(browser)

    move_slider_to_its_top(browser, LEVER)
    button(browser, "Reset").click()
    wait_for_text(browser, f"{LEVER} 1 (status quo 0)")  # the model was rebuilt with the slider's value
    assert month_shown(browser) == 0
    seconds += step(browser, 3)
    moved_chart = chart_png(browser)
    assert moved_chart != default_chart, "moving the slider did not change the capability chart"

    shot = Path(os.environ.get("EXPLORER_SCREENSHOT") or tmp_path / "explorer.png")
    shot.parent.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(shot))
    print(
        f"explorer screenshot after moving {LEVER}: {shot}; {time.monotonic() - started:.1f} s in the browser; "
        f"a Step click to the new month on the page: {', '.join(f'{s:.2f}' for s in seconds)} s"
    )
    assert shot.stat().st_size > 10_000
