"""The paper's synthetic degradations, one function per task, each deterministic given its inputs.

Images are float32 HxWx3 RGB or HxW / HxWx1 gray in [0, 1]. Functions that model an 8-bit file
(JPEG, bicubic LR, Bayer demosaic) return values on the 8-bit grid (k / 255); AWGN is left
unclipped and unrounded, as the denoising literature feeds it to the network.
"""

from __future__ import annotations

import hashlib

import cv2
import numpy as np

from ..metrics import rgb_to_y  # metrics owns the BT.601 coefficients
from ..errors import UsageError
from .io import quantize, to_float
from .resize import imresize, modcrop

BAYER_PATTERNS = ("RGGB", "BGGR", "GRBG", "GBRG")


def image_seed(base_seed: int, name: str) -> int:
    """A stable 63-bit seed for one image of a test set: SHA-256 of (base seed, file name).

    Python's ``hash`` of a str changes with every interpreter start (PYTHONHASHSEED), so it
    cannot make a test set's noise, and hence its PSNR, the same on every run.
    """
    digest = hashlib.sha256(f"{int(base_seed)}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def _rng(seed: int | np.random.Generator) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


# --- AWGN ------------------------------------------------------------------------------------


def add_gaussian_noise(img: np.ndarray, sigma: float, seed: int | np.random.Generator) -> np.ndarray:
    """img + N(0, (sigma/255)^2) per sample, sigma on the 0-255 scale; no clipping (as DnCNN/SwinIR)."""
    if sigma < 0:
        raise ValueError(f"noise sigma must be >= 0, got {sigma}")
    img = to_float(img)
    noise = _rng(seed).standard_normal(img.shape) * (sigma / 255.0)  # float64 draws
    return (img.astype(np.float64) + noise).astype(np.float32)


def add_blind_gaussian_noise(
    img: np.ndarray, sigma_range: tuple[float, float], seed: int | np.random.Generator
) -> tuple[np.ndarray, float]:
    """AWGN with sigma drawn uniformly from `sigma_range` (0-255 scale); returns (noisy, sigma)."""
    lo, hi = sigma_range
    if not 0 <= lo <= hi:
        raise ValueError(f"sigma range must satisfy 0 <= low <= high, got {sigma_range}")
    rng = _rng(seed)
    sigma = float(rng.uniform(lo, hi))
    return add_gaussian_noise(img, sigma, rng), sigma


# --- JPEG ------------------------------------------------------------------------------------


def to_gray_y(img: np.ndarray) -> np.ndarray:
    """Gray image as the JPEG-CAR literature makes it from a color one: MATLAB ``rgb2ycbcr`` Y
    (BT.601, 16-235 range), rounded to 8 bits, half up as MATLAB does. SwinIR's and KAIR's test
    scripts and GRL's loader call ``bgr2ycbcr(uint8, y_only=True)`` on LIVE1/BSDS500/Urban100;
    FBCNN ships those sets already converted. Returns HxW float32 on the 8-bit grid; gray input is
    returned as HxW unchanged. (Training: KAIR also mixes in OpenCV's full-range gray; we do not.)
    """
    img = to_float(img)
    if img.ndim == 2 or img.shape[2] == 1:
        return img.reshape(img.shape[:2])
    return (np.floor(rgb_to_y(img) + 0.5) / 255.0).astype(np.float32)


def jpeg_compress(img: np.ndarray, quality: int) -> np.ndarray:
    """Encode and decode with OpenCV's libjpeg at `quality` (1-100): SwinIR, KAIR, GRL and FBCNN all
    make their JPEG inputs with ``cv2.imencode`` / ``cv2.imdecode``.

    Color images are encoded as 3-channel JPEG (YCbCr 4:2:0, OpenCV's default); gray images
    (HxW or HxWx1) as 1-channel JPEG. To make the gray version of a color image, call
    :func:`to_gray_y` first. The input is rounded to 8 bits first; the output keeps the input's layout.
    """
    if not 1 <= int(quality) <= 100:
        raise ValueError(f"JPEG quality must be in [1, 100], got {quality}")
    img = np.asarray(img)
    if img.ndim == 3 and img.shape[2] not in (1, 3):
        raise ValueError(f"jpeg_compress expects gray or RGB, got shape {img.shape}")
    u8 = quantize(to_float(img), 8)
    color = u8.ndim == 3 and u8.shape[2] == 3
    src = u8[..., ::-1] if color else u8.reshape(u8.shape[:2])  # RGB -> BGR
    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(src), [int(cv2.IMWRITE_JPEG_QUALITY), int(quality)])
    if not ok:
        raise RuntimeError("OpenCV failed to encode JPEG")
    out = cv2.imdecode(buf, cv2.IMREAD_COLOR if color else cv2.IMREAD_GRAYSCALE)
    out = out[..., ::-1] if color else out.reshape(img.shape)
    return to_float(np.ascontiguousarray(out))


