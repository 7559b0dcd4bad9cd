"""Reduced precision (bf16, fp16) wherever ``--precision`` offers it: restore, test, the Python API."""

import importlib.util
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from semanir.cli import main
from semanir.data.io import quantize, read_image, write_image
from semanir.data.protocols import get_protocol
from semanir.inference import restore_tensor
from semanir.metrics import psnr
from semanir.models.unet import SemanIRUNet
from semanir.pretrained import list_presets
from tests.conftest import tiny_model
from tests.helpers import make_images

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
CPU = ["--device", "cpu"]

# Crops of the README's examples (even offsets keep the mosaic RGGB), in input pixels; the SR input
# is the x4-downscaled crop, so its reference is the clean crop 4x the size.
CROP = (slice(64, 160), slice(80, 176))
CASES = {
    "denoise": ("astronaut_noisy.png", CROP, 1),
    "denoise_gray": ("astronaut_gray_noisy.png", CROP, 1),
    "jpeg": ("astronaut_q20.jpg", CROP, 1),
    "jpeg_gray": ("astronaut_gray_q10.jpg", CROP, 1),
    "sr": ("astronaut_lr_x4.png", (slice(16, 40), slice(20, 44)), 4),
    "sr_x2": ("astronaut_lr_x2.png", (slice(32, 80), slice(40, 88)), 2),
    "sr_x3": ("astronaut_lr_x3.png", (slice(21, 53), slice(27, 59)), 3),
    "demosaic": ("astronaut_bayer.png", CROP, 1),
    "deblur": ("astronaut_blurred.png", CROP, 1),
}
GRAY = {"denoise_gray", "jpeg_gray"}  # scored against the clean crop in gray (the mosaic is 1-channel, its result RGB)


def _restore_file(tmp_path: Path, src: Path, precision: str, *extra: str) -> np.ndarray:
    out = tmp_path / precision
    assert main(["restore", str(src), "-o", str(out), "--precision", precision, *CPU, *extra]) == 0
    return quantize(read_image(out / f"{src.stem}.png").pixels)


# Measured on these crops (shipped presets, auto = numba attention), fp32 / bf16 PSNR against the
# clean crop: denoise 29.50 / 29.49, jpeg 29.76 / 29.75, sr (Y, border 4) 26.03 / 26.02, demosaic
# 38.47 / 38.45 dB, denoise_gray and jpeg_gray (gray) 30.14 / 30.14 and 29.31 / 29.32; sr_x2 33.10 / 33.10 and sr_x3 27.93 / 27.93 (Y, border = scale).
def test_every_shipped_preset_has_a_precision_case():
    assert set(CASES) == set(list_presets())


@pytest.mark.parametrize("preset", list(CASES))
def test_bf16_restore_of_every_preset_is_within_0p1_db_of_fp32(tmp_path, preset):
    example, (ys, xs), scale = CASES[preset]
    src = tmp_path / f"{preset}.png"  # a PNG crop: the JPEG's artifacts as decoded, not re-encoded
    write_image(src, read_image(EXAMPLES / example).pixels[ys, xs])
    clean = read_image(EXAMPLES / "astronaut_clean.png").pixels
    clean = quantize(get_protocol("jpeg", 10, 1).to_channels(clean)[..., 0] if preset in GRAY else clean)
    clean = clean[ys.start * scale : ys.stop * scale, xs.start * scale : xs.stop * scale]
    score = dict(crop_border=scale, y_channel=True) if scale > 1 else {}
    fp32 = psnr(_restore_file(tmp_path, src, "fp32", "--task", preset), clean, **score)
    bf16 = psnr(_restore_file(tmp_path, src, "bf16", "--task", preset), clean, **score)
    assert abs(bf16 - fp32) < 0.1, (fp32, bf16)


def test_bf16_semanir_test_scores_like_fp32(tmp_path, capsys):
    data = make_images(tmp_path / "data", count=2, size=(40, 48))
    scores = {}
    for precision in ("fp32", "bf16"):
        args = ["test", "--task", "denoise", "--level", "25", "--data", str(data), "--json", "-", "--precision"]
        assert main([*args, precision, *CPU]) == 0
        scores[precision] = json.loads(capsys.readouterr().out)["mean"]["psnr"]
    assert abs(scores["bf16"] - scores["fp32"]) < 0.1, scores


