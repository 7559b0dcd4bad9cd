"""``semanir serve`` in a real browser: Debian's Chromium, headless, driven by Selenium through the
system chromedriver (never a downloaded one). The server is the real command with the shipped
denoise preset; the page uploads the example, and the image it offers for download is scored
against the clean example."""

import base64
import io
import queue
import shutil
import subprocess
import threading

import numpy as np
import pytest

from semanir.metrics import psnr
from tests.data_support import REPO
from tests.helpers import run_cli

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="Chromium is not installed (apt-get install chromium chromium-driver; .ci/run does)",
)


@pytest.fixture(scope="module")
def server():
    """``semanir serve --port 0`` in a subprocess; yields its URL."""
    proc = run_cli(["serve", "--port", "0"], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    try:
        first = lines.get(timeout=120)  # a guard against a hang, not a timing assertion
    except queue.Empty:
        proc.kill()
        pytest.fail(f"semanir serve printed no address: {proc.stderr.read()}")
    assert first.startswith("semanir serve: open http://127.0.0.1:"), first
    yield first.split()[3]
    proc.terminate()
    proc.wait(timeout=60)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1100,1000",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):  # fmt: skip
        options.add_argument(flag)
    # The driver's path given: Selenium Manager, which would download a driver, is never asked.
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def _restore_in_page(browser, url, path, task="denoise"):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    browser.get(url)
    wait = WebDriverWait(browser, 120)  # a guard against a hang, not a timing assertion
    wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, f"#task option[value={task}]"))
    Select(browser.find_element(By.ID, "task")).select_by_value(task)
    browser.find_element(By.ID, "file").send_keys(str(path))
    browser.find_element(By.ID, "go").click()
    wait.until(lambda b: b.find_element(By.ID, "result").is_displayed() or b.find_element(By.ID, "error").is_displayed())
    return wait


def _fetch_in_page(browser, href) -> bytes:
    """The bytes behind a link, fetched by the page itself (as its download gets them)."""
    script = """
        const done = arguments[arguments.length - 1];
        fetch(arguments[0]).then((r) => r.arrayBuffer()).then((buf) => {
            let s = ""; for (const b of new Uint8Array(buf)) s += String.fromCharCode(b);
            done(btoa(s));
        });"""
    return base64.b64decode(browser.execute_async_script(script, href))


def test_the_page_restores_the_example(server, browser):
    from PIL import Image
    from selenium.webdriver.common.by import By

    browser.set_script_timeout(60)
    _restore_in_page(browser, server, REPO / "examples" / "astronaut_noisy.png")
    assert not browser.find_element(By.ID, "error").is_displayed(), browser.find_element(By.ID, "error").text
    link = browser.find_element(By.ID, "download")
    assert link.get_attribute("download") == "astronaut_noisy_denoise.png"
    restored = np.asarray(Image.open(io.BytesIO(_fetch_in_page(browser, link.get_attribute("href")))))
    clean = np.asarray(Image.open(REPO / "examples" / "astronaut_clean.png").convert("RGB"))
    noisy = np.asarray(Image.open(REPO / "examples" / "astronaut_noisy.png").convert("RGB"))
    score = psnr(restored, clean)
    print(f"PSNR of the page's result against the clean example: {score:.2f} dB (noisy input {psnr(noisy, clean):.2f} dB)")
    assert restored.shape == clean.shape and score > 29  # the README's example: about 30.6 dB
    # Both halves of the comparison are on the page, the slider moves the boundary, and the
    # side-by-side view shows both images.
    for image in ("before", "after"):
        assert browser.execute_script(f"return document.getElementById('{image}').naturalWidth") == 256
    browser.execute_script("const s = document.getElementById('slider'); s.value = 20; s.dispatchEvent(new Event('input'));")
    assert "80%" in browser.find_element(By.ID, "before").value_of_css_property("clip-path")
    browser.find_element(By.ID, "side").click()
    assert browser.find_element(By.ID, "before2").is_displayed() and browser.find_element(By.ID, "after2").is_displayed()


def test_a_bad_file_shows_the_clis_line(server, browser, tmp_path):
    from selenium.webdriver.common.by import By

    bad = tmp_path / "notes.png"
    bad.write_text("these are words, not pixels\n")
    _restore_in_page(browser, server, bad)
    error = browser.find_element(By.ID, "error")
    assert error.is_displayed() and not browser.find_element(By.ID, "result").is_displayed()
    assert error.text == "error: notes.png: not a readable image (unknown format, truncated or corrupt)"


def test_cancel_stops_a_running_job_and_the_page_can_restore_again(server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    browser.get(server)
    wait = WebDriverWait(browser, 120)  # a guard against a hang, not a timing assertion
    wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "#task option[value=denoise]"))
    Select(browser.find_element(By.ID, "task")).select_by_value("denoise")
    browser.find_element(By.ID, "file").send_keys(str(REPO / "examples" / "astronaut_noisy.png"))
    browser.find_element(By.ID, "ensemble").click()  # 8 passes: the job checks for a cancel after each
    browser.find_element(By.ID, "go").click()
    cancel = browser.find_element(By.ID, "cancel")
    wait.until(lambda b: cancel.is_displayed() and b.find_element(By.ID, "status").text.startswith("restoring"))
    cancel.click()
    status = browser.find_element(By.ID, "status")
    wait.until(lambda b: status.text.startswith(("cancelled", "done")))
    assert status.text == "cancelled: astronaut_noisy.png"
    assert not browser.find_element(By.ID, "result").is_displayed() and not cancel.is_displayed()
    assert browser.find_element(By.ID, "go").is_enabled()
