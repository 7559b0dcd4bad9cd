"""MATLAB-exact bicubic ``imresize`` and ``modcrop``.

Every SR paper since SRCNN makes its LR images with MATLAB's ``imresize(hr, 1/s, 'bicubic')``;
OpenCV's and PIL's bicubic filters differ from it (kernel a=-0.75, no antialiasing, other border
rules), which alone costs tenths of a dB. This follows MATLAB's ``contributions`` routine:

- cubic kernel with a = -0.5 (Keys), support 4 input pixels;
- on downscaling (scale < 1) the kernel is stretched by 1/scale and scaled by `scale`
  (antialiasing), so x4 downscaling averages 16 input pixels per axis;
- output pixel x (1-based) samples the input at u = x/scale + 0.5 * (1 - 1/scale);
- taps that fall outside the image are folded back with "symmetric" padding (the edge pixel is
  repeated: ... b a | a b c ... c | c b ...);
- each output pixel's weights are normalised to sum to 1.

The weights of one axis form a dense (out x in) matrix, so resizing is two matrix products in
float64. uint8 input gives uint8 output rounded as MATLAB does (half away from zero, saturated).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from ..errors import UsageError


def _cubic(x: np.ndarray) -> np.ndarray:
    ax = np.abs(x)
    ax2, ax3 = ax * ax, ax * ax * ax
    near = (1.5 * ax3 - 2.5 * ax2 + 1.0) * (ax <= 1)
    far = (-0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0) * ((ax > 1) & (ax <= 2))
    return near + far


@lru_cache(maxsize=64)
def _weight_matrix(in_len: int, out_len: int, scale: float) -> np.ndarray:
    width = 4.0
    if scale < 1:  # antialiasing: a wider, lower kernel
        width /= scale

        def kernel(x):
            return scale * _cubic(scale * x)
    else:
        kernel = _cubic
    x = np.arange(1, out_len + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1.0 - 1.0 / scale)
    left = np.floor(u - width / 2.0)
    taps = int(math.ceil(width)) + 2
    idx = left[:, None] + np.arange(taps)[None, :]  # 1-based input positions
    w = kernel(u[:, None] - idx)
    w /= w.sum(axis=1, keepdims=True)
    mirror = np.concatenate([np.arange(in_len), np.arange(in_len)[::-1]])  # symmetric padding
    cols = mirror[np.mod(idx.astype(np.int64) - 1, 2 * in_len)]
    matrix = np.zeros((out_len, in_len))
    np.add.at(matrix, (np.repeat(np.arange(out_len), taps), cols.ravel()), w.ravel())
    matrix.setflags(write=False)
    return matrix


def _out_len(in_len: int, scale: float) -> int:
    # MATLAB: ceil(scale * size); the tolerance keeps 1/3 * 255 at 85, not 86.
    return int(math.ceil(in_len * scale - 1e-9))


def imresize(img: np.ndarray, scale: float) -> np.ndarray:
    """Resize an HxW or HxWxC image by `scale` (0.25 = x4 down, 3 = x3 up) like MATLAB's imresize.

    float input returns the same float dtype (no clipping, no rounding); uint8 input returns uint8.
    """
    img = np.asarray(img)
    if img.ndim not in (2, 3):
        raise ValueError(f"imresize expects an HxW or HxWxC image, got shape {img.shape}")
    if not scale > 0:
        raise ValueError(f"scale must be positive, got {scale}")
    h, w = img.shape[:2]
    out_h, out_w = _out_len(h, scale), _out_len(w, scale)
    if min(out_h, out_w) < 1:
        raise UsageError(f"scale {scale} turns a {h}x{w} image into nothing")
    x = img.astype(np.float64)
    x = np.tensordot(_weight_matrix(h, out_h, float(scale)), x, axes=(1, 0))  # rows first, as MATLAB
    x = np.moveaxis(
        np.tensordot(_weight_matrix(w, out_w, float(scale)), np.moveaxis(x, 1, 0), axes=(1, 0)), 0, 1
    )
    if img.dtype == np.uint8:
        return np.floor(np.clip(x, 0, 255) + 0.5).astype(np.uint8)
    if np.issubdtype(img.dtype, np.floating):
        return x.astype(img.dtype, copy=False)
    raise ValueError(f"imresize supports uint8 and float images, not {img.dtype}")


def modcrop(img: np.ndarray, scale: int) -> np.ndarray:
    """Crop the bottom/right so height and width are multiples of `scale` (MATLAB's modcrop)."""
    h, w = img.shape[:2]
    if h < scale or w < scale:
        raise UsageError(f"image {h}x{w} is smaller than the scale {scale}")
    return img[: h - h % scale, : w - w % scale, ...]
