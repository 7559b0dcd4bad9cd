"""PSNR and SSIM as the image-restoration field computes them (BasicSR/SwinIR/KAIR conventions).

Input convention: uint8 arrays are on the 0-255 scale, float arrays on [0, 1] (the project's image
convention); both are moved to float64 on the 0-255 scale before any arithmetic. Shapes HxW,
HxWx1 or HxWx3 (RGB), prediction first.

No hidden rounding: the metrics see exactly the values they are given. The field rounds restored
images to uint8 before measuring them (they are saved as PNG first); :meth:`Protocol.evaluate
<semanir.data.protocols.Protocol.evaluate>` does that with :func:`semanir.data.io.quantize`.
Degraded inputs (e.g. unclipped AWGN) are measured unrounded.

- Y channel: MATLAB ``rgb2ycbcr`` BT.601 luma, Y = 16 + (65.481 R + 128.553 G + 24.966 B) with
  R, G, B in [0, 1], i.e. the 16-235 "studio" range, *not* OpenCV's full-range JPEG YCrCb. Y is
  kept in float64 (BasicSR/SwinIR do not round it; MATLAB scripts that call rgb2ycbcr on uint8 do,
  which moves PSNR by about 0.01 dB). Gray images are their own Y.
- crop_border: pixels dropped on each side before measuring (the SR scale for SR).
- SSIM: Wang et al. 2004 with an 11x11 Gaussian window (sigma 1.5), C1 = (0.01*255)^2,
  C2 = (0.03*255)^2, population statistics, averaged over the "valid" region (5 pixels away from
  each border) and then over channels.
"""

from __future__ import annotations

import cv2
import numpy as np

from .errors import UsageError

# MATLAB rgb2ycbcr, Y row, for R, G, B in [0, 1] (ITU-R BT.601, 219 levels of luma).
_Y_WEIGHTS = np.array([65.481, 128.553, 24.966])
_Y_OFFSET = 16.0


def _to_255(img: np.ndarray) -> np.ndarray:
    img = np.asarray(img)
    if img.dtype == np.uint8:
        return img.astype(np.float64)
    if not np.issubdtype(img.dtype, np.floating):
        raise ValueError(f"metrics take uint8 (0-255) or float ([0, 1]) images, not {img.dtype}")
    if img.size and np.nanmax(np.abs(img)) > 10:
        # A [0, 1] image, even with unclipped noise or overshoot, never gets here; 0-255 floats do.
        raise ValueError("float images must be on the [0, 1] scale; this one looks like 0-255 (pass uint8)")
    return img.astype(np.float64) * 255.0


def _hwc(img: np.ndarray) -> np.ndarray:
    if img.ndim == 2:
        return img[..., None]
    if img.ndim == 3 and img.shape[2] in (1, 3):
        return img
    raise ValueError(f"expected an HxW, HxWx1 or HxWx3 image, got shape {img.shape}")


def rgb_to_y(img: np.ndarray) -> np.ndarray:
    """MATLAB ``rgb2ycbcr`` Y of an RGB image (uint8 or [0, 1] float): HxW float64 in [16, 235]."""
    rgb = _to_255(img)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"rgb_to_y expects an HxWx3 RGB image, got shape {rgb.shape}")
    return rgb @ (_Y_WEIGHTS / 255.0) + _Y_OFFSET


def _prepare(pred, target, crop_border: int, y_channel: bool) -> tuple[np.ndarray, np.ndarray]:
    pred, target = np.asarray(pred), np.asarray(target)
    if pred.shape != target.shape:
        raise ValueError(f"prediction {pred.shape} and target {target.shape} differ in shape")
    a, b = _hwc(_to_255(pred)), _hwc(_to_255(target))
    if crop_border < 0:
        raise ValueError(f"crop_border must be >= 0, got {crop_border}")
    if crop_border:
        if min(a.shape[:2]) <= 2 * crop_border:
            raise UsageError(f"crop_border {crop_border} leaves nothing of a {a.shape[0]}x{a.shape[1]} image")
        a = a[crop_border:-crop_border, crop_border:-crop_border]
        b = b[crop_border:-crop_border, crop_border:-crop_border]
    if y_channel and a.shape[2] == 3:
        a = (a @ (_Y_WEIGHTS / 255.0) + _Y_OFFSET)[..., None]
        b = (b @ (_Y_WEIGHTS / 255.0) + _Y_OFFSET)[..., None]
    return a, b


def psnr(pred: np.ndarray, target: np.ndarray, crop_border: int = 0, y_channel: bool = False) -> float:
    """Peak signal-to-noise ratio in dB, peak 255, MSE over all pixels and channels."""
    a, b = _prepare(pred, target, crop_border, y_channel)
    mse = float(np.mean((a - b) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0**2 / mse)


def _ssim_channel(a: np.ndarray, b: np.ndarray) -> float:
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    g = cv2.getGaussianKernel(11, 1.5, cv2.CV_64F)
    window = g @ g.T

    def blur(x):  # only "valid" outputs are kept, so the border rule never matters
        return cv2.filter2D(x, cv2.CV_64F, window, borderType=cv2.BORDER_REFLECT)[5:-5, 5:-5]

    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a**2
    var_b = blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    ssim_map = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return float(ssim_map.mean())


def ssim(pred: np.ndarray, target: np.ndarray, crop_border: int = 0, y_channel: bool = False) -> float:
    """Structural similarity (Gaussian 11x11, sigma 1.5, valid region), mean over channels."""
    a, b = _prepare(pred, target, crop_border, y_channel)
    if min(a.shape[:2]) < 11:
        raise UsageError(f"SSIM needs at least 11x11 pixels after cropping, got {a.shape[0]}x{a.shape[1]}")
    return float(np.mean([_ssim_channel(a[..., c], b[..., c]) for c in range(a.shape[2])]))


def psnr_transweather(pred: np.ndarray, target: np.ndarray) -> float:
    """PSNR exactly as TransWeather's ``calc_psnr`` (utils.py) computes it, for the weather tables.

    TransWeather takes the float [0, 1] network output unrounded and unclipped, reinterprets the
    CHW tensor's memory as HxWx3 with ``.view`` (not ``.permute``: each "pixel" is three
    consecutive samples of one color plane), takes OpenCV's full-range luma of that
    (0.299, 0.587, 0.114 on the reinterpreted B, G, R order) and measures PSNR with peak 1.
    SemanIR's Table 8 follows this code ("the same PSNR evaluation metric used in Transweather"),
    so we reproduce it rather than correct it. Inputs: HxWx3 RGB float in [0, 1]. One case is not
    reproduced: the scikit-image of that time (``compare_psnr``) took the peak from the
    prediction's dtype range, 1 for non-negative floats but 2 if any predicted value was negative
    (possible with TransWeather's tanh output); we always use 1.
    """
    vals = []
    for img in (pred, target):
        img = np.asarray(img, dtype=np.float64)
        if img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(f"psnr_transweather expects HxWx3 RGB images, got shape {img.shape}")
        h, w = img.shape[:2]
        fake = np.ascontiguousarray(img.transpose(2, 0, 1)).reshape(h, w, 3)  # torch .view(H, W, 3)
        vals.append(fake @ np.array([0.114, 0.587, 0.299]))  # cv2 BGR2YCrCb luma on that memory
    if vals[0].shape != vals[1].shape:
        raise ValueError(f"prediction {np.shape(pred)} and target {np.shape(target)} differ in shape")
    mse = float(np.mean((vals[0] - vals[1]) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(1.0 / mse)
