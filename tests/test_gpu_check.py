"""benchmarks/gpu_check.py on a machine without CUDA: every GPU section is listed as skipped with
its reason, in the same report format a GPU run writes."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.py"


@pytest.fixture(scope="module")
def gpu_check():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["gpu_check"] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA machine runs the sections for real")
def test_without_cuda_every_gpu_section_says_it_was_skipped(gpu_check, tmp_path):
    assert gpu_check.main(["--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "gpu_check.json").read_text())
    sections = {s["name"]: s for s in report["sections"]}
    expected = {"versions", "attention", "peers", "train_throughput", "presets", "big_restore", "torchrun",
                "crossover", "kernel_tests"}  # fmt: skip
    assert set(sections) == expected
    assert sections["versions"]["status"] == "ok"
    assert report["versions"]["torch"] == torch.__version__
    for name in expected - {"versions"}:
        assert sections[name]["status"] == "skipped"
        assert sections[name]["reason"] == "no CUDA device on this machine"
    markdown = (tmp_path / "gpu_check.md").read_text()
    assert markdown.startswith("# semanir GPU check")
    assert "| presets | skipped | 0 | no CUDA device on this machine |" in markdown


def test_a_section_that_fails_or_runs_out_of_time_is_reported(gpu_check, tmp_path):
    ok = gpu_check.Section("a", "A", commands=[[sys.executable, "-c", "print('fine')"]], needs_cuda=False)
    bad = gpu_check.Section("b", "B", commands=[[sys.executable, "-c", "raise SystemExit(3)"]], needs_cuda=False)
    slow = gpu_check.Section("c", "C", commands=[[sys.executable, "-c", "import time; time.sleep(30)"]],
                             needs_cuda=False, limit_s=2)  # fmt: skip
    for section in (ok, bad, slow):
        gpu_check.run_section(section, cuda=False, cwd=tmp_path)
    assert (ok.status, bad.status, slow.status) == ("ok", "failed", "timed out")
    assert "fine" in ok.output and bad.reason == "exit codes 3"
    gpu_check.write_report(tmp_path, tmp_path, {"torch": "x"}, [ok, bad, slow])
    markdown = (tmp_path / "gpu_check.md").read_text()
    assert "| b | failed |" in markdown and "| c | timed out |" in markdown


def test_unknown_sections_are_refused(gpu_check, tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        gpu_check.main(["--out", str(tmp_path), "--sections", "warp"])
    assert stop.value.code == 2 and "unknown sections ['warp']" in capsys.readouterr().err
