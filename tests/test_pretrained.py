"""The weights shipped inside the package: present, self-describing, small, and actually restoring."""

from pathlib import Path

import numpy as np
import pytest
import torch

from semanir import create_model
from semanir.cli import main
from semanir.config import load_config
from semanir.data.degradations import (
    add_gaussian_noise,
    bayer_mosaic,
    bicubic_downscale,
    bicubic_upscale,
    demosaic_malvar,
    jpeg_compress,
)
from semanir.data.io import quantize, read_image
from semanir.data.protocols import get_protocol
from semanir.evaluation import model_restorer
from semanir.inference import restore_tensor
from semanir.metrics import psnr
from semanir.pretrained import DEFAULT_PRESET, list_presets, preset_path
from semanir.restoration import Restorer
from semanir.tasks.deblur import synthetic_blur
from semanir.weights import model_from_weights, without_runtime_choices
from tests.data_support import REPO

EXAMPLES = REPO / "examples"
TRAINING_RECORDS = REPO / "docs" / "training-records"


def test_the_default_preset_is_shipped():
    assert DEFAULT_PRESET in list_presets()


@pytest.mark.parametrize("preset", list_presets())
def test_each_preset_names_its_task_model_and_training_config(preset):
    path = preset_path(preset)
    assert path.stat().st_size < 15 * 2**20  # int8 (7 MiB for 6.93M parameters): the wheel stays small
    model, meta = model_from_weights(path)
    assert preset == meta["task"] or preset.startswith(f"{meta['task']}_")  # denoise_gray, sr_x2: variants of a task
    assert meta["model_name"] == model.model_name
    training = meta["training"]
    assert training["iterations"] > 0
    cfg = load_config(TRAINING_RECORDS / f"{training['config']}.yaml")  # the config that trained it is on record
    assert cfg["task"] == meta["task"]
    # The record names the registered model of the weights' architecture (files written before the
    # shipped sizes were registered name the full-size model with those sizes as options).
    recorded = create_model(cfg["model"]["name"], **{k: v for k, v in cfg["model"].items() if k != "name"})
    assert without_runtime_choices(recorded.config) == without_runtime_choices(model.config)


def _restore(img: np.ndarray, model) -> np.ndarray:
    x = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))).unsqueeze(0)
    with torch.no_grad():
        out = restore_tensor(model, x, tile=0)
    return quantize(out[0].numpy().transpose(1, 2, 0))


def _astronaut() -> np.ndarray:
    # The 256x256 clean crop the example inputs were made from; scikit-image's astronaut is not in
    # the training photos.
    return read_image(EXAMPLES / "astronaut_clean.png").pixels


def _astronaut_crop() -> np.ndarray:
    return _astronaut()[64:160, 80:176]


def _restore_example_with_cli(tmp_path: Path, example: str, task: str) -> np.ndarray:
    """`semanir restore examples/<example> -o out/ --task <task>`, as the README shows; the 8-bit output."""
    src = EXAMPLES / example
    assert main(["restore", str(src), "-o", str(tmp_path / "out"), "--task", task]) == 0
    return quantize(read_image(tmp_path / "out" / f"{src.stem}.png").pixels)


def _gray(image: np.ndarray) -> np.ndarray:
    # The gray protocols' conversion (MATLAB's rgb2gray weights), as the examples were made.
    return get_protocol("jpeg", 10, 1).to_channels(image)


@pytest.fixture(scope="module")
def denoisers():
    # Restorers, not bare models: a clipped input gets the denoise task's second pass.
    return {preset: Restorer(model_from_weights(preset_path(preset))[0], task="denoise", tile=0)
            for preset in ("denoise", "denoise_gray")}  # fmt: skip