def jpeg_compress_blind(
    img: np.ndarray, quality_range: tuple[int, int], seed: int | np.random.Generator
) -> tuple[np.ndarray, int]:
    """JPEG at a quality drawn uniformly from the integers in `quality_range` (inclusive)."""
    lo, hi = quality_range
    if not 1 <= lo <= hi <= 100:
        raise ValueError(f"quality range must satisfy 1 <= low <= high <= 100, got {quality_range}")
    quality = int(_rng(seed).integers(lo, hi + 1))
    return jpeg_compress(img, quality), quality


# --- SR --------------------------------------------------------------------------------------


def bicubic_downscale(hr: np.ndarray, scale: int) -> np.ndarray:
    """LR image as SR benchmarks store it: modcrop, MATLAB ``imresize(hr, 1/scale)``, 8-bit rounding.

    The HR is rounded to 8 bits first, as MATLAB reads it from a PNG. Pair the result with
    ``modcrop(hr, scale)``.
    """
    if int(scale) != scale or scale < 1:
        raise ValueError(f"SR scale must be a positive integer, got {scale}")
    hr8 = quantize(to_float(hr), 8)
    return to_float(imresize(modcrop(hr8, int(scale)), 1.0 / scale))


def bicubic_upscale(lr: np.ndarray, scale: int) -> np.ndarray:
    """MATLAB bicubic upscaling of an LR image (the 'Bicubic' baseline row), rounded to 8 bits."""
    return to_float(imresize(quantize(to_float(lr), 8), float(scale)))


# --- Demosaicking ----------------------------------------------------------------------------


def _pattern_offsets(pattern: str) -> dict[str, list[tuple[int, int]]]:
    pattern = pattern.upper()
    if pattern not in BAYER_PATTERNS:
        raise UsageError(f"unknown Bayer pattern {pattern!r} (use one of {', '.join(BAYER_PATTERNS)})")
    where: dict[str, list[tuple[int, int]]] = {"R": [], "G": [], "B": []}
    for letter, offset in zip(pattern, [(0, 0), (0, 1), (1, 0), (1, 1)], strict=True):
        where[letter].append(offset)
    return where


def _color_sites(shape: tuple[int, ...], pattern: str) -> np.ndarray:
    """HxW map of the channel (0 R, 1 G, 2 B) a Bayer sensor of ``pattern`` samples at each pixel."""
    sites = np.empty(shape[:2], np.int8)
    for channel, letter in enumerate("RGB"):
        for dy, dx in _pattern_offsets(pattern)[letter]:
            sites[dy::2, dx::2] = channel
    return sites


def bayer_mosaic(img: np.ndarray, pattern: str = "RGGB") -> np.ndarray:
    """Keep one color per pixel as a Bayer sensor does; `pattern` names the top-left 2x2 block
    row by row. Returns an HxW float32 CFA image."""
    img = to_float(img)
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"bayer_mosaic expects an RGB image, got shape {img.shape}")
    return np.take_along_axis(img, _color_sites(img.shape, pattern)[..., None], axis=2)[..., 0]


def transform_mosaic(cfa: np.ndarray, pattern: str, turns: int, mirror: bool) -> tuple[np.ndarray, str]:
    """Rotate a Bayer mosaic by ``turns`` quarter turns (then mirror left-right if asked) and name the
    layout it has then: every view of a Bayer grid is a Bayer grid, but which one depends on the
    image's size as well as the turn, so it is read off the transformed map of color sites."""
    sites = _color_sites(np.asarray(cfa).shape, pattern)

    def view(a: np.ndarray) -> np.ndarray:
        a = np.rot90(a, turns, axes=(0, 1))
        return a[:, ::-1] if mirror else a

    sites = view(sites)
    layout = "".join("RGB"[sites[y, x]] for y, x in ((0, 0), (0, 1), (1, 0), (1, 1)))
    return np.ascontiguousarray(view(cfa)), layout


