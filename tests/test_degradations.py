"""Degradations against independent references: bicubic-pytorch and MATLAB-made LR files for SR,
colour-demosaicing for Malvar, scikit-image for the Y channel, the paper's tables for the
baselines; plus reproducibility of every seeded draw."""

import math
import subprocess
import sys

import numpy as np
import pytest
import torch

from semanir.data import degradations as deg
from semanir.data.io import list_images, quantize, read_image
from semanir.data.resize import imresize, modcrop
from semanir.metrics import psnr
from tests.data_support import REPO, benchmark_dir, natural_image

# --- MATLAB bicubic ---------------------------------------------------------------------------


def bicubic_pytorch_float64(x: np.ndarray, scale: float) -> np.ndarray:
    """bicubic-pytorch's resampler in float64. Its public ``core.imresize`` always casts to
    float32 (``cast_input`` tests ``dtype != float32 or dtype != float64``), which alone puts
    x3 upscaling ~6e-4 off on the 0-255 scale; the per-axis ``resize_1d`` keeps the dtype."""
    from bicubic_pytorch import core

    h, w, c = x.shape
    t = torch.from_numpy(x).permute(2, 0, 1).reshape(-1, 1, h, w).double()
    t = core.resize_1d(t, -2, size=math.ceil(h * scale), scale=scale)
    t = core.resize_1d(t, -1, size=math.ceil(w * scale), scale=scale)
    return t.reshape(c, t.shape[-2], t.shape[-1]).permute(1, 2, 0).numpy()


@pytest.mark.parametrize("factor", [2, 3, 4])
@pytest.mark.parametrize("direction", ["down", "up"])
def test_imresize_matches_bicubic_pytorch(factor, direction):
    pytest.importorskip("bicubic_pytorch")
    x = np.random.default_rng(factor).random((37, 41, 3)) * 255  # odd sizes exercise the borders
    scale = 1 / factor if direction == "down" else factor
    ours = imresize(x, scale)
    ref = bicubic_pytorch_float64(x, scale)
    assert ours.shape == ref.shape
    assert np.abs(ours - ref).max() < 1e-4


def test_imresize_public_bicubic_pytorch_api_on_downscaling():
    core = pytest.importorskip("bicubic_pytorch").core
    x = np.random.default_rng(7).random((48, 36, 3)) * 255
    ref = core.imresize(torch.from_numpy(x).permute(2, 0, 1)[None], scale=0.25)[0].permute(1, 2, 0).numpy()
    assert np.abs(imresize(x, 0.25) - ref).max() < 1e-4


def test_imresize_uint8_rounds_like_matlab():
    x = quantize(natural_image(30, 30))
    out = imresize(x, 0.5)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, np.floor(np.clip(imresize(x.astype(np.float64), 0.5), 0, 255) + 0.5))


def test_imresize_keeps_constant_images_constant():
    x = np.full((13, 17), 0.3)
    for scale in (0.5, 1 / 3, 0.25, 2, 3, 4):
        np.testing.assert_allclose(imresize(x, scale), 0.3, atol=1e-12)


def test_modcrop():
    x = np.zeros((37, 41, 3))
    assert modcrop(x, 4).shape == (36, 40, 3) and modcrop(x, 3).shape == (36, 39, 3)
    with pytest.raises(ValueError, match="smaller than the scale"):
        modcrop(np.zeros((2, 9)), 3)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_bicubic_downscale_reproduces_matlab_lr_files_of_set5(scale):
    root = benchmark_dir("Set5")
    for hr_path in list_images(root / "HR"):
        lr_file = read_image(root / "LR_bicubic" / f"X{scale}" / f"{hr_path.stem}x{scale}.png").pixels
        ours = deg.bicubic_downscale(read_image(hr_path).pixels, scale)
        assert ours.shape == lr_file.shape
        diff = np.abs(quantize(ours).astype(int) - quantize(lr_file).astype(int))
        assert diff.max() <= 2, hr_path.name
        assert psnr(ours, lr_file) >= 55.0, hr_path.name


def test_bicubic_downscale_and_upscale_shapes_and_grid():
    hr = natural_image(50, 47)
    lr = deg.bicubic_downscale(hr, 3)
    assert lr.shape == (16, 15, 3)
    np.testing.assert_array_equal(lr * 255, np.round(lr * 255))  # stored LR files are 8-bit
    assert deg.bicubic_upscale(lr, 3).shape == (48, 45, 3)