# Triton runs on CUDA, else under its (slow) interpreter on the CPU: one window of the SR model, bf16.
TRITON = [
    pytest.param("triton", name, size, torch.bfloat16, id=f"triton-{name}",
                 marks=pytest.mark.skipif(not importlib.util.find_spec("triton"), reason="no triton"))
    for name, size in [("semanir_s_sr_x2", 8)]
]  # fmt: skip


@pytest.mark.parametrize(
    "impl, name, size, dtype",
    [
        (impl, name, size, dtype)
        for impl in ("mask", "gather", "cpu")
        for name, size in [("semanir_unet_color", 24), ("semanir_s_sr_x2", 12)]
        for dtype in (torch.bfloat16, torch.float16)
    ]
    + TRITON,
)
def test_reduced_precision_runs_every_architecture_and_attention(impl, name, size, dtype):
    device = torch.device("cuda" if impl == "triton" and torch.cuda.is_available() else "cpu")
    model = tiny_model(name, attn_impl=impl).eval().to(device)
    x = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(0))
    ref = restore_tensor(model, x, tile=0, device=device)
    out = restore_tensor(model, x, tile=0, device=device, dtype=dtype)
    assert out.dtype == torch.float32 and out.shape == ref.shape
    assert (out - ref).abs().max() < 0.05


def test_a_model_cast_to_bf16_by_its_caller_also_runs():
    model = tiny_model("semanir_s_sr_x2", attn_impl="gather").eval()
    x = torch.rand(1, 3, 12, 12, generator=torch.Generator().manual_seed(0))
    ref = restore_tensor(model, x, tile=0)
    out = restore_tensor(model.to(torch.bfloat16), x, tile=0, dtype=torch.bfloat16)
    assert out.dtype == torch.float32 and (out - ref).abs().max() < 0.05


@pytest.fixture
def fp16_overflows(monkeypatch):
    """Every U-Net forward under fp16 autocast returns inf, as an overflowing activation would."""
    forward = SemanIRUNet.forward

    def overflowing(self, x, topk=None):
        out = forward(self, x, topk)
        fp16 = torch.is_autocast_enabled(x.device.type) and torch.get_autocast_dtype(x.device.type) == torch.float16
        return out + float("inf") if fp16 else out

    monkeypatch.setattr(SemanIRUNet, "forward", overflowing)


def test_fp16_overflow_redoes_each_tile_in_fp32_and_warns_once(tmp_path, recwarn, fp16_overflows):
    src = tmp_path / "in.png"
    write_image(src, read_image(EXAMPLES / "astronaut_noisy.png").pixels[:64, :64])
    tiles = ["--tile", "32", "--overlap", "8"]  # 9 tiles, every one overflowing
    fp32 = _restore_file(tmp_path, src, "fp32", *tiles)
    assert not recwarn.list
    fp16 = _restore_file(tmp_path, src, "fp16", *tiles)
    message = "float16 overflowed (inf/NaN) in a tile; such tiles are redone in fp32"
    assert [str(w.message) for w in recwarn.list] == [message]
    np.testing.assert_array_equal(fp16, fp32)
    assert fp16.max() > 0
    # pytest records warnings; outside it, the CLI prints this one as a single line.
    w = recwarn.list[0]
    assert warnings.formatwarning(w.message, w.category, w.filename, w.lineno) == f"semanir: warning: {message}\n"


def test_q_k_v_share_a_dtype_when_autocast_normalises_in_fp32(monkeypatch):
    # CUDA's autocast runs the norm of F.normalize in fp32 (the CPU's does not): emulate that here.
    normalize = torch.nn.functional.normalize
    monkeypatch.setattr(torch.nn.functional, "normalize", lambda x, *a, **kw: normalize(x.float(), *a, **kw))
    model = tiny_model("semanir_s_sr_x2", attn_impl="gather").eval()
    x = torch.rand(1, 3, 12, 12, generator=torch.Generator().manual_seed(0))
    out = restore_tensor(model, x, tile=0, dtype=torch.bfloat16)
    assert (out - restore_tensor(model, x, tile=0)).abs().max() < 0.05
