"""Super-resolution: MATLAB bicubic x2/x3/x4 of the modcropped HR; scored on Y, border = scale."""

from __future__ import annotations

from ..data.degradations import bicubic_downscale, bicubic_upscale
from ..data.resize import modcrop
from ..errors import UsageError
from .base import Task
from .registry import register

SR_SCALES = (2, 3, 4)


class SuperResolution(Task):
    name = "sr"
    description = "MATLAB bicubic x2/x3/x4 of the modcropped HR; scored on Y (MATLAB BT.601), crop = scale"
    title = "super-resolution"
    levels = SR_SCALES
    default_level = 4
    table_levels = SR_SCALES
    default_preset = "sr"

    def describe_level(self, level) -> str:
        return f"x{level}"

    def y_channel(self, channels: int) -> bool:
        return True

    def crop_border(self, level) -> int:
        return int(level)

    def scale(self, level) -> int:
        return int(level)

    def prepare_clean(self, protocol, img):
        return modcrop(img, protocol.scale)

    def degrade(self, protocol, clean, seed):
        return bicubic_downscale(clean, protocol.scale)

    def baseline(self, protocol, degraded):
        return bicubic_upscale(degraded, protocol.scale)

    def check_model_scale(self, model_scale: int, model_name: str, scale: int | None = None) -> None:
        fits = model_scale == scale if scale else model_scale > 1
        if not fits:
            need = f"x{scale}" if scale else "an upscaling model"
            raise UsageError(f"{model_name} upscales x{model_scale}; task {self.name} needs {need}")


register(SuperResolution())
