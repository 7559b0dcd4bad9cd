"""Inference on images of any size: device and precision choice, and tiling with overlap.

Tiles overlap by ``overlap`` pixels. In each overlap, the quarter next to a tile's inner edge
gets zero weight (that is where the tile lacks context) and the middle half is a linear cross-fade
between the two tiles, so the blend is seamless. When ``overlap // 4`` covers the model's
receptive field and the tile grid follows the model's windows (tile and overlap multiples of
``window_size`` times the U-shape's downsampling factor), the tiled result equals the untiled one.
"""

from __future__ import annotations

import math
import os
import warnings

import numpy as np
import torch
from torch import nn

from .errors import UsageError
from .models.base import Geometry, SemanIRBase

DEFAULT_MEMORY_BUDGET = 3 * 1024**3  # bytes of activations per tile on the CPU


def model_geometry(model: nn.Module) -> Geometry:
    """The model's own descriptor; a plain module (a peer, a test double) is taken as a same-size,
    3-channel model that tiles anywhere."""
    if isinstance(model, SemanIRBase):
        return model.geometry()
    chans = getattr(model, "in_chans", 3)
    return Geometry(getattr(model, "upscale", 1), chans, chans, 1, 4 * 64 * 16)


def pick_device(name: str | None = None) -> torch.device:
    if name in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as err:  # torch's own parse error: the name is the user's
        raise UsageError(f"--device {name!r} is not a device ({str(err).splitlines()[0]})") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda was asked for, but PyTorch sees no CUDA device")
    return device


def pick_dtype(device: torch.device, precision: str = "auto") -> torch.dtype:
    """fp32 on the CPU; bf16 on GPUs that have it, else fp16, unless told otherwise.

    The dtype is the autocast dtype of :func:`run_model`; fp16 also runs on the CPU, slowly.
    """
    table = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
    if precision != "auto":
        if precision not in table:
            raise UsageError(f"precision must be auto, fp32, fp16 or bf16, got {precision!r}")
        return table[precision]
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


def _available_memory(device: torch.device) -> int:
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free * 0.6)
    try:
        avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        return int(min(DEFAULT_MEMORY_BUDGET, avail * 0.5))
    except (ValueError, OSError, AttributeError):
        return DEFAULT_MEMORY_BUDGET


def auto_tile_size(model: nn.Module, device: torch.device, dtype: torch.dtype = torch.float32) -> int:
    geo = model_geometry(model)
    bytes_per_px = geo.bytes_per_pixel * torch.finfo(dtype).bits // 32
    side = int(math.sqrt(_available_memory(device) / max(bytes_per_px, 1)))
    side = max(4 * geo.granule, min(side, 2048))
    return side // geo.granule * geo.granule


def _tile_starts(length: int, tile: int, step: int) -> list[int]:
    starts = [0]
    while starts[-1] + tile < length:
        starts.append(starts[-1] + step)
    return starts


def _blend_profile(start: int, end: int, length: int, overlap: int, scale: int) -> torch.Tensor:
    """1-D weights of one tile along one axis, in output pixels."""
    size = (end - start) * scale
    weights = torch.ones(size)
    margin = overlap // 4 * scale
    ramp = overlap * scale - 2 * margin
    fade = (torch.arange(ramp, dtype=torch.float32) + 0.5) / ramp if ramp > 0 else torch.empty(0)
    if start > 0:
        weights[:margin] = 0
        weights[margin : margin + ramp] = fade
    if end < length:
        weights[size - margin :] = 0
        weights[size - margin - ramp : size - margin] = torch.minimum(weights[size - margin - ramp : size - margin], fade.flip(0))
    return weights


