"""Restoration tasks, one module each: its levels, degradation, scoring protocol, input adaptation,
self-ensemble views and default preset. A new task is a module here plus its import below.

| task     | input                                        | metric                                  |
|----------|----------------------------------------------|-----------------------------------------|
| denoise  | clean + AWGN sigma 15/25/50/75, unclipped    | RGB (color) / the gray image (gray)     |
| jpeg     | OpenCV JPEG at QF 10/20/30/40                | RGB (color) / Y = the gray image (gray) |
| sr       | MATLAB bicubic x2/x3/x4 of the modcropped HR | Y (MATLAB BT.601), crop = scale         |
| demosaic | RGGB mosaic, then MATLAB ``demosaic``        | RGB                                     |
| deblur   | paired files (GoPro, HIDE); synthetic shake  | RGB (synthetic: crop 15)                |
| weather  | paired files (Test1, Snow100K-L, RainDrop)   | TransWeather's PSNR (see metrics)       |
"""

# Importing a task's module registers it; this order is the order of list_tasks().
from . import denoise, jpeg, sr, demosaic, deblur, weather  # noqa: F401, I001
from .base import Task
from .registry import get_task, list_tasks, register

__all__ = ["Task", "get_task", "list_tasks", "register"]
