"""semanir.load(...).restore(image): the Python API, against the CLI on the same image."""

import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

import semanir
from semanir.cli import main
from semanir.errors import UsageError
from tests.data_support import REPO


@pytest.fixture(scope="module")
def denoiser():
    return semanir.load("denoise", impl="mask", device="cpu")


@pytest.fixture(scope="module")
def crop():
    return np.asarray(Image.open(REPO / "examples" / "astronaut_noisy.png").convert("RGB"))[:40, :48]


def test_restore_of_an_array_equals_the_cli_on_the_same_file(denoiser, crop, tmp_path):
    Image.fromarray(crop).save(tmp_path / "crop.png")
    assert main(["restore", str(tmp_path / "crop.png"), "-o", str(tmp_path / "out"), "--impl", "mask", "--device", "cpu"]) == 0
    from_cli = np.asarray(Image.open(tmp_path / "out" / "crop.png"))
    from_api = denoiser.restore(crop)
    assert from_api.dtype == np.uint8 and from_api.shape == crop.shape
    assert np.array_equal(from_api, from_cli)


def test_every_input_kind_comes_back_as_it_went_in(denoiser, crop):
    want = denoiser.restore(crop).astype(np.float32) / 255
    as_float = denoiser.restore(crop.astype(np.float32) / 255)
    assert as_float.dtype == np.float32 and np.abs(as_float - want).max() <= 0.5 / 255 + 1e-6
    as_16 = denoiser.restore(crop.astype(np.uint16) * 257)
    assert as_16.dtype == np.uint16 and np.abs(as_16 / 65535.0 - want).max() <= 0.5 / 255 + 1e-4
    pil = denoiser.restore(Image.fromarray(crop))
    assert isinstance(pil, Image.Image) and pil.mode == "RGB" and np.array_equal(np.asarray(pil), (want * 255).round())
    batch = torch.from_numpy(crop).permute(2, 0, 1)[None].float().repeat(2, 1, 1, 1) / 255
    out = denoiser.restore(batch)
    assert out.shape == batch.shape and out.dtype == torch.float32
    assert (out[1].permute(1, 2, 0).numpy() - want).__abs__().max() <= 0.5 / 255 + 1e-6


def test_alpha_and_gray_are_kept(denoiser, crop):
    alpha = np.random.default_rng(0).integers(0, 256, crop.shape[:2], dtype=np.uint8)
    rgba = denoiser.restore(np.dstack([crop, alpha]))
    assert rgba.shape == crop.shape[:2] + (4,) and np.array_equal(rgba[..., 3], alpha)
    gray = denoiser.restore(crop[..., 1])
    assert gray.shape == crop.shape[:2] and gray.dtype == np.uint8


def test_sr_returns_the_upscaled_size(crop):
    out = semanir.load("sr", impl="mask", device="cpu").restore(crop[:12, :16])
    assert out.shape == (48, 64, 3)


def test_task_and_scale_pick_the_preset_as_the_cli_does(crop):
    x2 = semanir.load(task="sr", scale=2, impl="mask", device="cpu")
    assert (x2.task, x2.scale) == ("sr", 2)
    assert semanir.load(scale=3, impl="mask", device="cpu").scale == 3  # a scale alone means sr
    assert semanir.load(device="cpu").task == "denoise"
    with pytest.raises(UsageError, match="upscales x2; task denoise needs same-size output"):
        semanir.load("sr_x2", task="denoise")
    with pytest.raises(UsageError, match="preset sr_x2 upscales x2, not x3"):
        semanir.load(task="sr_x2", scale=3)


def test_bad_inputs_say_what_is_expected(denoiser):
    with pytest.raises(UsageError, match="numpy array, a PIL image or a torch tensor, got list"):
        denoiser.restore([[0.0]])
    with pytest.raises(UsageError, match="1-4 channels"):
        denoiser.restore(np.zeros((8, 8, 5), np.uint8))
    shipped = re.escape(", ".join(semanir.list_presets()))
    with pytest.raises(UsageError, match=f"'denoize' is neither a shipped preset \\({shipped}\\) nor a weights file"):
        semanir.load("denoize")


def test_the_readme_python_example_runs(tmp_path):
    text = (REPO / "README.md").read_text()
    code = text.split("## Python API", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    (tmp_path / "examples").mkdir()
    shutil.copy(REPO / "examples" / "astronaut_noisy.png", tmp_path / "examples")
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, check=True, timeout=600)
    assert Image.open(tmp_path / "astronaut_denoised.png").size == Image.open(tmp_path / "examples" / "astronaut_noisy.png").size
