"""STAND-IN for torchvision: NOT torchvision. Used only by ``semanir bench peers``.

spandrel's package ``__init__`` imports every architecture it supports, and two of them (LaMa,
RestoreFormer) import ``torchvision.transforms.functional`` at import time. torchvision has no CPU
build matching our torch here, and none of the architectures benchmarked (SwinIR, HAT, Restormer)
calls it. ``install()`` puts this minimal module in ``sys.modules`` only when the real torchvision
is missing: the names those imports need exist, ``normalize`` works, anything else raises.
"""

from __future__ import annotations

import enum
import importlib.util
import sys
import types

import torch


class InterpolationMode(enum.Enum):
    NEAREST = "nearest"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"


def normalize(tensor: torch.Tensor, mean, std, inplace: bool = False) -> torch.Tensor:
    mean = torch.as_tensor(mean, dtype=tensor.dtype, device=tensor.device).view(-1, 1, 1)
    std = torch.as_tensor(std, dtype=tensor.dtype, device=tensor.device).view(-1, 1, 1)
    return tensor.sub_(mean).div_(std) if inplace else (tensor - mean) / std


def rotate(*args, **kwargs):
    raise NotImplementedError("semanir's torchvision stand-in does not implement rotate (install torchvision)")


def install() -> bool:
    """Register the stand-in if torchvision is not installed; True when it was registered."""
    if "torchvision" in sys.modules or importlib.util.find_spec("torchvision") is not None:
        return False
    root = types.ModuleType("torchvision")
    root.__doc__ = __doc__
    root.__semanir_standin__ = True
    transforms = types.ModuleType("torchvision.transforms")
    functional = types.ModuleType("torchvision.transforms.functional")
    functional.InterpolationMode = InterpolationMode
    functional.normalize = normalize
    functional.rotate = rotate
    transforms.functional = functional
    transforms.InterpolationMode = InterpolationMode
    root.transforms = transforms
    sys.modules.update({"torchvision": root, "torchvision.transforms": transforms, "torchvision.transforms.functional": functional})
    return True
