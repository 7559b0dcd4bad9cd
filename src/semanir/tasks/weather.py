"""Adverse weather removal: paired files (Test1, Snow100K-L, RainDrop), TransWeather's PSNR."""

from __future__ import annotations

from .base import Task
from .registry import register


class Weather(Task):
    name = "weather"
    description = "paired files (Test1, Snow100K-L, RainDrop); TransWeather's PSNR (see metrics)"
    title = "rain, snow and raindrops"
    paired = True
    metric = "transweather"
    default_preset = "weather"


register(Weather())
