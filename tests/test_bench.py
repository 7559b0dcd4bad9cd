"""Smoke tests of ``semanir bench``: the commands run on tiny sizes and print/write the promised
structure. Never a timing assertion."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest
import torch

from semanir.benchmarking import attention as bench_attention
from semanir.benchmarking import measure
from semanir.cli import main


def test_bench_attention_table_and_json(tmp_path, capsys):
    out_file = tmp_path / "attn.json"
    code = main(["bench", "attention", "--device", "cpu", "--n", "64", "--k", "7", "--backward", "--repeats", "1",
                 "--impl", "dense", "mask", "gather", "cpu", "auto", "dictionary", "--json", str(out_file)])  # fmt: skip
    assert code == 0
    text = capsys.readouterr().out
    assert "# semanir bench attention --device cpu" in text
    header = next(line for line in text.splitlines() if line.startswith("|"))
    assert [c.strip() for c in header.strip("|").split("|")] == [
        "N", "k", "impl", "ran", "pass", "time ms", "x dense", "peak MiB", "note"
    ]  # fmt: skip
    payload = json.loads(out_file.read_text())
    assert set(payload) >= {"device", "versions", "shape", "results"}
    assert payload["shape"] == {"windows": 4, "heads": 6, "head_dim": 30, "dtype": "float32"}
    rows = {(r["impl"], r["backward"]): r for r in payload["results"]}
    assert set(rows) == {(i, b) for i in ("dense", "mask", "gather", "cpu", "auto") for b in (False, True)} | {
        ("dictionary", False)
    }
    for row in payload["results"]:
        assert set(row) == {"n", "k", "impl", "ran", "backward", "time_ms", "peak_mb", "vs_dense", "note"}
        assert row["n"] == 64 and row["k"] == 7
    expected_auto = "cpu" if importlib.util.find_spec("numba") else "mask"
    assert rows[("auto", False)]["ran"] == expected_auto
    assert rows[("dense", False)]["vs_dense"] == 1.0


def test_bench_attention_skips_what_would_not_fit(capsys):
    rows = bench_attention.run(
        measure.parse_device("cpu"), [(64, 7)], impls=("mask", "cpu"), repeats=1, memory_limit=1 << 10
    )
    assert all(r.time_ms is None and r.note.startswith("skipped: needs ~") for r in rows if r.impl == "mask")


def test_paper_grid_and_windows():
    grid = bench_attention.default_grid(None, None)
    assert (512, 512) in grid and (8192, 32) in grid and len(grid) == 9
    assert bench_attention.window_for(8192) == (64, 128) and bench_attention.window_for(35) == (5, 7)


def test_bench_model_prints_params_macs_latency(capsys):
    code = main(["bench", "model", "semanir_unet_gray", "--size", "16x16", "--repeats", "1", "--impl", "gather"])
    assert code == 0
    text = capsys.readouterr().out
    assert "semanir_unet_gray" in text and "GMACs @256x256" in text and "latency ms @16x16" in text


def test_macs_count_the_k_restricted_attention():
    from semanir.benchmarking.model import count_macs
    from tests.conftest import tiny_model

    model = tiny_model("semanir_s_sr_x2", depths=(1,), attn_impl="mask")
    few = count_macs(model.set_topk(2), 3, (8, 8), measure.parse_device("cpu"))
    many = count_macs(model.set_topk(40), 3, (8, 8), measure.parse_device("cpu"))
    dim, n = 12, 64  # one stage of one layer, one 8x8 window: 2 matmuls of N*k*(H*D) MACs
    assert many - few == 2 * n * (40 - 2) * dim
    assert model.config["attn_impl"] == "mask"  # the model itself is untouched


def test_bench_user_errors_are_one_line(capsys):
    assert main(["bench", "model", "semanir_x9"]) == 2
    assert "did you mean" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["bench", "model", "semanir_s_sr_x4", "--size", "big"])


def test_torchvision_standin_only_when_missing(monkeypatch):
    from semanir.benchmarking import torchvision_standin

    monkeypatch.delitem(sys.modules, "torchvision", raising=False)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    for name in ("torchvision", "torchvision.transforms", "torchvision.transforms.functional"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    assert torchvision_standin.install()
    from torchvision.transforms.functional import InterpolationMode, rotate  # noqa: F401

    assert sys.modules["torchvision"].__semanir_standin__
    with pytest.raises(NotImplementedError, match="stand-in"):
        rotate(None, 0.0)
    assert not torchvision_standin.install()  # already there: never replaced


@pytest.mark.skipif(importlib.util.find_spec("spandrel") is None, reason="the bench extra (spandrel) is not installed")
def test_peers_build_at_the_papers_sizes():
    from semanir.benchmarking import peers

    peers.check_extra()
    counts = {p.name: sum(t.numel() for t in p.build().parameters()) / 1e6 for p in peers.PEERS}
    for peer in peers.PEERS:
        if not peer.name.startswith("SemanIR"):
            assert abs(counts[peer.name] - peer.paper_params_m) / peer.paper_params_m < 0.005, peer.name


def test_precision_switch_applies_to_the_block_and_is_undone():
    from semanir.benchmarking.measure import precision
    from semanir.errors import UsageError

    cpu = torch.device("cpu")
    before = torch.backends.cuda.matmul.allow_tf32
    with precision(cpu, "bf16"):
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.bfloat16
    with precision(cpu, "tf32"):
        assert torch.backends.cuda.matmul.allow_tf32 and torch.backends.cudnn.allow_tf32
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.float32
    assert torch.backends.cuda.matmul.allow_tf32 == before
    with pytest.raises(UsageError, match="precision must be one of fp32, tf32, bf16"):
        with precision(cpu, "fp8"):
            pass


def test_train_throughput_runs_an_sr_config(capsys):
    # SR targets are the input patch times the scale (it once built them at the input's size).
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "train_throughput.py"
    spec = importlib.util.spec_from_file_location("train_throughput", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    args = ["tiny_sr", "--device", "cpu", "--impls", "mask", "--batches", "1", "--steps", "1", "--warmup", "1"]
    assert script.main(args) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| mask |")]
    assert len(rows) == 1 and "failed" not in rows[0], rows


def test_tile_occupancy_counts_empty_tiles_in_any_token_order():
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "tile_occupancy.py"
    spec = importlib.util.spec_from_file_location("tile_occupancy", path)
    probe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(probe)
    # 8 tokens; each selects the other 3 of its own half: two of the four 4x4 tiles are empty.
    halves = torch.tensor([[j for j in range(4 * (i // 4), 4 * (i // 4) + 4) if j != i] for i in range(8)])[None]
    raster = torch.arange(8)[None]
    assert probe.empty_tile_share(halves, raster, 4, 4) == 0.5
    # Interleaving the halves (0, 4, 1, 5, ...) puts keys of both halves in every tile.
    assert probe.empty_tile_share(halves, torch.tensor([[0, 4, 1, 5, 2, 6, 3, 7]]), 4, 4) == 0.0
