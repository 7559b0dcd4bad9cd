"""Finding a shipped preset by name, or by task, channels and scale (on a folder of tiny stand-ins)."""

import numpy as np
import pytest

import semanir.pretrained as pretrained
from semanir.cli import main
from semanir.data.io import read_image, write_image
from semanir.errors import UsageError
from semanir.pretrained import find_preset, resolve_weights, task_of
from semanir.weights import save_weights
from tests.conftest import tiny_model


@pytest.fixture
def presets(tmp_path, monkeypatch):
    folder = tmp_path / "pretrained"
    folder.mkdir()
    for name, model, task in [
        ("denoise", tiny_model("semanir_unet_color"), "denoise"),
        ("denoise_gray", tiny_model("semanir_unet_gray"), "denoise"),
        ("sr", tiny_model("semanir_light_sr_x4"), "sr"),
        ("sr_x2", tiny_model("semanir_light_sr_x2"), "sr"),
        ("sr_x3", tiny_model("semanir_light_sr_x3"), "sr"),
    ]:
        save_weights(model, folder / f"{name}.safetensors", task=task)
    monkeypatch.setattr(pretrained, "_folder", lambda: folder)
    return folder


def test_a_task_finds_its_preset_by_channels_and_scale(presets):
    assert find_preset("denoise").name == "denoise"
    assert find_preset("denoise", channels=3).name == "denoise"
    assert find_preset("denoise", channels=1).name == "denoise_gray"
    assert find_preset("sr").name == "sr" and find_preset("sr").scale == 4
    assert [find_preset("sr", scale=s).name for s in (2, 3, 4)] == ["sr_x2", "sr_x3", "sr"]
    assert find_preset("denoise_gray").channels == 1 and task_of("denoise_gray") == "denoise"
    assert resolve_weights("sr_x2") == presets / "sr_x2.safetensors"


def test_a_preset_says_what_it_restores_from_its_own_metadata(tmp_path, monkeypatch):
    folder = tmp_path / "labelled"
    folder.mkdir()
    for name, model, task, level in [
        ("denoise_gray", "semanir_unet_gray", "denoise", [0, 50]),
        ("jpeg", "semanir_unet_color", "jpeg", [10, 95]),
        ("sr_x3", "semanir_light_sr_x3", "sr", 3),
        ("deblur", "semanir_unet_color", "deblur", "synthetic"),
        ("demosaic", "semanir_unet_color", "demosaic", None),
    ]:
        save_weights(tiny_model(model), folder / f"{name}.safetensors", task=task, level=level)
    monkeypatch.setattr(pretrained, "_folder", lambda: folder)
    assert {p.name: p.label for p in pretrained.shipped_presets()} == {
        "denoise_gray": "noise (gray), sigma 0-50",
        "jpeg": "JPEG artifacts, quality 10-95",  # the trained range, not the protocol's 10-40
        "sr_x3": "super-resolution, x3",
        "deblur": "camera-shake blur, trained on synthetic blur",
        "demosaic": "demosaicking (a Bayer mosaic, or its MATLAB demosaic)",
    }


def test_what_is_not_shipped_is_said_in_one_line(presets):
    with pytest.raises(UsageError, match=r"no shipped weights for sr x8 \(shipped: x2, x3, x4\); pass --weights FILE"):
        find_preset("sr", scale=8)
    with pytest.raises(UsageError, match="preset sr_x2 upscales x2, not x3"):
        find_preset("sr_x2", scale=3)
    with pytest.raises(UsageError, match="neither a task .* nor a shipped preset"):
        find_preset("denoise_grey")
    with pytest.raises(UsageError, match="no shipped weights for jpeg; pass --weights FILE"):
        find_preset("jpeg")


@pytest.mark.parametrize(("options", "scale"), [(["--task", "sr", "--scale", "2"], 2), (["--scale", "3"], 3),
                                                (["--task", "sr"], 4), (["--task", "sr_x3"], 3)])  # fmt: skip
def test_restore_picks_the_sr_preset_by_scale(presets, tmp_path, options, scale):
    src = tmp_path / "in.png"
    write_image(src, np.random.default_rng(0).random((20, 18, 3)))
    assert main(["restore", str(src), "-o", str(tmp_path / "out"), "--device", "cpu", *options]) == 0
    assert read_image(tmp_path / "out" / "in.png").pixels.shape == (20 * scale, 18 * scale, 3)


def test_restore_takes_a_gray_preset_by_name(presets, tmp_path):
    src = tmp_path / "scan.png"
    write_image(src, np.random.default_rng(1).random((24, 20)))
    assert main(["restore", str(src), "-o", str(tmp_path / "out"), "--device", "cpu", "--task", "denoise_gray"]) == 0
    assert read_image(tmp_path / "out" / "scan.png").pixels.shape[:2] == (24, 20)


def test_gray_files_go_to_the_gray_twin_and_color_files_to_the_rgb_preset(presets, tmp_path):
    import semanir
    from semanir.restoration import Restorer
    from semanir.weights import model_from_weights

    rng = np.random.default_rng(2)
    gray, color = rng.random((24, 20)).astype(np.float32), rng.random((24, 20, 3)).astype(np.float32)
    write_image(tmp_path / "g.png", gray)
    write_image(tmp_path / "c.png", color)
    assert main(["restore", str(tmp_path / "g.png"), str(tmp_path / "c.png"), "-o", str(tmp_path / "out"), "--device", "cpu"]) == 0
    by_gray = Restorer(model_from_weights(presets / "denoise_gray.safetensors")[0], "denoise")
    by_color = Restorer(model_from_weights(presets / "denoise.safetensors")[0], "denoise")
    g_in, c_in = (read_image(tmp_path / n).pixels for n in ("g.png", "c.png"))
    assert np.array_equal(read_image(tmp_path / "out" / "g.png").pixels, read_image(by_gray.restore_file(tmp_path / "g.png", tmp_path / "g2.png")).pixels)
    assert np.array_equal(read_image(tmp_path / "out" / "c.png").pixels, read_image(by_color.restore_file(tmp_path / "c.png", tmp_path / "c2.png")).pixels)
    assert not np.array_equal(by_gray.restore_array(g_in), by_color.restore_array(g_in))  # the twin did the work
    # The Python API does the same; --weights FILE (or a twin-less preset) never swaps models.
    assert np.array_equal(semanir.load("denoise", device="cpu").restore(g_in), by_gray.restore(g_in))
    assert semanir.load(presets / "denoise.safetensors", device="cpu").gray is None
    assert semanir.load("denoise", model="semanir_unet_color", device="cpu").gray is None  # --model names one model
    assert semanir.load("sr", device="cpu").gray is None
    assert c_in.shape == (24, 20, 3)
