"""One object per task and level that knows how to make the network input and how to score the output.

The settings follow SemanIR App. A.1/A.5 and the code the paper compares against:

| task     | input                                        | metric                                  |
|----------|----------------------------------------------|-----------------------------------------|
| denoise  | clean + AWGN sigma 15/25/50/75, unclipped    | RGB (color) / the gray image (gray)     |
| jpeg     | OpenCV JPEG at QF 10/20/30/40                | RGB (color) / Y = the gray image (gray) |
| sr       | MATLAB bicubic x2/x3/x4 of the modcropped HR | Y (MATLAB BT.601), crop = scale         |
| demosaic | RGGB mosaic, then MATLAB ``demosaic``        | RGB                                     |
| deblur   | paired files (GoPro, HIDE)                   | RGB                                     |
| weather  | paired files (Test1, Snow100K-L, RainDrop)   | TransWeather's PSNR (see metrics)       |

Gray versions of color images are MATLAB's Y rounded to 8 bits (:func:`to_gray_y`). Outputs are
rounded to 8 bits before scoring, as every compared method saves PNGs first -- except weather,
where TransWeather scores the float output before saving. Border crop is 0 except for SR.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import metrics
from ..errors import UsageError
from .degradations import (
    add_blind_gaussian_noise,
    add_gaussian_noise,
    bayer_mosaic,
    bicubic_downscale,
    demosaic_malvar,
    jpeg_compress,
    jpeg_compress_blind,
    to_gray_y,
)
from .io import quantize, to_float
from .resize import modcrop

TASKS = ("denoise", "jpeg", "sr", "demosaic", "deblur", "weather")
NOISE_LEVELS = (15, 25, 50, 75)
JPEG_QUALITIES = (10, 20, 30, 40)  # the tables; Fig. 5 also evaluates 50..90
SR_SCALES = (2, 3, 4)
# One model for all levels: sigma uniform in [0, 75] (FFDNet/KAIR's blind range, covering the
# paper's 15..75); QF an integer in [10, 90] (the paper's Sec. 4 "QF set to [10, ..., 90]").
BLIND_SIGMA_RANGE = (0.0, 75.0)
BLIND_QUALITY_RANGE = (10, 90)
DEMOSAIC_PATTERN = "RGGB"
_DEFAULT_LEVEL = {"denoise": 25, "jpeg": 40, "sr": 4}


@dataclass(frozen=True)
class Protocol:
    task: str
    level: int | str | None  # sigma, quality factor, SR scale, "blind", or None
    channels: int  # 1 (gray) or 3 (RGB)
    y_channel: bool  # score on MATLAB Y (color images only; gray images are their own Y)
    crop_border: int
    paired: bool  # inputs come from files, not from degrade()
    metric: str = "standard"  # "standard" or "transweather"
    blind_range: tuple | None = None  # (low, high) of a blind level; None: the defaults above

    @property
    def name(self) -> str:
        level = "" if self.level is None else f"_{self.level}"
        if self.blind_range is not None:
            level += f"{self.blind_range[0]:g}-{self.blind_range[1]:g}"
        return f"{self.task}{level}_{'gray' if self.channels == 1 else 'rgb'}"

    @property
    def scale(self) -> int:
        return int(self.level) if self.task == "sr" else 1

    def to_channels(self, img: np.ndarray) -> np.ndarray:
        """An RGB or gray image in this protocol's channel layout, HxWxC float32."""
        img = to_float(img)
        gray = img.ndim == 2 or img.shape[2] == 1
        if self.channels == 1:
            return to_gray_y(img)[..., None]
        return np.repeat(img.reshape(*img.shape[:2], 1), 3, axis=2) if gray else img

    def prepare_clean(self, img: np.ndarray) -> np.ndarray:
        """The ground truth as scored: channel layout, and modcrop for SR."""
        img = self.to_channels(img)
        return modcrop(img, self.scale) if self.task == "sr" else img

    def degrade(self, clean: np.ndarray, seed: int | np.random.Generator) -> np.ndarray:
        """The network input made from a prepared clean image (HxWxC); deterministic given `seed`."""
        if self.paired:
            raise ValueError(
                f"{self.task} uses paired files, not synthetic degradation: read inputs from disk"
            )
        clean = to_float(clean)
        if clean.ndim == 2:
            clean = clean[..., None]
        if self.task == "denoise":
            if self.level == "blind":
                return add_blind_gaussian_noise(clean, self.blind_range or BLIND_SIGMA_RANGE, seed)[0]
            return add_gaussian_noise(clean, float(self.level), seed)
        if self.task == "jpeg":
            if self.level == "blind":
                return jpeg_compress_blind(clean, self.blind_range or BLIND_QUALITY_RANGE, seed)[0]
            return jpeg_compress(clean, int(self.level))
        if self.task == "sr":
            return bicubic_downscale(clean, self.scale)
        if self.task == "demosaic":
            return demosaic_malvar(bayer_mosaic(clean, DEMOSAIC_PATTERN), DEMOSAIC_PATTERN)
        raise AssertionError(self.task)

    def evaluate(
        self, output: np.ndarray, target: np.ndarray, quantize_output: bool = True
    ) -> dict[str, float]:
        """PSNR and SSIM of `output` against `target` under this protocol.

        The output is rounded to 8 bits first unless `quantize_output` is False or the protocol
        is weather (TransWeather scores the float output).
        """
        if quantize_output and self.metric == "standard":
            output, target = quantize(to_float(output)), quantize(to_float(target))
        kwargs = dict(crop_border=self.crop_border, y_channel=self.y_channel)
        if self.metric == "transweather":
            # Table 8 reports PSNR only; SSIM is ours (RGB), for reference.
            return {"psnr": metrics.psnr_transweather(output, target), "ssim": metrics.ssim(output, target)}
        return {
            "psnr": metrics.psnr(output, target, **kwargs),
            "ssim": metrics.ssim(output, target, **kwargs),
        }

    def psnr(self, output: np.ndarray, target: np.ndarray) -> float:
        """The PSNR of :meth:`evaluate` (8-bit output) without the SSIM."""
        if self.metric == "transweather":
            return metrics.psnr_transweather(output, target)
        output, target = quantize(to_float(output)), quantize(to_float(target))
        return metrics.psnr(output, target, crop_border=self.crop_border, y_channel=self.y_channel)