def check_tiling(tile: int, overlap: int | None, granule: int) -> tuple[int, int]:
    """(tile, overlap) for a model whose tiles are multiples of ``granule``, or a UsageError that says
    what to pass instead; ``overlap=None`` picks the default, tile/8 but at least one granule."""
    if tile < granule or tile % granule:
        fit = max(2 * granule, -(-tile // granule) * granule)
        raise UsageError(
            f"tile size must be a positive multiple of {granule} for this model, got {tile}; "
            f"pass --tile {fit} (or --tile 0 for no tiling)"
        )
    if overlap is None:
        overlap = max(granule, tile // 8 // granule * granule)
        if 2 * overlap > tile:  # the user chose only the tile: say what is wrong with it
            raise UsageError(
                f"tile size {tile} is too small for this model: tiles overlap their neighbours by {overlap} pixels, "
                f"so a tile must be at least {2 * overlap}; pass --tile {2 * overlap} or more (or --tile 0 for no tiling)"
            )
    if overlap < 0 or overlap % granule or 2 * overlap > tile:
        raise UsageError(
            f"overlap must be a multiple of {granule} and at most half the tile size {tile}, got {overlap}; "
            f"pass --overlap {tile // 2 // granule * granule} or less"
        )
    return tile, overlap


# The eight symmetries of the square as (quarter turns, mirror); each is undone in reverse order.
DIHEDRAL = [(turns, mirror) for turns in range(4) for mirror in (False, True)]


def restore_views(model: nn.Module, view, self_ensemble: bool = False, progress=None, **run) -> torch.Tensor:
    """Restore an input that the model takes only through ``view(turns, mirror)`` -> (HxWxC model
    input, top, left): a task's raw input (a Bayer mosaic), turned before it is adapted. Each view's
    result is cropped by (top, left) and turned back; ``self_ensemble`` averages all 8 views.
    ``run`` is passed to :func:`restore_tensor`; returns (1, C, H, W)."""

    def restore_view(turns: int, mirror: bool, step) -> torch.Tensor:
        hwc, top, left = view(turns, mirror)
        x = torch.from_numpy(np.ascontiguousarray(hwc.transpose(2, 0, 1))).unsqueeze(0)
        return restore_tensor(model, x, progress=step, **run)[:, :, top:, left:]

    return _average_views(restore_view, DIHEDRAL if self_ensemble else DIHEDRAL[:1], progress)


def _average_views(restore_view, views, progress=None) -> torch.Tensor:
    """Mean of ``restore_view(turns, mirror, step)`` over ``views``, each turned back; ``step``
    reports one view's progress as a share of the whole."""
    total = torch.zeros(())
    for i, (turns, mirror) in enumerate(views):
        step = None
        if progress:
            step = lambda done, n, i=i: progress(i * n + done, len(views) * n)  # noqa: E731
        total = total + _untransform(restore_view(turns, mirror, step), turns, mirror)
    return total / len(views)


def _transform(x: torch.Tensor, turns: int, mirror: bool) -> torch.Tensor:
    x = torch.rot90(x, turns, (2, 3))
    return x.flip(3) if mirror else x


def _untransform(x: torch.Tensor, turns: int, mirror: bool) -> torch.Tensor:
    if mirror:
        x = x.flip(3)
    return torch.rot90(x, -turns, (2, 3))


class Fp32Fallback:
    """Counts reduced-precision tiles that overflowed and were redone in fp32; warns on the first.

    One per run (a ``Restorer``, a ``model_restorer``), so a run warns once, however many tiles.
    """

    def __init__(self) -> None:
        self.tiles = 0

    def note(self, dtype: torch.dtype) -> None:
        self.tiles += 1
        if self.tiles == 1:
            name = str(dtype).removeprefix("torch.")
            warnings.warn(f"{name} overflowed (inf/NaN) in a tile; such tiles are redone in fp32", RuntimeWarning, 3)


def run_model(
    model: nn.Module, x: torch.Tensor, device: torch.device, dtype: torch.dtype, topk=None, fallback=None
) -> torch.Tensor:
    """``model(x)`` on ``device`` under autocast to ``dtype``; a float32 result on ``device``.

    Autocast rather than casting the parameters: measured on the CPU (benchmarks/precision.md), bf16
    autocast loses 0.00-0.02 dB against fp32 on the four presets where a bf16-cast model loses
    0.00-0.03, at the same speed; LayerNorm and softmax stay fp32 under autocast (the safe choice
    on CUDA too), and the fp32 model at hand redoes an overflowed tile without a second copy.
    A reduced-precision output holding inf/NaN (fp16's range is 65504) is redone in fp32 and
    reported through ``fallback`` (an :class:`Fp32Fallback`), never returned.
    """
    # In the parameters' dtype: fp32 unless a caller cast the model itself.
    x = x.to(device, next(model.parameters()).dtype)
    if dtype == torch.float32:
        return model(x, topk=topk).float()
    with torch.autocast(device.type, dtype=dtype):
        out = model(x, topk=topk).float()
    if not torch.isfinite(out).all():
        (fallback or Fp32Fallback()).note(dtype)
        out = model(x, topk=topk).float()
    return out


@torch.no_grad()
def restore_tensor(
    model: nn.Module,
    x: torch.Tensor,
    tile: int | None = None,
    overlap: int | None = None,
    topk: int | None = None,
    device: torch.device | None = None,
    dtype: torch.dtype = torch.float32,
    progress=None,
    self_ensemble: bool = False,
    fallback: Fp32Fallback | None = None,
) -> torch.Tensor:
    """Run ``model`` on (B, C, H, W) ``x`` in [0, 1], tiled when the image is larger than ``tile``.

    ``tile=None`` picks the largest tile that fits the memory budget; ``tile=0`` disables tiling.
    The result lives on ``x``'s device in float32. ``progress(done, total)`` is called per tile.
    ``self_ensemble`` averages the outputs for the 8 rotations/mirrors of the input (the "+" rows
    of SwinIR and GRL): 8x the time for a small gain. ``dtype`` below fp32 runs under autocast
    (:func:`run_model`); ``fallback`` is the run's :class:`Fp32Fallback` (default: one per call).
    """
    fallback = fallback or Fp32Fallback()
    if self_ensemble:
        return _average_views(
            lambda turns, mirror, step: restore_tensor(
                model, _transform(x, turns, mirror), tile, overlap, topk, device, dtype, step, fallback=fallback
            ),
            DIHEDRAL,
            progress,
        )
    device = device or x.device
    geo = model_geometry(model)
    b, c, h, w = x.shape
    if tile is None:
        tile = auto_tile_size(model, device, dtype)
    if tile == 0 or (h <= tile and w <= tile):
        out = run_model(model, x, device, dtype, topk, fallback).to(x.device)
        if progress:
            progress(1, 1)
        return out
    tile, overlap = check_tiling(tile, overlap, geo.granule)
    s = geo.scale
    out = torch.zeros(b, c, h * s, w * s)
    norm = torch.zeros(1, 1, h * s, w * s)
    ys, xs = _tile_starts(h, tile, tile - overlap), _tile_starts(w, tile, tile - overlap)
    total, done = len(ys) * len(xs), 0
    for y0 in ys:
        y1 = min(y0 + tile, h)
        wy = _blend_profile(y0, y1, h, overlap, s)
        for x0 in xs:
            x1 = min(x0 + tile, w)
            piece = run_model(model, x[:, :, y0:y1, x0:x1], device, dtype, topk, fallback).cpu()
            weight = wy[:, None] * _blend_profile(x0, x1, w, overlap, s)[None, :]
            out[:, :, y0 * s : y1 * s, x0 * s : x1 * s] += piece * weight
            norm[:, :, y0 * s : y1 * s, x0 * s : x1 * s] += weight
            done += 1
            if progress:
                progress(done, total)
    return (out / norm).to(x.device)