# Gains measured on this crop with the shipped weights. denoise (9400 CPU + 7500 GPU + 1800 CPU,
# then 873 CPU on 4x the photos): unclipped AWGN (the paper's protocol, and the training
# distribution) +10.8 dB at sigma 25 and +12.8 dB at 50; an 8-bit file (noise clipped at 0 and 255)
# +10.7 dB at 25 with the second pass for clipped inputs (tasks/denoise.py), +8.2 without it, so the
# clipped threshold fails without it. denoise_gray (3900 CPU iterations from denoise fitted to one
# channel), on the crop in gray: +9.75 / +11.09 / +9.71 dB (+9.45 clipped in one pass); the RGB
# denoise on the gray crop as three equal channels removes nothing (it reads noise that is the same
# in every channel as texture), so these fail unless the gray training took. Margins: 1.5 dB or more.
DENOISE_GAINS = {"denoise": [(25, False, 8.5), (50, False, 10.3), (25, True, 9.2)],
                 "denoise_gray": [(25, False, 8.0), (50, False, 9.3), (25, True, 7.8)]}  # fmt: skip


@pytest.mark.parametrize("preset, sigma, clipped, min_gain_db", [(p, *g) for p, gains in DENOISE_GAINS.items() for g in gains])
def test_the_shipped_denoisers_remove_noise_they_never_saw(denoisers, preset, sigma, clipped, min_gain_db):
    clean = _astronaut_crop() if preset == "denoise" else _gray(_astronaut_crop())
    noisy = add_gaussian_noise(clean, sigma, 1)
    if clipped:
        noisy = np.clip(noisy, 0, 1)
    noisy = noisy.astype(np.float32)
    before = psnr(quantize(noisy), quantize(clean))
    after = psnr(quantize(denoisers[preset].restore(noisy)), quantize(clean))
    assert after - before > min_gain_db, (before, after)


@pytest.mark.parametrize("preset", ["denoise", "denoise_gray"])
def test_the_shipped_denoisers_are_blind_down_to_clean_images(denoisers, preset):
    # Trained on sigma in [0, 50]: a clean image must come back nearly untouched (measured 42.88 dB
    # and, in gray, 44.75).
    clean = _astronaut_crop() if preset == "denoise" else _gray(_astronaut_crop())
    assert psnr(quantize(denoisers[preset].restore(clean)), quantize(clean)) > 37.0


def test_restore_sends_a_gray_noisy_file_to_the_gray_denoiser(tmp_path):
    # examples/astronaut_gray_noisy.png (sigma 25, clipped to 8 bits): 20.45 dB; the default
    # `semanir restore` gives 30.62 with the gray twin (30.48 in one pass); the RGB denoise alone gave 20.40.
    src = EXAMPLES / "astronaut_gray_noisy.png"
    assert main(["restore", str(src), "-o", str(tmp_path / "out")]) == 0
    out = quantize(read_image(tmp_path / "out" / src.name).pixels)
    clean = quantize(_gray(_astronaut()))[..., 0]
    before = psnr(quantize(read_image(src).pixels), clean)
    assert out.shape == clean.shape and psnr(out, clean) - before > 8.0, (before, psnr(out, clean))


# Gains measured on this crop with the shipped weights. jpeg (3200 iterations from the denoiser on
# QF 10-40, then 600 on QF 10-95): QF 10 / 20 / 40 / 60 / 90 +1.69 / +1.89 / +2.09 / +1.95 / +0.14
# dB (the 10-40 weights: +1.85 / +2.06 / +1.92 / +1.42 / -2.07); the denoiser itself gives +0.08 /
# +0.14 / +0.18 at 10 / 20 / 40, so these thresholds fail unless the JPEG training took.
# jpeg_gray (600 more from jpeg fitted to one channel, QF 10-95), on the crop in gray: +1.75 /
# +1.76 / +2.87 / +3.03 / +0.09. A mild JPEG must not come out worse than it went in (QF 95
# still does: -1.06 and -2.78 dB).
JPEG_GAINS = {"jpeg": [(10, 1.2), (20, 1.4), (40, 1.5), (60, 1.4), (90, 0.0)],
              "jpeg_gray": [(10, 1.3), (20, 1.3), (40, 2.2), (60, 2.3), (90, 0.0)]}  # fmt: skip


@pytest.fixture(scope="module")
def deblockers():
    return {preset: model_from_weights(preset_path(preset))[0] for preset in JPEG_GAINS}


