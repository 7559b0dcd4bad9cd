"""Redraw the pictures in docs/images/ from the repository (no download, no GPU).

    python scripts/doc_images.py [--only serve compare charts]

serve:   screenshots of `semanir serve` in headless Debian Chromium (needs the serve extra, selenium,
         chromium and chromium-driver): the denoise example with the before/after slider, and the
         x4 SR example side by side. Reduced to 256 colours to stay small.
compare: `semanir test --save` on the clean example (denoise, sigma 25): its side-by-side crop.
charts:  the `--chart` drawings of the measured tables: bench attention from
         benchmarks/cpu_attention_n4096.json, bench peers from the table in benchmarks/peers.md
         (re-running them would measure this machine now, not the recorded runs).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "images"
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO / "src")}


def _small_png(src: Path, dst: Path) -> None:
    from PIL import Image

    Image.open(src).convert("RGB").quantize(256, dither=Image.Dither.FLOYDSTEINBERG).save(dst, optimize=True)
    print(f"wrote {dst.relative_to(REPO)} ({dst.stat().st_size // 1024} KiB)")


def serve_screenshots(tmp: Path) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    server = subprocess.Popen([sys.executable, "-m", "semanir", "serve", "--port", "0"], cwd=REPO, env=ENV,
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
                 "--window-size=960,820", f"--user-data-dir={tmp / 'profile'}"):  # fmt: skip
        options.add_argument(flag)
    browser = webdriver.Chrome(service=Service(executable_path=shutil.which("chromedriver")), options=options)
    try:
        url = server.stdout.readline().split()[3]
        for example, task, name, side in (("astronaut_noisy.png", "denoise", "serve_denoise_slider.png", False),
                                          ("astronaut_lr_x4.png", "sr", "serve_sr_side_by_side.png", True)):  # fmt: skip
            browser.get(url)
            wait = WebDriverWait(browser, 300)
            wait.until(lambda b, task=task: b.find_elements(By.CSS_SELECTOR, f"#task option[value={task}]"))
            Select(browser.find_element(By.ID, "task")).select_by_value(task)
            browser.find_element(By.ID, "file").send_keys(str(REPO / "examples" / example))
            browser.find_element(By.ID, "go").click()
            wait.until(lambda b: b.find_element(By.ID, "result").is_displayed())
            wait.until(lambda b: b.execute_script("return document.getElementById('after').complete"))
            if side:
                browser.find_element(By.ID, "side").click()
            else:
                browser.execute_script("const s = document.getElementById('slider'); s.value = 45;"
                                       "s.dispatchEvent(new Event('input'));")  # fmt: skip
            browser.save_screenshot(str(tmp / name))
            _small_png(tmp / name, OUT / name)
    finally:
        browser.quit()
        server.terminate()
        server.wait()


def compare_picture(tmp: Path) -> None:
    data = tmp / "set"
    data.mkdir()
    shutil.copy(REPO / "examples" / "astronaut_clean.png", data / "astronaut.png")
    subprocess.run([sys.executable, "-m", "semanir", "test", "--task", "denoise", "--level", "25", "--data", str(data),
                    "--save", str(tmp / "saved")], cwd=REPO, env=ENV, check=True)  # fmt: skip
    dst = OUT / "test_compare_denoise.png"
    shutil.copy(tmp / "saved" / "compare" / "astronaut.png", dst)
    print(f"wrote {dst.relative_to(REPO)} ({dst.stat().st_size // 1024} KiB)")


def _peers_table(page: Path) -> list[dict]:
    """The rows of the table in benchmarks/peers.md, as peers_chart takes them."""
    entries = []
    for line in page.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 11 or not cells[0].startswith(("sr @", "denoise @")):
            continue
        task, size = cells[0].split(" @")
        entries.append({"task": task, "model": cells[1], "params_m": float(cells[2]), "gmacs": float(cells[4]),
                        "latency_ms": float(cells[6]), "latency_size": tuple(map(int, size.split("x")))})  # fmt: skip
    return entries


def charts() -> None:
    sys.path.insert(0, str(REPO / "src"))
    from semanir.benchmarking.charts import attention_chart, peers_chart

    run = json.loads((REPO / "benchmarks" / "cpu_attention_n4096.json").read_text())
    shape = run["shape"]
    dst = OUT / "chart_attention_cpu.png"
    attention_chart(run["results"], dst, f"benchmarks/cpu_attention_n4096.json: 2-core AMD EPYC CPU, {shape['windows']} "
                    f"windows x {shape['heads']} heads x head dim {shape['head_dim']}, {shape['dtype']}")  # fmt: skip
    print(f"wrote {dst.relative_to(REPO)} ({dst.stat().st_size // 1024} KiB)")
    entries = _peers_table(REPO / "benchmarks" / "peers.md")
    assert len(entries) == 5, entries
    dst = OUT / "chart_peers_cpu.png"
    peers_chart(entries, dst, "benchmarks/peers.md: 2-core AMD EPYC CPU, fp32, random weights, median of 2")
    print(f"wrote {dst.relative_to(REPO)} ({dst.stat().st_size // 1024} KiB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=("serve", "compare", "charts"), default=("serve", "compare", "charts"))
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        if "serve" in args.only:
            serve_screenshots(Path(tmp))
        if "compare" in args.only:
            compare_picture(Path(tmp))
        if "charts" in args.only:
            charts()


if __name__ == "__main__":
    main()
