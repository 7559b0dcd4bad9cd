"""JPEG artifact removal: OpenCV's libjpeg at a quality factor, or one drawn from a blind range."""

from __future__ import annotations

from ..data.degradations import jpeg_compress, jpeg_compress_blind
from .base import Task
from .registry import register

JPEG_QUALITIES = (10, 20, 30, 40)  # the tables; Fig. 5 also evaluates 50..90
# One model for all levels: QF an integer in [10, 90] (the paper's Sec. 4 "QF set to [10, ..., 90]").
BLIND_QUALITY_RANGE = (10, 90)
# Files this mild come back unchanged: the presets cannot return an image much closer than ~42 dB to
# their input, so a near-lossless JPEG loses. Measured on 4 held-out photos and the test crop
# (benchmarks/jpeg.md): at quality 88 / 90 / 92 / 95, jpeg +0.33 / -0.07 / -0.54 / -1.59 dB on
# average and jpeg_gray +0.02 / -0.47 / -1.10 / -2.98.
AS_IS_QUALITY = 90


class Jpeg(Task):
    name = "jpeg"
    description = "OpenCV JPEG at QF 10/20/30/40; scored on RGB (color) or Y = the gray image (gray)"
    title = "JPEG artifacts"
    level_name = "quality"
    levels = tuple(range(10, 100, 10))
    default_level = 40
    table_levels = JPEG_QUALITIES
    blind_range = BLIND_QUALITY_RANGE
    range_bounds = (1, 100)
    gray = True
    default_preset = "jpeg"

    def leave_as_is(self, image):
        quality = image.jpeg_quality
        if quality is not None and quality >= AS_IS_QUALITY:
            return f"a JPEG of quality {quality} (>= {AS_IS_QUALITY}) has too few artifacts to gain from restoring"
        return None

    def degrade(self, protocol, clean, seed):
        if protocol.level == "blind":
            return jpeg_compress_blind(clean, protocol.blind_range or self.blind_range, seed)[0]
        return jpeg_compress(clean, int(protocol.level))


register(Jpeg())