def pad_to_rggb(cfa: np.ndarray, pattern: str) -> tuple[np.ndarray, int, int]:
    """Re-phase any Bayer layout as RGGB by mirroring one row and/or column in at the top/left.

    The mirror skips the edge pixel (``b | a b``), so each added sample is a real sample of the
    color the grid wants there. Returns the padded CFA and the (top, left) rows/columns to crop
    from a result to get back to the input's frame. Lets a model trained on RGGB serve all four.
    """
    top, left = _pattern_offsets(pattern)["R"][0]
    cfa = np.asarray(cfa)
    if cfa.ndim == 3 and cfa.shape[2] == 1:
        cfa = cfa[..., 0]
    if cfa.ndim != 2 or min(cfa.shape) < 2:
        raise ValueError(f"a Bayer mosaic must be an HxW image of at least 2x2, got shape {cfa.shape}")
    return np.pad(cfa, ((top, 0), (left, 0)), mode="reflect"), top, left


# Malvar-He-Cutler (2004) 5x5 gradient-corrected filters, in eighths. All are symmetric, so
# OpenCV's correlation equals convolution.
_G_AT_RB = (
    np.array(
        [[0, 0, -1, 0, 0], [0, 0, 2, 0, 0], [-1, 2, 4, 2, -1], [0, 0, 2, 0, 0], [0, 0, -1, 0, 0]], np.float64
    )
    / 8
)
# R at a green pixel whose row holds R (B likewise in B rows): horizontal neighbours count.
_RB_AT_G_SAME_ROW = (
    np.array(
        [[0, 0, 0.5, 0, 0], [0, -1, 0, -1, 0], [-1, 4, 5, 4, -1], [0, -1, 0, -1, 0], [0, 0, 0.5, 0, 0]],
        np.float64,
    )
    / 8
)
_RB_AT_G_SAME_COL = _RB_AT_G_SAME_ROW.T
_RB_AT_BR = (
    np.array(
        [[0, 0, -1.5, 0, 0], [0, 2, 0, 2, 0], [-1.5, 0, 6, 0, -1.5], [0, 2, 0, 2, 0], [0, 0, -1.5, 0, 0]],
        np.float64,
    )
    / 8
)


def demosaic_malvar(cfa: np.ndarray, pattern: str = "RGGB", rounding: str = "floor") -> np.ndarray:
    """MATLAB ``demosaic(uint8 cfa, pattern)``: gradient-corrected linear interpolation (Malvar 2004).

    What MATLAB does (its code-generation source, ``demosaic.m``, spells it out):
    - borders: the CFA is padded by 2 pixels with "dual-tier" reflection centred on the edge pixel,
      which is not repeated (``c b | a b c``, OpenCV's BORDER_REFLECT_101). That keeps each padded
      pixel on the right color of the Bayer grid. (colour-demosaicing's Malvar2004 uses SciPy's
      default ``reflect`` mode, which repeats the edge and mixes colors in the outer 2 pixels.)
    - arithmetic on the integer samples in double precision, then a cast back to the input class
      with ``floor`` rounding, saturated to [0, 255].
    `rounding` is ``"floor"`` (MATLAB), ``"round"`` (half up) or ``"none"`` (float, unclipped).
    Input is HxW (or HxWx1) in [0, 1] on the 8-bit grid; output HxWx3 RGB float32.
    """
    if rounding not in ("floor", "round", "none"):
        raise ValueError(f"rounding must be 'floor', 'round' or 'none', got {rounding!r}")
    cfa = to_float(cfa)
    if cfa.ndim == 3 and cfa.shape[2] == 1:
        cfa = cfa[..., 0]
    if cfa.ndim != 2 or min(cfa.shape) < 5:
        raise ValueError(f"demosaic needs an HxW CFA image of at least 5x5, got shape {cfa.shape}")
    where = _pattern_offsets(pattern)
    x = quantize(cfa, 8).astype(np.float64)  # MATLAB works on the uint8 samples

    def filt(kernel):
        return cv2.filter2D(x, cv2.CV_64F, kernel, borderType=cv2.BORDER_REFLECT_101)

    g_at_rb, same_row, same_col, across = (
        filt(_G_AT_RB),
        filt(_RB_AT_G_SAME_ROW),
        filt(_RB_AT_G_SAME_COL),
        filt(_RB_AT_BR),
    )
    rgb = np.zeros((*x.shape, 3))
    (ry, rx), (by, bx) = where["R"][0], where["B"][0]
    for dy, dx in where["G"]:
        sl = (slice(dy, None, 2), slice(dx, None, 2))
        rgb[sl + (1,)] = x[sl]
        in_red_row = dy == ry  # this green shares its row with red pixels
        rgb[sl + (0,)] = (same_row if in_red_row else same_col)[sl]
        rgb[sl + (2,)] = (same_col if in_red_row else same_row)[sl]
    for (dy, dx), own, other in (((ry, rx), 0, 2), ((by, bx), 2, 0)):
        sl = (slice(dy, None, 2), slice(dx, None, 2))
        rgb[sl + (own,)] = x[sl]
        rgb[sl + (1,)] = g_at_rb[sl]
        rgb[sl + (other,)] = across[sl]
    if rounding == "none":
        return (rgb / 255.0).astype(np.float32)
    rounded = np.floor(rgb) if rounding == "floor" else np.floor(rgb + 0.5)
    return (np.clip(rounded, 0, 255) / 255.0).astype(np.float32)