def get_protocol(task: str, level=None, channels: int = 3) -> Protocol:
    """The protocol for `task` at `level` (None picks the usual default: sigma 25, QF 40, x4).

    A ``(low, high)`` pair is a blind level drawn from that range (sigma, or integer QF).
    """
    if task not in TASKS:
        raise UsageError(f"unknown task {task!r} (use one of {', '.join(TASKS)})")
    if channels not in (1, 3):
        raise UsageError(f"channels must be 1 or 3, got {channels}")
    if channels == 1 and task not in ("denoise", "jpeg"):
        raise UsageError(f"{task} is defined on RGB images only (channels=3)")
    if level is None:
        level = _DEFAULT_LEVEL.get(task)
    blind_range = None
    if isinstance(level, (list, tuple)):
        blind_range = _check_range(task, level)
        level = "blind"
    allowed = {
        "denoise": NOISE_LEVELS + ("blind",),
        "jpeg": tuple(range(10, 100, 10)) + ("blind",),
        "sr": SR_SCALES,
    }
    if task in allowed:
        if level not in allowed[task]:
            raise UsageError(f"{task} level must be one of {allowed[task]}, got {level!r}")
    elif level is not None:
        raise UsageError(f"{task} has no levels, got {level!r}")
    gray = channels == 1
    return Protocol(
        task=task,
        level=level,
        channels=channels,
        y_channel=task == "sr" or gray,
        crop_border=int(level) if task == "sr" else 0,
        paired=task in ("deblur", "weather"),
        metric="transweather" if task == "weather" else "standard",
        blind_range=blind_range,
    )


def _check_range(task: str, level) -> tuple:
    bounds = {"denoise": (0.0, 255.0), "jpeg": (1, 100)}
    if task not in bounds or len(level) != 2:
        raise UsageError(f"a (low, high) level range applies to denoise or jpeg only, got {task} {list(level)}")
    low, high = (float(v) for v in level) if task == "denoise" else (int(v) for v in level)
    if not bounds[task][0] <= low <= high <= bounds[task][1]:
        raise UsageError(f"{task} level range must satisfy {bounds[task][0]} <= low <= high <= {bounds[task][1]}, got {list(level)}")
    return (low, high)


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
