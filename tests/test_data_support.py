"""The suite's own set-up: a test that cannot run says why."""

import tomllib

import pytest

from tests.data_support import REPO, benchmark_dir


def test_a_missing_benchmark_skips_with_what_and_where(tmp_path, monkeypatch):
    monkeypatch.setenv("SEMANIR_SHARED_DATA", str(tmp_path))
    with pytest.raises(pytest.skip.Exception, match=r"needs the real Set5 images: no .*benchmarks.*SEMANIR_SHARED_DATA"):
        benchmark_dir("Set5")
    (tmp_path / "benchmarks").mkdir()
    with pytest.raises(pytest.skip.Exception, match=r"needs the real LIVE1 images: no .*benchmarks/LIVE1$"):
        benchmark_dir("LIVE1")


def test_the_summary_lists_the_reasons_of_skipped_tests():
    options = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["addopts"].split()
    assert "-rs" in options or any(o.startswith("-r") and "s" in o for o in options)
