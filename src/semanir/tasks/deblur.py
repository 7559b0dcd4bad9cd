"""Motion deblurring: paired files (GoPro, HIDE), scored on RGB."""

from __future__ import annotations

from .base import Task
from .registry import register


class Deblur(Task):
    name = "deblur"
    description = "paired files (GoPro, HIDE); scored on RGB"
    paired = True
    default_preset = "deblur"


register(Deblur())
