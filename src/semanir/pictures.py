"""Side-by-side crops for ``semanir test --save``: degraded | restored | ground truth, labelled.

numpy and Pillow only (both are dependencies already): a picture per image needs no plotting library.
"""

from __future__ import annotations

import numpy as np

CROP = 192  # output pixels per side of the crop
MIN_PANEL = 192  # smaller crops are enlarged by whole pixels up to at least this
GAP = 6
BAND = 24  # the label's strip above each panel
BACKGROUND = (32, 34, 40)


def detail_crop(image: np.ndarray, size: int = CROP) -> tuple[slice, slice]:
    """The ``size`` x ``size`` window (smaller images: all of it) with the most detail, measured as the
    summed absolute differences between neighbouring pixels; ties go to the top left."""
    gray = image.mean(axis=2) if image.ndim == 3 else image
    h, w = gray.shape
    ch, cw = min(size, h), min(size, w)
    energy = np.abs(np.diff(gray, axis=0, append=gray[-1:])) + np.abs(np.diff(gray, axis=1, append=gray[:, -1:]))
    table = np.pad(energy.astype(np.float64).cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    sums = table[ch:, cw:] - table[:-ch, cw:] - table[ch:, :-cw] + table[:-ch, :-cw]
    y, x = np.unravel_index(int(np.argmax(sums)), sums.shape)
    return slice(y, y + ch), slice(x, x + cw)


def _rgb8(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8:
        image = np.floor(np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    if image.ndim == 2:
        image = image[..., None]
    return np.repeat(image, 3, axis=2) if image.shape[2] == 1 else image[..., :3]


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)  # Pillow >= 10.1 with FreeType: a scalable font
    except (TypeError, OSError, AttributeError):
        return ImageFont.load_default()


def side_by_side(panels: list[tuple[np.ndarray, str]]) -> np.ndarray:
    """HxWx3 uint8: the panels (same size; float in [0, 1] or uint8, gray or RGB) in a row, each
    under its label, enlarged by whole pixels when smaller than MIN_PANEL."""
    from PIL import Image, ImageDraw

    images = [_rgb8(image) for image, _ in panels]
    h, w = images[0].shape[:2]
    if any(image.shape[:2] != (h, w) for image in images):
        raise ValueError(f"panels differ in size: {[image.shape[:2] for image in images]}")
    zoom = max(1, -(-MIN_PANEL // max(h, w)))
    images = [image.repeat(zoom, axis=0).repeat(zoom, axis=1) for image in images]
    ph, pw = h * zoom, w * zoom
    width = len(images) * pw + (len(images) + 1) * GAP
    canvas = Image.new("RGB", (width, BAND + ph + GAP), BACKGROUND)
    draw, font = ImageDraw.Draw(canvas), _font(14)
    for i, (image, (_, label)) in enumerate(zip(images, panels, strict=True)):
        left = GAP + i * (pw + GAP)
        canvas.paste(Image.fromarray(image), (left, BAND))
        draw.text((left + 2, 4), label, fill=(240, 240, 240), font=font)
    return np.asarray(canvas)


def comparison(degraded: np.ndarray, restored: np.ndarray, target: np.ndarray, psnr_degraded: float,
               psnr_restored: float) -> np.ndarray:  # fmt: skip
    """degraded | restored | ground truth on the ground truth's most detailed crop; the PSNRs are the
    whole images' (the degraded one as shown: clipped, 8 bits)."""
    rows, cols = detail_crop(target)
    return side_by_side([
        (degraded[rows, cols], f"degraded {psnr_degraded:.2f} dB"),
        (restored[rows, cols], f"restored {psnr_restored:.2f} dB"),
        (target[rows, cols], "ground truth"),
    ])  # fmt: skip