def demosaic_bilinear(cfa: np.ndarray, pattern: str = "RGGB") -> np.ndarray:
    """Bilinear demosaicking: each missing color the mean of its nearest samples of that color (the
    simplest camera pipeline's). HxW float in, HxWx3 float32 out, unrounded and unclipped."""
    cfa = to_float(cfa)
    if cfa.ndim == 3 and cfa.shape[2] == 1:
        cfa = cfa[..., 0]
    sites = _color_sites(cfa.shape, pattern)
    rb = np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], np.float64) / 4
    g = np.array([[0, 1, 0], [1, 4, 1], [0, 1, 0]], np.float64) / 4
    # BORDER_REFLECT_101 keeps each reflected sample on its own color of the grid
    planes = [
        cv2.filter2D(np.where(sites == c, cfa, 0.0).astype(np.float64), cv2.CV_64F, g if c == 1 else rb,
                     borderType=cv2.BORDER_REFLECT_101)
        for c in range(3)
    ]  # fmt: skip
    return np.stack(planes, axis=2).astype(np.float32)


# --- Camera noise ----------------------------------------------------------------------------
# A camera adds its noise per sensor value, before demosaicking, which spreads each value's noise
# over its neighbours and the other channels; the file is then rounded to 8 bits or JPEG-compressed.
# A denoiser trained on white noise takes that correlated noise for texture and leaves it
# (benchmarks/probes/correlated_noise.py: +0.9 dB over the noisy file, CBM3D +4.3).
CAMERA_JPEG_QUALITY = (70, 95)


def camera_noise(
    clean: np.ndarray, sigma_range: tuple[float, float], seed: int | np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(noisy 8-bit file, truth) made from an RGB image as a camera would: its RGGB mosaic gets
    Gaussian noise of sigma drawn from ``sigma_range`` (0-255 scale, at mid-gray; its variance grows
    with the signal by a random share, as shot noise does), clipped, demosaicked (Malvar or
    bilinear, one each half of the time), then rounded to 8 bits or, half of the time,
    JPEG-compressed at a quality in CAMERA_JPEG_QUALITY. The truth is the noise-free mosaic
    demosaicked the same way: what is removed is the noise, not demosaicking's errors."""
    rng = _rng(seed)
    clean = to_float(clean)
    sigma, shot = float(rng.uniform(*sigma_range)) / 255.0, float(rng.random())
    mosaic = bayer_mosaic(clean).astype(np.float64)
    std = sigma * np.sqrt((1.0 - shot) + 2.0 * shot * mosaic)  # sigma at 0.5 whatever the share
    raw = np.clip(mosaic + std * rng.standard_normal(mosaic.shape), 0.0, 1.0)
    malvar = rng.random() < 0.5

    def demosaic(cfa: np.ndarray) -> np.ndarray:
        return np.clip(demosaic_malvar(cfa, rounding="none") if malvar else demosaic_bilinear(cfa), 0.0, 1.0)

    noisy = demosaic(raw)
    if rng.random() < 0.5:
        noisy = jpeg_compress(noisy, int(rng.integers(CAMERA_JPEG_QUALITY[0], CAMERA_JPEG_QUALITY[1] + 1)))
    return to_float(quantize(noisy)), demosaic(mosaic).astype(np.float32)
