"""JPEG artifact removal: OpenCV's libjpeg at a quality factor, or one drawn from a blind range."""

from __future__ import annotations

from ..data.degradations import jpeg_compress, jpeg_compress_blind
from .base import Task
from .registry import register

JPEG_QUALITIES = (10, 20, 30, 40)  # the tables; Fig. 5 also evaluates 50..90
# One model for all levels: QF an integer in [10, 90] (the paper's Sec. 4 "QF set to [10, ..., 90]").
BLIND_QUALITY_RANGE = (10, 90)


class Jpeg(Task):
    name = "jpeg"
    description = "OpenCV JPEG at QF 10/20/30/40; scored on RGB (color) or Y = the gray image (gray)"
    levels = tuple(range(10, 100, 10))
    default_level = 40
    table_levels = JPEG_QUALITIES
    blind_range = BLIND_QUALITY_RANGE
    range_bounds = (1, 100)
    gray = True
    default_preset = "jpeg"

    def degrade(self, protocol, clean, seed):
        if protocol.level == "blind":
            return jpeg_compress_blind(clean, protocol.blind_range or self.blind_range, seed)[0]
        return jpeg_compress(clean, int(protocol.level))


register(Jpeg())
