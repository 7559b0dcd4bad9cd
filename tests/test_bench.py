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


# --- --chart ------------------------------------------------------------------------------------

pytest_matplotlib = pytest.mark.skipif(
    importlib.util.find_spec("matplotlib") is None, reason="the charts extra (matplotlib) is not installed"
)


def _row(n, k, impl, time_ms, peak_mb, backward=False):
    return {"n": n, "k": k, "impl": impl, "ran": impl, "backward": backward, "time_ms": time_ms, "peak_mb": peak_mb,
            "vs_dense": None, "note": ""}  # fmt: skip


@pytest_matplotlib
def test_the_attention_chart_draws_time_and_memory_against_n_and_k(tmp_path):
    from semanir.benchmarking.charts import attention_chart

    rows = [_row(512, 64, "dense", 2.0, 10.0), _row(512, 64, "cpu", 1.0, 2.0),
            _row(1024, 64, "dense", 8.0, 40.0), _row(1024, 64, "cpu", 3.0, None),  # memory not measured
            _row(1024, 16, "dense", 8.0, None), _row(1024, 16, "cpu", 1.5, 1.0),
            _row(1024, 16, "cpu", 4.0, 3.0, backward=True), _row(1024, 64, "cpu", 9.0, 6.0, backward=True),
            _row(2048, 16, "mask", None, None)]  # fmt: skip - a skipped run, not drawn
    figure = attention_chart(rows, tmp_path / "a.png", "title")
    (time_n, memory_n), (time_k, memory_k) = [figure.axes[i : i + 2] for i in (0, 2)]
    assert time_n.get_title() == "time per call against N (k = 64)"
    assert time_k.get_title() == "time per call against k (N = 1024)"
    lines = {line.get_label(): line for line in time_n.get_lines()}
    assert sorted(lines) == ["cpu", "cpu fwd+bwd", "dense"]
    assert list(lines["cpu"].get_xdata()) == [512, 1024] and list(lines["cpu"].get_ydata()) == [1.0, 3.0]
    memory = {line.get_label(): list(line.get_ydata()) for line in memory_n.get_lines()}
    assert memory["cpu"] == [2.0] and memory["dense"] == [10.0, 40.0]
    by_k = {line.get_label(): (list(line.get_xdata()), list(line.get_ydata())) for line in time_k.get_lines()}
    assert by_k["cpu fwd+bwd"] == ([16, 64], [4.0, 9.0]) and by_k["cpu"] == ([16, 64], [1.5, 3.0])
    memory_by_k = {line.get_label(): list(line.get_ydata()) for line in memory_k.get_lines()}
    assert memory_by_k["dense"] == [40.0, 40.0]  # measured once per N: the same for every k
    assert time_k.get_lines()[0].get_color() == time_n.get_lines()[0].get_color()  # one colour per impl
    from PIL import Image

    assert Image.open(tmp_path / "a.png").size == (1100, 800)


@pytest_matplotlib
def test_bench_attention_chart_from_the_command_line(tmp_path, capsys):
    chart = tmp_path / "attn.png"
    assert main(["bench", "attention", "--device", "cpu", "--n", "32", "64", "--k", "4", "--impl", "dense", "cpu",
                 "--repeats", "1", "--chart", str(chart)]) == 0  # fmt: skip
    assert f"wrote {chart}" in capsys.readouterr().out
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest_matplotlib
def test_bench_peers_chart_draws_latency_against_parameters(tmp_path, capsys, monkeypatch):
    from semanir.benchmarking import peers
    from semanir.benchmarking.model import ModelFigures

    def fake_run(device, repeats, sizes, precision_name):  # the measuring itself is tested above
        return [(peer, ModelFigures(peer.name, int(peer.paper_params_m * 1e6), peer.paper_gmacs, (128, 128),
                                    10.0 * (i + 1), (32, 32) if peer.task == "sr" else (64, 64), None, None))
                for i, peer in enumerate(peers.PEERS)]  # fmt: skip

    monkeypatch.setattr(peers, "check_extra", lambda: None)
    monkeypatch.setattr(peers, "run", fake_run)
    chart = tmp_path / "peers.png"
    assert main(["bench", "peers", "--device", "cpu", "--chart", str(chart)]) == 0
    assert f"wrote {chart}" in capsys.readouterr().out and chart.read_bytes()[:4] == b"\x89PNG"

    from semanir.benchmarking.charts import peers_chart

    entries = [{"task": p.task, "model": p.name, "params_m": p.paper_params_m, "gmacs": p.paper_gmacs,
                "latency_ms": p.paper_ms, "latency_size": (128, 128)} for p in peers.PEERS]  # fmt: skip
    figure = peers_chart(entries, tmp_path / "p.png")
    sr, denoise = figure.axes
    assert sr.get_title() == "latency against parameters (x4 SR, 128x128 LR input)"
    assert denoise.get_title() == "latency against parameters (denoise, 128x128 input)"
    points = sorted(tuple(map(float, c.get_offsets()[0])) for c in sr.collections)
    assert points == sorted((p.paper_params_m, p.paper_ms) for p in peers.PEERS if p.task == "sr")
    assert sorted(t.get_text().split("\n")[0] for t in denoise.texts) == ["Restormer", "SemanIR U-shape"]
    assert sr.get_xlim()[0] == 0 and sr.get_ylim()[0] == 0


@pytest.mark.parametrize("command", [["attention", "--n", "32", "--k", "4"], ["peers"]])
def test_chart_without_matplotlib_is_one_line_before_measuring(tmp_path, capsys, monkeypatch, command):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "matplotlib" else real(name, *a))
    assert main(["bench", *command, "--device", "cpu", "--chart", str(tmp_path / "c.png")]) == 2
    out = capsys.readouterr()
    assert out.err.strip() == "semanir: error: --chart needs matplotlib: pip install 'semanir[charts]' (matplotlib)"
    assert out.out == "" and not (tmp_path / "c.png").exists()