@pytest.mark.parametrize("preset, quality, min_gain_db", [(p, *g) for p, gains in JPEG_GAINS.items() for g in gains])
def test_the_shipped_jpeg_removers_remove_artifacts_of_the_qualities_they_were_trained_for(
    deblockers, preset, quality, min_gain_db
):
    clean = _astronaut_crop() if preset == "jpeg" else _gray(_astronaut_crop())
    compressed = jpeg_compress(clean, quality).astype(np.float32)
    before = psnr(quantize(compressed), quantize(clean))
    after = psnr(_restore(compressed, deblockers[preset]), quantize(clean))
    assert after - before > min_gain_db, (before, after)


def test_restore_task_jpeg_restores_the_example_jpeg_file(tmp_path):
    # The README's example, as a user runs it: a real .jpg (quality 20), `semanir restore --task jpeg`.
    # Measured: 27.57 -> 29.52 dB (quality 10-95 weights).
    out = _restore_example_with_cli(tmp_path, "astronaut_q20.jpg", "jpeg")
    clean = quantize(_astronaut())
    before = psnr(quantize(read_image(EXAMPLES / "astronaut_q20.jpg").pixels), clean)
    after = psnr(out, clean)
    assert after - before > 1.5, (before, after)


def test_restore_task_jpeg_sends_a_gray_jpeg_file_to_the_gray_preset(tmp_path):
    # examples/astronaut_gray_q10.jpg (the gray crop saved at quality 10): 27.92 dB; `--task jpeg`
    # gives 29.67 (the gray twin); the RGB jpeg weights on its three equal channels give 29.06.
    out = _restore_example_with_cli(tmp_path, "astronaut_gray_q10.jpg", "jpeg")
    clean = quantize(_gray(_astronaut()))[..., 0]
    before = psnr(quantize(read_image(EXAMPLES / "astronaut_gray_q10.jpg").pixels), clean)
    after = psnr(out, clean)
    assert out.shape == clean.shape and after - before > 1.45, (before, after)


@pytest.fixture(scope="module")
def upscaler():
    model, _ = model_from_weights(preset_path("sr"))
    return model


# Y-channel PSNR, border of 4 cropped: the SR protocol. Measured on this crop (MATLAB-bicubic LR of
# 24x24) with the shipped weights (5600 CPU iterations): bicubic 24.25 dB, ours 26.02 (+1.77). An
# untrained model with bicubic_skip returns torch's bicubic, so this fails unless training took.
def test_the_shipped_x4_upscaler_beats_bicubic_on_an_image_it_never_saw(upscaler):
    clean = _astronaut_crop()
    lr = bicubic_downscale(clean, 4)
    out = _restore(lr, upscaler)
    assert out.shape == clean.shape
    bicubic = psnr(quantize(bicubic_upscale(lr, 4)), quantize(clean), crop_border=4, y_channel=True)
    ours = psnr(out, quantize(clean), crop_border=4, y_channel=True)
    assert ours - bicubic > 1.0, (bicubic, ours)


def test_restore_task_sr_upscales_the_example_file_4x(tmp_path):
    # The README's example: a 64x64 PNG made by MATLAB-bicubic x4 downscaling of the astronaut crop.
    # Measured (Y, border 4): bicubic 24.95 dB, ours 27.12.
    out = _restore_example_with_cli(tmp_path, "astronaut_lr_x4.png", "sr")
    clean = quantize(_astronaut())
    assert out.shape == clean.shape == (256, 256, 3)
    bicubic = quantize(bicubic_upscale(read_image(EXAMPLES / "astronaut_lr_x4.png").pixels, 4))
    before = psnr(bicubic, clean, crop_border=4, y_channel=True)
    after = psnr(out, clean, crop_border=4, y_channel=True)
    assert after - before > 1.5, (before, after)