# --- AWGN ---------------------------------------------------------------------------------------


def test_noise_is_reproducible_and_seed_dependent():
    img = natural_image()
    a, b = deg.add_gaussian_noise(img, 25, seed=3), deg.add_gaussian_noise(img, 25, seed=3)
    assert a.tobytes() == b.tobytes()
    assert a.tobytes() != deg.add_gaussian_noise(img, 25, seed=4).tobytes()


def test_noise_has_the_requested_sigma_and_is_not_clipped():
    img = np.full((256, 256, 3), 0.9, np.float32)
    noisy = deg.add_gaussian_noise(img, 50, seed=0)
    noise = (noisy.astype(np.float64) - img) * 255
    assert abs(noise.std() - 50) < 0.5 and abs(noise.mean()) < 0.5
    assert noisy.max() > 1.2  # values beyond white survive: no clipping


def test_noise_psnr_matches_the_analytic_value():
    img = natural_image(128, 128)
    for sigma in (15, 25, 50):
        measured = psnr(deg.add_gaussian_noise(img, sigma, seed=sigma), img)
        assert abs(measured - 20 * math.log10(255 / sigma)) < 0.05


def test_blind_noise_draws_sigma_in_range_reproducibly():
    img = natural_image()
    noisy, sigma = deg.add_blind_gaussian_noise(img, (5, 75), seed=11)
    again, sigma2 = deg.add_blind_gaussian_noise(img, (5, 75), seed=11)
    assert 5 <= sigma <= 75 and sigma == sigma2 and noisy.tobytes() == again.tobytes()
    sigmas = {deg.add_blind_gaussian_noise(img, (5, 75), seed=s)[1] for s in range(5)}
    assert len(sigmas) == 5


def test_image_seed_is_stable_across_interpreters():
    code = "from semanir.data.degradations import image_seed; print(image_seed(0, 'butterfly'))"
    env = {"PYTHONHASHSEED": "12345", "PYTHONPATH": str(REPO / "src")}  # str hashes differ from ours
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert out == f"{deg.image_seed(0, 'butterfly')}\n"
    assert deg.image_seed(0, "a") != deg.image_seed(0, "b") != deg.image_seed(1, "b")
    assert 0 <= deg.image_seed(0, "a") < 2**63


# --- JPEG ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(40, 48, 3), (40, 48), (40, 48, 1)])
def test_jpeg_keeps_the_layout_and_is_reproducible(shape):
    img = natural_image(40, 48, channels=shape[2] if len(shape) == 3 else 1).reshape(shape)
    out = deg.jpeg_compress(img, 10)
    assert out.shape == shape and out.dtype == np.float32
    assert out.tobytes() == deg.jpeg_compress(img, 10).tobytes()
    np.testing.assert_array_equal(out * 255, np.round(out * 255))


def test_jpeg_quality_orders_the_error():
    img = natural_image(64, 64)
    scores = [psnr(deg.jpeg_compress(img, q), img) for q in (10, 20, 30, 40, 90)]
    assert scores == sorted(scores) and scores[0] < scores[-1] - 5


def test_blind_jpeg_draws_integer_quality_in_range():
    img = natural_image()
    out, q = deg.jpeg_compress_blind(img, (10, 90), seed=5)
    assert isinstance(q, int) and 10 <= q <= 90
    np.testing.assert_array_equal(out, deg.jpeg_compress(img, q))


def test_gray_from_color_is_rounded_matlab_y():
    from skimage.color import rgb2ycbcr

    img = natural_image(20, 24)
    expected = np.floor(rgb2ycbcr(img)[..., 0] + 0.5) / 255
    np.testing.assert_allclose(deg.to_gray_y(img), expected, atol=1e-7)
    gray = natural_image(5, 6, channels=1)
    np.testing.assert_array_equal(deg.to_gray_y(gray[..., None]), gray)


def test_color_jpeg_baseline_on_live1_matches_the_paper():
    # SemanIR Table 4, "JPEG" column for LIVE1 (from QGAC): PSNR of the cv2-compressed inputs.
    folder = benchmark_dir("LIVE1")
    paper = {10: 25.69, 40: 30.28}
    paths = list_images(folder)
    clean = [read_image(p).pixels for p in paths]
    for quality, expected in paper.items():
        measured = np.mean([psnr(deg.jpeg_compress(c, quality), c) for c in clean])
        assert abs(measured - expected) < 0.05, (quality, measured)


