"""Denoising: additive white Gaussian noise, unclipped, at a sigma or drawn from a blind range."""

from __future__ import annotations

from ..data.degradations import add_blind_gaussian_noise, add_gaussian_noise
from .base import Task
from .registry import register

NOISE_LEVELS = (15, 25, 50, 75)
# One model for all levels: sigma uniform in [0, 75] (FFDNet/KAIR's blind range, covering the
# paper's 15..75).
BLIND_SIGMA_RANGE = (0.0, 75.0)


class Denoise(Task):
    name = "denoise"
    description = "clean + AWGN sigma 15/25/50/75, unclipped; scored on RGB (color) or the gray image"
    title = "noise"
    level_name = "sigma"
    levels = NOISE_LEVELS
    default_level = 25
    table_levels = NOISE_LEVELS[:3]
    blind_range = BLIND_SIGMA_RANGE
    range_bounds = (0.0, 255.0)
    gray = True
    clips_inputs = True
    default_preset = "denoise"

    def degrade(self, protocol, clean, seed):
        if protocol.level == "blind":
            return add_blind_gaussian_noise(clean, protocol.blind_range or self.blind_range, seed)[0]
        return add_gaussian_noise(clean, float(protocol.level), seed)


register(Denoise())
