"""PSNR/SSIM/Y against scikit-image, on synthetic images always and on real ones when present."""

import numpy as np
import pytest

from semanir import metrics
from semanir.data.degradations import add_gaussian_noise, jpeg_compress
from semanir.data.io import list_images, quantize, read_image
from tests.data_support import benchmark_dir, natural_image

skm = pytest.importorskip("skimage.metrics")
skc = pytest.importorskip("skimage.color")


def sk_ssim(a, b, channel_axis=None):
    return skm.structural_similarity(
        a,
        b,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        data_range=255,
        channel_axis=channel_axis,
    )


def check_against_skimage(clean_u8: np.ndarray, degraded_u8: np.ndarray, crop: int = 0) -> None:
    c = slice(crop, -crop) if crop else slice(None)
    a, b = degraded_u8.astype(np.float64)[c, c], clean_u8.astype(np.float64)[c, c]
    rgb = clean_u8.ndim == 3
    # RGB (or gray)
    assert (
        abs(metrics.psnr(degraded_u8, clean_u8, crop) - skm.peak_signal_noise_ratio(b, a, data_range=255))
        < 1e-6
    )
    assert abs(metrics.ssim(degraded_u8, clean_u8, crop) - sk_ssim(b, a, 2 if rgb else None)) < 1e-6
    if rgb:  # Y
        ya, yb = skc.rgb2ycbcr(degraded_u8)[..., 0][c, c], skc.rgb2ycbcr(clean_u8)[..., 0][c, c]
        assert (
            abs(
                metrics.psnr(degraded_u8, clean_u8, crop, y_channel=True)
                - skm.peak_signal_noise_ratio(yb, ya, data_range=255)
            )
            < 1e-6
        )
        assert abs(metrics.ssim(degraded_u8, clean_u8, crop, y_channel=True) - sk_ssim(yb, ya)) < 1e-6


@pytest.mark.parametrize("crop", [0, 4])
def test_metrics_match_skimage_on_synthetic_images(crop):
    clean = natural_image(60, 70)
    check_against_skimage(quantize(clean), quantize(jpeg_compress(clean, 20)), crop)
    gray = natural_image(60, 70, channels=1)
    check_against_skimage(quantize(gray), quantize(jpeg_compress(gray, 20)), crop)


def test_metrics_match_skimage_on_real_images():
    paths = list_images(benchmark_dir("LIVE1"))[:2] + list_images(benchmark_dir("classic5"))[:1]
    for i, path in enumerate(paths):
        clean = quantize(read_image(path).pixels)
        check_against_skimage(
            clean, quantize(jpeg_compress(clean / np.float32(255), 10 + 10 * i)), crop=4 * (i % 2)
        )


def test_rgb_to_y_matches_skimage_on_real_and_synthetic_images():
    images = [natural_image(30, 40)]
    try:
        images += [read_image(p).pixels for p in list_images(benchmark_dir("Set5") / "HR")[:2]]
    except pytest.skip.Exception:
        pass
    for img in images:
        np.testing.assert_allclose(
            metrics.rgb_to_y(img), skc.rgb2ycbcr(img)[..., 0], atol=1e-4
        )  # float32 input
        u8 = quantize(img)
        np.testing.assert_allclose(metrics.rgb_to_y(u8), skc.rgb2ycbcr(u8)[..., 0], atol=1e-9)
    y = metrics.rgb_to_y(np.array([[[0, 0, 0], [255, 255, 255]]], np.uint8))
    np.testing.assert_allclose(y, [[16, 235]], atol=1e-9)  # studio range, not OpenCV's 0-255 YCrCb


def test_uint8_and_unit_float_inputs_give_the_same_numbers():
    clean = natural_image(40, 40)
    noisy = np.clip(add_gaussian_noise(clean, 15, seed=0), 0, 1)
    u8 = quantize(noisy)
    f = u8.astype(np.float32) / 255
    for fn in (metrics.psnr, metrics.ssim):
        # float32 holds k/255 only to ~1e-7 relative, hence not 1e-9 (Protocol.evaluate quantizes)
        assert abs(fn(u8, quantize(clean)) - fn(f, clean)) < 1e-5
        assert abs(fn(u8, quantize(clean), y_channel=True) - fn(f, clean, y_channel=True)) < 1e-4


def test_psnr_of_noise_uses_peak_255():
    clean = np.full((50, 50), 0.5)
    off = clean + 5 / 255  # every pixel off by 5 levels: MSE 25
    assert abs(metrics.psnr(off, clean) - 10 * np.log10(255**2 / 25)) < 1e-9
    assert metrics.psnr(clean, clean) == float("inf")
    assert metrics.ssim(clean, clean) == pytest.approx(1.0)


def test_gray_images_are_their_own_y_channel():
    a, b = natural_image(30, 30, channels=1), natural_image(30, 30, channels=1, seed=2)
    assert metrics.psnr(a, b, y_channel=True) == metrics.psnr(a, b)
    assert metrics.ssim(a[..., None], b[..., None], y_channel=True) == metrics.ssim(a, b)


def test_metric_errors_are_one_line():
    a = natural_image(20, 20)
    with pytest.raises(ValueError, match="differ in shape"):
        metrics.psnr(a, a[:10])
    with pytest.raises(ValueError, match="looks like 0-255"):
        metrics.psnr(a * 255, a * 255)
    with pytest.raises(ValueError, match="leaves nothing"):
        metrics.psnr(a, a, crop_border=10)
    with pytest.raises(ValueError, match="at least 11x11"):
        metrics.ssim(a[:10, :10], a[:10, :10])
    with pytest.raises(ValueError, match="uint8"):
        metrics.psnr(a.astype(np.int32), a.astype(np.int32))


def test_transweather_psnr_reproduces_its_torch_and_opencv_code():
    # TransWeather utils.calc_psnr: im[0].view(H, W, 3) on a CHW tensor, cv2 BGR2YCR_CB luma,
    # skimage PSNR with peak 1 (its default for non-negative float images).
    torch = pytest.importorskip("torch")
    cv2 = pytest.importorskip("cv2")
    clean = natural_image(32, 48)
    pred = np.clip(add_gaussian_noise(clean, 10, seed=1), 0, 1)

    def their_y(img):
        t = torch.from_numpy(img).permute(2, 0, 1)[None].contiguous()
        im = t[0].view(t.shape[2], t.shape[3], 3).numpy()
        return cv2.cvtColor(im, cv2.COLOR_BGR2YCR_CB)[:, :, 0]

    expected = skm.peak_signal_noise_ratio(their_y(pred), their_y(clean), data_range=1)
    assert abs(metrics.psnr_transweather(pred, clean) - expected) < 1e-4
    # ... and it is not the plain Y PSNR: the .view scrambles pixels across columns
    assert abs(metrics.psnr_transweather(pred, clean) - metrics.psnr(pred, clean, y_channel=True)) > 0.01
