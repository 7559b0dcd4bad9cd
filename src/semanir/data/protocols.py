"""The protocol of a task at a level: how the network input is made and how the output is scored.

Each task (``semanir.tasks``: one module per task) registers itself here and builds its
protocols; :func:`get_protocol` looks a task up by name. The registry lives in this module, below
the tasks, so that the data layer (datasets, benchmark sets) reaches a task without importing up.

The task table (settings of SemanIR App. A.1/A.5) is in :mod:`semanir.tasks`. Gray versions of
color images are MATLAB's Y rounded to 8 bits (:func:`to_gray_y`). Outputs are rounded to 8 bits
before scoring, as every compared method saves PNGs first -- except weather, where TransWeather
scores the float output before saving.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import metrics
from ..errors import UsageError
from .degradations import to_gray_y
from .io import quantize, to_float

# Tasks by name, in registration order (``semanir.tasks`` registers them when semanir is imported).
_TASKS: dict[str, object] = {}


def register_task(task) -> None:
    """Add a task object (a ``semanir.tasks.Task``) under its ``name``."""
    if task.name in _TASKS:
        raise ValueError(f"task {task.name!r} is already registered")
    _TASKS[task.name] = task


def task_names() -> tuple[str, ...]:
    return tuple(_TASKS)


def task_spec(name: str):
    """The registered task object called ``name``; a UsageError naming the known ones otherwise."""
    if name not in _TASKS:
        raise UsageError(f"unknown task {name!r} (use one of {', '.join(_TASKS)})")
    return _TASKS[name]


def __getattr__(name: str):
    # TASKS reads the registry when asked: the tasks register after this module is imported.
    if name == "TASKS":
        return task_names()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True)
class Protocol:
    task: str
    level: int | str | None  # sigma, quality factor, SR scale, "blind", or None
    channels: int  # 1 (gray) or 3 (RGB)
    y_channel: bool  # score on MATLAB Y (color images only; gray images are their own Y)
    crop_border: int
    paired: bool  # inputs come from files, not from degrade()
    metric: str = "standard"  # "standard" or "transweather"
    blind_range: tuple | None = None  # (low, high) of a blind level; None: the task's default range

    @property
    def spec(self):
        """The task object that made this protocol and owns its degradation."""
        return task_spec(self.task)

    @property
    def name(self) -> str:
        level = "" if self.level is None else f"_{self.level}"
        if self.blind_range is not None:
            level += f"{self.blind_range[0]:g}-{self.blind_range[1]:g}"
        return f"{self.task}{level}_{'gray' if self.channels == 1 else 'rgb'}"

    @property
    def scale(self) -> int:
        return self.spec.scale(self.level)

    def to_channels(self, img: np.ndarray) -> np.ndarray:
        """An RGB or gray image in this protocol's channel layout, HxWxC float32."""
        img = to_float(img)
        gray = img.ndim == 2 or img.shape[2] == 1
        if self.channels == 1:
            return to_gray_y(img)[..., None]
        return np.repeat(img.reshape(*img.shape[:2], 1), 3, axis=2) if gray else img

    def prepare_clean(self, img: np.ndarray) -> np.ndarray:
        """The ground truth as scored: channel layout, and what the task does to it (SR: modcrop)."""
        return self.spec.prepare_clean(self, self.to_channels(img))

    def degrade(self, clean: np.ndarray, seed: int | np.random.Generator) -> np.ndarray:
        """The network input made from a prepared clean image (HxWxC); deterministic given `seed`."""
        if self.paired:
            raise ValueError(
                f"{self.task} uses paired files, not synthetic degradation: read inputs from disk"
            )
        clean = to_float(clean)
        if clean.ndim == 2:
            clean = clean[..., None]
        return self.spec.degrade(self, clean, seed)

    def evaluate(
        self, output: np.ndarray, target: np.ndarray, quantize_output: bool = True
    ) -> dict[str, float]:
        """PSNR and SSIM of `output` against `target` under this protocol.

        The output is rounded to 8 bits first unless `quantize_output` is False or the protocol
        is weather (TransWeather scores the float output).
        """
        return self._scores(output, target, quantize_output, with_ssim=True)

    def psnr(self, output: np.ndarray, target: np.ndarray) -> float:
        """The PSNR of :meth:`evaluate` (8-bit output) without the SSIM."""
        return self._scores(output, target, quantize_output=True, with_ssim=False)["psnr"]

    def _scores(self, output, target, quantize_output: bool, with_ssim: bool) -> dict[str, float]:
        if quantize_output and self.metric == "standard":
            output, target = quantize(to_float(output)), quantize(to_float(target))
        if self.metric == "transweather":
            # Table 8 reports PSNR only; SSIM is ours (RGB), for reference.
            scores = {"psnr": metrics.psnr_transweather(output, target)}
            return {**scores, "ssim": metrics.ssim(output, target)} if with_ssim else scores
        kwargs = dict(crop_border=self.crop_border, y_channel=self.y_channel)
        scores = {"psnr": metrics.psnr(output, target, **kwargs)}
        return {**scores, "ssim": metrics.ssim(output, target, **kwargs)} if with_ssim else scores


def get_protocol(task: str, level=None, channels: int = 3) -> Protocol:
    """The protocol for `task` at `level` (None picks the task's default: sigma 25, QF 40, x4).

    A ``(low, high)`` pair is a blind level drawn from that range (sigma, or integer QF).
    """
    return task_spec(task).protocol(level, channels)


def resize_like_transweather(img: np.ndarray, multiple: int = 16, max_side: int = 1024) -> np.ndarray:
    """TransWeather's test-time resize (val_data_functions.py), applied to input *and* ground truth.

    The longer side is capped at `max_side`, then both sides are rounded up to a multiple of 16,
    with PIL's antialiasing (Lanczos) filter on 8-bit images. Images already of such a size are
    returned unchanged. Needed to reproduce the weather table's numbers.
    """
    from PIL import Image

    img = to_float(img)
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"expected an HxWx3 RGB image, got shape {img.shape}")
    h, w = img.shape[:2]
    if h > w and h > max_side:
        w, h = int(np.ceil(w * max_side / h)), max_side
    elif h <= w and w > max_side:
        h, w = int(np.ceil(h * max_side / w)), max_side
    w, h = int(multiple * np.ceil(w / multiple)), int(multiple * np.ceil(h / multiple))
    if (h, w) == img.shape[:2]:
        return img
    return to_float(np.asarray(Image.fromarray(quantize(img)).resize((w, h), Image.LANCZOS)))