# x2 and x3 (2026-12-07, 400 CPU iterations each from the x4 weights). Measured on this crop (Y,
# border = scale): x2 bicubic 28.85 dB, ours 33.09 (+4.25); x3 (of the top-left 95x95) 25.92, ours
# 27.97 (+2.05). Their first runs start at bicubic's
# output (bicubic_skip, last upsampler conv at zero), so these fail unless the training took.
@pytest.mark.parametrize("preset, scale, min_gain_db", [("sr_x2", 2, 3.0), ("sr_x3", 3, 1.4)])
def test_the_shipped_x2_x3_upscalers_beat_bicubic(preset, scale, min_gain_db):
    model, _ = model_from_weights(preset_path(preset))
    clean = _astronaut_crop()
    clean = clean[: clean.shape[0] - clean.shape[0] % scale, : clean.shape[1] - clean.shape[1] % scale]
    lr = bicubic_downscale(clean, scale)
    out = _restore(lr, model)
    assert out.shape == clean.shape
    bicubic = psnr(quantize(bicubic_upscale(lr, scale)), quantize(clean), crop_border=scale, y_channel=True)
    ours = psnr(out, quantize(clean), crop_border=scale, y_channel=True)
    assert ours - bicubic > min_gain_db, (bicubic, ours)


# `semanir restore --scale N` on the README's examples (MATLAB-bicubic downscales of the 256x256
# crop; x3 of its top-left 255x255). Measured (Y, border = scale): x2 bicubic 29.52 dB, ours 33.26;
# x3 26.62, ours 28.98.
@pytest.mark.parametrize("scale, min_gain_db", [(2, 2.5), (3, 1.6)])
def test_restore_scale_upscales_the_example_file(tmp_path, scale, min_gain_db):
    src = EXAMPLES / f"astronaut_lr_x{scale}.png"
    assert main(["restore", str(src), "-o", str(tmp_path / "out"), "--scale", str(scale)]) == 0
    out = quantize(read_image(tmp_path / "out" / src.name).pixels)
    lr = read_image(src).pixels
    clean = quantize(_astronaut())[: lr.shape[0] * scale, : lr.shape[1] * scale]
    assert out.shape == clean.shape
    before = psnr(quantize(bicubic_upscale(lr, scale)), clean, crop_border=scale, y_channel=True)
    after = psnr(out, clean, crop_border=scale, y_channel=True)
    assert after - before > min_gain_db, (before, after)


@pytest.fixture(scope="module")
def demosaicker():
    model, _ = model_from_weights(preset_path("demosaic"))
    return model


# RGB PSNR, the paper's demosaicking protocol. Measured on this crop with the shipped weights
# (3500 CPU iterations from the denoiser): MATLAB's demosaic (Malvar) 32.57 dB, ours 38.47 (+5.90);
# the denoiser it started from gives 33.43 (+0.86), so this fails unless the demosaicking training took.
def test_the_shipped_demosaicker_beats_matlab_demosaic_on_an_image_it_never_saw(demosaicker):
    clean = _astronaut_crop()
    malvar = demosaic_malvar(bayer_mosaic(clean, "RGGB"), "RGGB")
    before = psnr(quantize(malvar), quantize(clean))
    after = psnr(_restore(malvar, demosaicker), quantize(clean))
    assert after - before > 3.5, (before, after)


# The network only saw RGGB mosaics; other layouts are re-phased as RGGB before Malvar. Measured on
# this crop: Malvar 32.52-32.63 dB in the three other layouts; ours 38.41-38.68 (+5.8 to +6.2), where
# feeding the network their own-layout Malvar output gave only 33.24-33.62 (+0.7 to +1.0; earlier weights).
@pytest.mark.parametrize("pattern", ["GRBG", "GBRG", "BGGR"])
def test_the_shipped_demosaicker_serves_every_bayer_layout(demosaicker, pattern):
    clean = _astronaut_crop()
    cfa = bayer_mosaic(clean, pattern)
    restorer = Restorer(demosaicker, task="demosaic", tile=0, bayer_pattern=pattern)
    out = quantize(restorer.restore_array(cfa))
    assert out.shape == clean.shape
    before = psnr(quantize(demosaic_malvar(cfa, pattern)), quantize(clean))
    after = psnr(out, quantize(clean))
    assert after - before > 3.5, (before, after)


