"""What a task is: its levels, its protocol, its degradation, and how its inputs reach a model.

A task subclasses :class:`Task`, overrides what differs, and registers one instance
(:func:`semanir.tasks.register`). Inference, restoration, evaluation and the CLI ask the task
object; none of them compares task names.
"""

from __future__ import annotations

import numpy as np

from ..data.protocols import Protocol, task_names, task_spec
from ..errors import UsageError


class Task:
    name: str = ""
    description: str = ""
    title: str = ""  # what a preset of the task undoes, in a person's words ("noise", "JPEG artifacts")
    level_name: str = ""  # what a level is called in those words ("sigma", "quality")
    levels: tuple = ()  # the levels get_protocol accepts besides a blind range; () = no levels
    default_level = None  # the level when none is given
    table_levels: tuple = (None,)  # the levels the paper's tables report (a benchmark set's protocols)
    blind_range: tuple | None = None  # (low, high) of the "blind" level; None: no blind level
    range_bounds: tuple | None = None  # what a user's (low, high) level range must lie within
    gray: bool = False  # defined on 1-channel images as well as RGB
    paired: bool = False  # inputs are files (deblur, weather), not made by degrade(); see is_paired
    metric: str = "standard"  # "standard" or "transweather" (see Protocol.evaluate)
    clips_inputs: bool = False  # a share of training inputs may be clipped to 8 bits (data.train.clip_fraction)
    default_preset: str = ""  # the shipped weights `--task NAME` loads (its file may not exist)

    # --- the protocol ---------------------------------------------------------------------------

    def protocol(self, level=None, channels: int = 3) -> Protocol:
        """The protocol at ``level`` (None: the default level); a ``(low, high)`` pair is a blind
        level drawn from that range."""
        if channels not in (1, 3):
            raise UsageError(f"channels must be 1 or 3, got {channels}")
        if channels == 1 and not self.gray:
            raise UsageError(f"{self.name} is defined on RGB images only (channels=3)")
        if level is None:
            level = self.default_level
        blind_range = None
        if isinstance(level, (list, tuple)):
            blind_range = self.check_range(level)
            level = "blind"
        self.check_level(level)
        return Protocol(
            task=self.name,
            level=level,
            channels=channels,
            y_channel=self.y_channel(channels),
            crop_border=self.crop_border(level),
            paired=self.is_paired(level),
            metric=self.metric,
            blind_range=blind_range,
        )

    def check_level(self, level) -> None:
        allowed = self.levels + (("blind",) if self.blind_range else ())
        if allowed:
            if level not in allowed:
                raise UsageError(f"{self.name} level must be one of {allowed}, got {level!r}")
        elif level is not None:
            raise UsageError(f"{self.name} has no levels, got {level!r}")

    def check_range(self, level) -> tuple:
        if self.range_bounds is None or len(level) != 2:
            ranged = " or ".join(name for name in task_names() if task_spec(name).range_bounds)
            raise UsageError(f"a (low, high) level range applies to {ranged} only, got {self.name} {list(level)}")
        kind = type(self.range_bounds[0])
        low, high = (kind(v) for v in level)
        if not self.range_bounds[0] <= low <= high <= self.range_bounds[1]:
            raise UsageError(f"{self.name} level range must satisfy {self.range_bounds[0]} <= low <= high <= "
                             f"{self.range_bounds[1]}, got {list(level)}")  # fmt: skip
        return (low, high)

    def describe_level(self, level) -> str:
        """A preset's trained level (its weights' ``level``: a blind range, a level or None) in words."""
        if isinstance(level, (list, tuple)) and len(level) == 2:
            return f"{self.level_name} {level[0]:g}-{level[1]:g}"
        return "" if level is None else f"{self.level_name} {level}".strip()

    def is_paired(self, level) -> bool:
        """Whether inputs at ``level`` are files rather than made by :meth:`degrade`."""
        return self.paired

    def y_channel(self, channels: int) -> bool:
        """Scored on MATLAB Y: gray images are their own Y."""
        return channels == 1

    def crop_border(self, level) -> int:
        return 0

    def scale(self, level) -> int:
        """Output size over input size."""
        return 1

    def prepare_clean(self, protocol: Protocol, img: np.ndarray) -> np.ndarray:
        """The ground truth as scored, from an image already in the protocol's channels."""
        return img

    def degrade(self, protocol: Protocol, clean: np.ndarray, seed) -> np.ndarray:
        """The network input made from a prepared HxWxC clean image; deterministic given ``seed``."""
        raise AssertionError(f"{self.name} makes no synthetic inputs")

    def baseline(self, protocol: Protocol, degraded: np.ndarray) -> np.ndarray:
        """The degraded input as a restored image (the first row of every table)."""
        return degraded

    # --- models and inputs ----------------------------------------------------------------------

    def leave_as_is(self, image) -> str | None:
        """Why a file (an :class:`~semanir.data.io.ImageFile`) is better returned unchanged than
        restored by this task's presets, or None."""
        return None

    def check_model_scale(self, model_scale: int, model_name: str, scale: int | None = None) -> None:
        """Refuse a model whose output size does not fit the task (``scale``: the protocol's, if any)."""
        if model_scale != 1:
            raise UsageError(f"{model_name} upscales x{model_scale}; task {self.name} needs same-size output")

    def passes(self, degraded) -> int:
        """How many model passes :meth:`restore` may make on the (B, C, H, W) tensor ``degraded``."""
        return 1

    def restore(self, run, degraded, passes: int | None = None):
        """``degraded`` (a (B, C, H, W) tensor) restored, given ``run``: one pass of the model, tensor
        in, tensor out. Denoising runs clipped inputs twice (see ``tasks.denoise``); ``passes``:
        :meth:`passes`'s answer where the caller already asked it, so that it is not worked out twice."""
        return run(degraded)

    def raw_views(self, pixels: np.ndarray, bayer_pattern: str):
        """None when the model takes ``pixels`` as they are; else ``view(turns, mirror)`` making the
        model's input from them for one view of the 8 of self-ensemble: (HxWxC input, top, left), the
        rows and columns to crop from its result. Demosaicking uses it for 1-channel mosaics."""

    def ensemble_views(self, degraded: np.ndarray):
        """Like :meth:`raw_views`, for a protocol's degraded input under self-ensemble; None: the
        ordinary 8 turns and mirrors of the input."""