# --- Demosaicking --------------------------------------------------------------------------------


@pytest.mark.parametrize("pattern", deg.BAYER_PATTERNS)
def test_bayer_mosaic_keeps_the_right_color_at_each_site(pattern):
    img = np.zeros((6, 8, 3), np.float32)
    img[..., 0], img[..., 1], img[..., 2] = 0.2, 0.5, 0.8
    cfa = deg.bayer_mosaic(img, pattern)
    value = {"R": 0.2, "G": 0.5, "B": 0.8}
    for (dy, dx), letter in zip([(0, 0), (0, 1), (1, 0), (1, 1)], pattern, strict=True):
        assert np.all(cfa[dy::2, dx::2] == np.float32(value[letter]))
    assert cfa.shape == (6, 8)


@pytest.mark.parametrize("pattern", deg.BAYER_PATTERNS)
def test_malvar_matches_colour_demosaicing_inside_the_border(pattern):
    colour = pytest.importorskip("colour_demosaicing")
    img = natural_image(40, 52)
    cfa = deg.bayer_mosaic(img, pattern)
    ours = deg.demosaic_malvar(cfa, pattern, rounding="none")
    ref = colour.demosaicing_CFA_Bayer_Malvar2004(cfa.astype(np.float64), pattern)
    m = 2  # the 5x5 filters reach 2 pixels; SciPy's default border mode differs from MATLAB's there
    np.testing.assert_allclose(ours[m:-m, m:-m], ref[m:-m, m:-m], atol=1e-6)
    assert np.abs(ours - ref).max() > 1e-3  # ... and the borders really do differ


@pytest.mark.parametrize("pattern", ["RGGB", "GBRG"])
def test_malvar_borders_follow_matlab_reflection(pattern):
    # MATLAB pads the CFA by 2 with reflection about the edge pixel (c b | a b c). Padding by an
    # even amount keeps the Bayer phase, so colour-demosaicing on that padded CFA, cropped back,
    # must equal our output everywhere, borders included.
    colour = pytest.importorskip("colour_demosaicing")
    cfa = deg.bayer_mosaic(natural_image(21, 30), pattern)  # odd height on purpose
    padded = np.pad(cfa.astype(np.float64), 2, mode="reflect")
    ref = colour.demosaicing_CFA_Bayer_Malvar2004(padded, pattern)[2:-2, 2:-2]
    np.testing.assert_allclose(deg.demosaic_malvar(cfa, pattern, rounding="none"), ref, atol=1e-6)


@pytest.mark.parametrize("pattern", deg.BAYER_PATTERNS)
def test_any_bayer_layout_re_phased_as_rggb_demosaics_like_its_own_layout(pattern):
    # The padded mosaic must be a true RGGB mosaic of the same scene: every added sample is a real
    # sample of the color RGGB wants there, so Malvar as RGGB, cropped back, equals Malvar in the
    # input's own layout away from the (differently mirrored) first 2 rows/columns.
    img = natural_image(23, 30)  # odd height on purpose
    cfa = deg.bayer_mosaic(img, pattern)
    padded, top, left = deg.pad_to_rggb(cfa, pattern)
    assert (top, left) == {"RGGB": (0, 0), "GRBG": (0, 1), "GBRG": (1, 0), "BGGR": (1, 1)}[pattern]
    assert padded.shape == (23 + top, 30 + left)
    np.testing.assert_array_equal(padded[top:, left:], cfa)
    shifted_img = np.pad(img, ((top, 0), (left, 0), (0, 0)), mode="reflect")
    np.testing.assert_array_equal(padded, deg.bayer_mosaic(shifted_img, "RGGB"))
    ours = deg.demosaic_malvar(padded, "RGGB", rounding="none")[top:, left:]
    ref = deg.demosaic_malvar(cfa, pattern, rounding="none")
    np.testing.assert_allclose(ours[2:-2, 2:-2], ref[2:-2, 2:-2], atol=1e-6)
    with pytest.raises(ValueError, match="at least 2x2"):
        deg.pad_to_rggb(np.zeros((1, 9), np.float32), pattern)


