"""Task protocols: the settings of App. A.5, deterministic inputs, scoring as the field does."""

import numpy as np
import pytest

from semanir import metrics
from semanir.data import degradations as deg
from semanir.data.io import quantize
from semanir.data.protocols import TASKS, get_protocol, resize_like_transweather
from tests.data_support import natural_image

# App. A.5 (and A.1 for the inputs): which channels are scored, and the border crop.
A5 = [
    # task, level, channels -> y_channel, crop_border, paired, metric
    ("denoise", 25, 3, False, 0, False, "standard"),  # color denoising: RGB
    ("denoise", 50, 1, True, 0, False, "standard"),  # gray denoising: Y (the gray image)
    ("jpeg", 10, 3, False, 0, False, "standard"),  # color JPEG: RGB
    ("jpeg", 40, 1, True, 0, False, "standard"),  # gray JPEG: Y
    ("sr", 2, 3, True, 2, False, "standard"),  # SR: Y, crop = scale
    ("sr", 4, 3, True, 4, False, "standard"),
    ("demosaic", None, 3, False, 0, False, "standard"),  # demosaicking: RGB
    ("deblur", None, 3, False, 0, True, "standard"),  # deblurring: RGB
    ("weather", None, 3, False, 0, True, "transweather"),  # "the same PSNR as TransWeather"
]


@pytest.mark.parametrize("task,level,channels,y,crop,paired,metric", A5)
def test_protocol_settings_follow_appendix_a5(task, level, channels, y, crop, paired, metric):
    p = get_protocol(task, level, channels)
    assert (p.y_channel, p.crop_border, p.paired, p.metric) == (y, crop, paired, metric)


def test_protocol_errors_are_one_line():
    with pytest.raises(ValueError, match="unknown task 'dehaze'"):
        get_protocol("dehaze")
    with pytest.raises(ValueError, match=r"denoise level must be one of \(15, 25, 50, 75, 'blind'\)"):
        get_protocol("denoise", 30)
    with pytest.raises(ValueError, match=r"jpeg level must be one of \(10, 20, .*, 90, 'blind'\), got 95"):
        get_protocol("jpeg", 95)
    with pytest.raises(ValueError, match="RGB images only"):
        get_protocol("sr", 4, channels=1)
    with pytest.raises(ValueError, match="paired files"):
        get_protocol("deblur").degrade(natural_image(), seed=0)


@pytest.mark.parametrize(
    "task,level,channels",
    [
        ("denoise", 15, 3),
        ("denoise", "blind", 1),
        ("jpeg", 20, 1),
        ("jpeg", "blind", 3),
        ("sr", 3, 3),
        ("demosaic", None, 3),
    ],
)
def test_degrade_is_deterministic_and_shaped(task, level, channels):
    p = get_protocol(task, level, channels)
    clean = p.prepare_clean(natural_image(50, 47))
    assert clean.shape[2] == channels
    a, b = p.degrade(clean, seed=1), p.degrade(clean, seed=1)
    assert a.tobytes() == b.tobytes() and a.dtype == np.float32
    assert a.shape == (clean.shape[0] // p.scale, clean.shape[1] // p.scale, channels)
    if task == "denoise" or level == "blind":
        assert a.tobytes() != p.degrade(clean, seed=2).tobytes()


def test_degrade_matches_the_task_functions():
    clean = natural_image(48, 48)
    assert get_protocol("jpeg", 30).degrade(clean, 0).tobytes() == deg.jpeg_compress(clean, 30).tobytes()
    noisy = get_protocol("denoise", 50).degrade(clean, 7)
    assert noisy.tobytes() == deg.add_gaussian_noise(clean, 50, 7).tobytes()
    demosaicked = get_protocol("demosaic").degrade(clean, 0)
    assert demosaicked.tobytes() == deg.demosaic_malvar(deg.bayer_mosaic(clean, "RGGB"), "RGGB").tobytes()


def test_prepare_clean_channels_and_modcrop():
    rgb, gray = natural_image(50, 47), natural_image(50, 47, channels=1)
    assert get_protocol("sr", 4).prepare_clean(rgb).shape == (48, 44, 3)
    np.testing.assert_array_equal(get_protocol("jpeg", 10, 1).prepare_clean(rgb)[..., 0], deg.to_gray_y(rgb))
    replicated = get_protocol("sr", 2).prepare_clean(gray)  # e.g. Set14's gray 'bridge'
    assert replicated.shape == (50, 46, 3) and np.all(replicated[..., 0] == replicated[..., 2])


def test_evaluate_rounds_outputs_to_8_bits_like_saved_pngs():
    p = get_protocol("denoise", 25)
    clean = natural_image(32, 32)
    output = clean + np.float32(0.4 / 255)  # rounds back to the clean image
    assert p.evaluate(output, clean)["psnr"] == float("inf")
    assert np.isfinite(p.evaluate(output, clean, quantize_output=False)["psnr"])


def test_evaluate_sr_scores_y_with_the_scale_as_border():
    p = get_protocol("sr", 3)
    clean = p.prepare_clean(natural_image(48, 45))
    up = deg.bicubic_upscale(p.degrade(clean, 0), 3)
    scores = p.evaluate(up, clean)
    up8, clean8 = quantize(up), quantize(clean)
    assert scores["psnr"] == metrics.psnr(up8, clean8, crop_border=3, y_channel=True)
    assert scores["ssim"] == metrics.ssim(up8, clean8, crop_border=3, y_channel=True)
    assert scores["psnr"] != metrics.psnr(up8, clean8, y_channel=True)


def test_weather_uses_transweather_psnr():
    p = get_protocol("weather")
    a, b = natural_image(32, 32), natural_image(32, 32, seed=3)
    assert p.evaluate(a, b)["psnr"] == metrics.psnr_transweather(a, b)


def test_every_task_has_a_protocol():
    assert {get_protocol(t).task for t in TASKS} == set(TASKS)


def test_transweather_resize_sizes():
    assert resize_like_transweather(np.zeros((480, 720, 3), np.float32)).shape == (480, 720, 3)  # unchanged
    assert resize_like_transweather(np.zeros((333, 500, 3), np.float32)).shape == (336, 512, 3)
    assert resize_like_transweather(np.zeros((1000, 1500, 3), np.float32)).shape == (688, 1024, 3)
    assert resize_like_transweather(np.zeros((1500, 1000, 3), np.float32)).shape == (1024, 688, 3)