# The x8 self-ensemble turns the mosaic, not Malvar's output. Measured on this crop: plain 38.47 dB,
# x8 38.65 (RGGB); +0.18 to +0.41 dB on the four layouts, +0.13 to +0.22 on a 95x93 crop.
def test_the_demosaicking_self_ensemble_gains_and_semanir_test_runs_it_alike(demosaicker):
    clean = _astronaut_crop()
    cfa = bayer_mosaic(clean, "RGGB")
    plain, x8 = (
        quantize(Restorer(demosaicker, task="demosaic", tile=0, self_ensemble=se).restore_array(cfa))
        for se in (False, True)
    )
    assert psnr(x8, quantize(clean)) > psnr(plain, quantize(clean)) + 0.1
    # `semanir test` gets Malvar's output (the protocol's input) and re-mosaics it.
    malvar = torch.from_numpy(demosaic_malvar(cfa, "RGGB").transpose(2, 0, 1).copy()).unsqueeze(0)
    restore = model_restorer(demosaicker, torch.device("cpu"), tile=0, self_ensemble=True, task="demosaic")
    np.testing.assert_array_equal(quantize(restore(malvar)[0].numpy().transpose(1, 2, 0)), x8)


def test_restore_task_demosaic_turns_the_example_bayer_mosaic_into_color(tmp_path):
    # The README's example: a 1-channel RGGB mosaic PNG of the astronaut crop. Restore runs MATLAB's
    # demosaic on it first, as the paper does. Measured: Malvar 32.46 dB, ours 36.09.
    mosaic = read_image(EXAMPLES / "astronaut_bayer.png").pixels
    assert mosaic.ndim == 2
    out = _restore_example_with_cli(tmp_path, "astronaut_bayer.png", "demosaic")
    clean = quantize(_astronaut())
    assert out.shape == clean.shape == (256, 256, 3)
    malvar = quantize(demosaic_malvar(mosaic, "RGGB"))
    before = psnr(malvar, clean)
    after = psnr(out, clean)
    assert after - before > 2.5, (before, after)


@pytest.fixture(scope="module")
def deblurrer():
    model, _ = model_from_weights(preset_path("deblur"))
    return model


# RGB PSNR with the 15-pixel border the synthetic blur mirrored left out (the deblur protocol), on
# held-out kernels (an int seed draws from the test stream). Measured with the shipped weights (1300
# CPU iterations from the denoiser on synthetic camera shake): seed 3 (a 3 px kernel) 32.08 ->
# 35.87 dB, seed 0 (13 px) 22.23 -> 22.78; the denoiser it started from gives +0.01 and +0.03, so
# these fail unless the deblurring training took.
@pytest.mark.parametrize("seed, min_gain_db", [(3, 2.8), (0, 0.3)])
def test_the_shipped_deblurrer_sharpens_held_out_camera_shake(deblurrer, seed, min_gain_db):
    clean = _astronaut_crop()
    blurry, kernel = synthetic_blur(clean, seed)
    before = psnr(quantize(blurry), quantize(clean), crop_border=15)
    after = psnr(_restore(blurry, deblurrer), quantize(clean), crop_border=15)
    assert after - before > min_gain_db, (kernel.shape, before, after)


# A deblurrer must leave a sharp photo nearly as it is. Measured: 41.16 dB (the denoiser gives
# 44.88); the same run before it trained on sharp patches gave 30.6 (it sharpened everything).
def test_the_shipped_deblurrer_leaves_a_sharp_image_nearly_untouched(deblurrer):
    clean = _astronaut_crop()
    assert psnr(_restore(clean, deblurrer), quantize(clean), crop_border=15) > 39.5


def test_restore_task_deblur_sharpens_the_example_file(tmp_path):
    # The README's example: the 256x256 crop blurred by a held-out 13 px kernel (seed 0) plus noise,
    # 8-bit. Measured: 23.39 -> 24.17 dB (border 15); the denoiser gives 23.42.
    out = _restore_example_with_cli(tmp_path, "astronaut_blurred.png", "deblur")
    clean = quantize(_astronaut())
    before = psnr(quantize(read_image(EXAMPLES / "astronaut_blurred.png").pixels), clean, crop_border=15)
    after = psnr(out, clean, crop_border=15)
    assert after - before > 0.5, (before, after)