@pytest.mark.parametrize("pattern", deg.BAYER_PATTERNS)
def test_a_turned_or_mirrored_mosaic_is_the_mosaic_of_the_turned_image_in_the_layout_named(pattern):
    img = natural_image(21, 30)  # odd height: the layout after a turn depends on the size
    cfa = deg.bayer_mosaic(img, pattern)
    for turns in range(4):
        for mirror in (False, True):
            view, layout = deg.transform_mosaic(cfa, pattern, turns, mirror)
            turned = np.rot90(img, turns, axes=(0, 1))
            turned = turned[:, ::-1] if mirror else turned
            np.testing.assert_array_equal(view, deg.bayer_mosaic(np.ascontiguousarray(turned), layout))


def test_malvar_rounding_and_flat_images():
    img = natural_image(24, 24)
    cfa = deg.bayer_mosaic(img)
    exact = deg.demosaic_malvar(cfa, rounding="none").astype(np.float64) * 255
    floor = deg.demosaic_malvar(cfa).astype(np.float64) * 255
    # exact values are multiples of 1/16; the margin only absorbs float32 storage error
    np.testing.assert_allclose(floor, np.clip(np.floor(exact + 1e-3), 0, 255), atol=1e-4)
    flat = np.full((10, 12, 3), [0.2, 0.4, 0.6], np.float32)
    flat = quantize(flat) / np.float32(255)
    np.testing.assert_allclose(deg.demosaic_malvar(deg.bayer_mosaic(flat)), flat, atol=1e-7)
    with pytest.raises(ValueError, match="at least 5x5"):
        deg.demosaic_malvar(np.zeros((4, 9), np.float32))
    with pytest.raises(ValueError, match="unknown Bayer pattern"):
        deg.bayer_mosaic(img, "RGBG")


def test_malvar_baseline_on_mcmaster_is_the_papers_matlab_row():
    folder = benchmark_dir("McMaster")
    scores = []
    for path in list_images(folder):
        clean = read_image(path).pixels
        scores.append(psnr(deg.demosaic_malvar(deg.bayer_mosaic(clean)), clean))
    assert len(scores) == 18
    assert abs(np.mean(scores) - 34.43) < 1.0  # SemanIR Table 9, "Matlab" row, McMaster


@pytest.mark.parametrize("pattern", deg.BAYER_PATTERNS)
def test_bilinear_demosaicking_matches_colour_demosaicing_inside_the_border(pattern):
    colour = pytest.importorskip("colour_demosaicing")
    cfa = deg.bayer_mosaic(natural_image(21, 30), pattern)
    ours = deg.demosaic_bilinear(cfa, pattern)
    ref = colour.demosaicing_CFA_Bayer_bilinear(cfa.astype(np.float64), pattern)
    np.testing.assert_allclose(ours[1:-1, 1:-1], ref[1:-1, 1:-1], atol=1e-6)
    flat = np.full((9, 10, 3), (0.2, 0.5, 0.8), np.float32)  # borders included: reflection keeps the grid
    np.testing.assert_allclose(deg.demosaic_bilinear(deg.bayer_mosaic(flat, pattern), pattern), flat, atol=1e-6)


def test_camera_noise_is_correlated_reproducible_and_on_8_bits():
    clean = natural_image(64, 64)
    noisy, truth = deg.camera_noise(clean, (25, 25), 3)
    again = deg.camera_noise(clean, (25, 25), 3)
    np.testing.assert_array_equal(noisy, again[0])
    np.testing.assert_array_equal(truth, again[1])
    assert not np.array_equal(noisy, deg.camera_noise(clean, (25, 25), 4)[0])
    assert noisy.dtype == truth.dtype == np.float32 and noisy.shape == truth.shape == clean.shape
    np.testing.assert_array_equal(quantize(noisy).astype(np.float32) / 255, noisy)  # a file's values
    # the truth is the noise-free pipeline: close to the clean image, not the noisy one
    assert psnr(quantize(truth), quantize(clean)) > psnr(quantize(noisy), quantize(clean)) + 5

    def neighbour_correlation(noise: np.ndarray) -> float:
        return float(np.corrcoef(noise[:, :-1].ravel(), noise[:, 1:].ravel())[0, 1])

    draws = [deg.camera_noise(clean, (25, 25), seed) for seed in range(6)]
    camera = np.mean([neighbour_correlation(n - t) for n, t in draws])
    white = neighbour_correlation(deg.add_gaussian_noise(clean, 25, 0) - clean)
    assert camera > 0.2 and abs(white) < 0.05  # demosaicking spreads each sensor value's noise
    assert 0 < np.mean([np.std(n - t) for n, t in draws]) * 255 < 25  # interpolation averages noise
