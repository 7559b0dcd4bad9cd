"""Helpers shared by the data-layer tests: synthetic images and the optional real-data folder."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_data(need: str = "the real benchmark images") -> Path:
    """The real images (``SEMANIR_SHARED_DATA``, default ``<repo>/../shared/data``), or skip.

    The reason says what is missing and where it was looked for; pyproject's ``-rs`` prints it in
    the summary, so a run without the data says why its tests did not run."""
    root = Path(os.environ.get("SEMANIR_SHARED_DATA", REPO.parent / "shared" / "data"))
    if not (root / "benchmarks").is_dir():
        pytest.skip(f"needs {need}: no {root / 'benchmarks'} (set SEMANIR_SHARED_DATA to the folder holding benchmarks/)")
    return root


def benchmark_dir(name: str) -> Path:
    folder = shared_data(f"the real {name} images") / "benchmarks" / name
    if not folder.is_dir():
        pytest.skip(f"needs the real {name} images: no {folder}")
    return folder


def natural_image(h: int = 48, w: int = 64, channels: int = 3, seed: int = 0) -> np.ndarray:
    """A smooth, textured float32 image on the 8-bit grid: blurred noise plus gradients and an edge,
    so that JPEG, resizing and demosaicking behave as on photos (not as on white noise)."""
    rng = np.random.default_rng(seed)
    base = cv2.GaussianBlur(rng.random((h, w, channels)), (0, 0), 2.0).reshape(h, w, channels)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    img = 0.5 * (base - base.min()) / (np.ptp(base) + 1e-9) + 0.3 * xx[..., None] + 0.2 * yy[..., None]
    img[h // 3 :, w // 2 :] *= 0.6  # a sharp edge
    img = np.floor(np.clip(img, 0, 1) * 255 + 0.5) / 255
    return img.astype(np.float32).reshape(h, w, channels) if channels > 1 else img[..., 0].astype(np.float32)
