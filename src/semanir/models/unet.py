"""U-shaped SemanIR (Archi-V2, Fig. 7): denoising, JPEG, demosaicking, deblurring, weather.

conv -> 4 down stages (one per level, a downsample between levels) -> 4 up stages (the deepest
level first, then upsample + skip fusion before each shallower one) -> final stage at level 1 ->
conv -> + input. Table 11 fixes 4/4/1 stages of 6 layers; the widths are the design spec's
(Restormer-like), which land 2.8% above the paper's 25.82M for color denoising.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from ..errors import UsageError
from .base import Geometry, SemanIRBase, init_weights
from .layers import SemanIRStage, pad_to_multiple


def _downsample(dim: int, sampling: str) -> nn.Module:
    if sampling == "pixelshuffle":
        return nn.Sequential(nn.Conv2d(dim, dim // 2, 3, padding=1), nn.PixelUnshuffle(2))
    return nn.Conv2d(dim, dim * 2, 4, stride=2, padding=1)


def _upsample(dim: int, sampling: str) -> nn.Module:
    """From a level of ``dim`` channels to the next shallower one (dim // 2 channels)."""
    if sampling == "pixelshuffle":
        return nn.Sequential(nn.Conv2d(dim, dim * 2, 3, padding=1), nn.PixelShuffle(2))
    return nn.ConvTranspose2d(dim, dim // 2, 2, stride=2)


class SkipFusion(nn.Module):
    """Joins the upsampled decoder map with the encoder skip: concat + 1x1 reduce, or a sum."""

    def __init__(self, dim: int, skip: str):
        super().__init__()
        self.reduce = nn.Conv2d(dim * 2, dim, 1) if skip == "concat" else None

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        if self.reduce is None:
            return x + skip
        return self.reduce(torch.cat([x, skip], dim=1))


class SemanIRUNet(SemanIRBase):
    def __init__(
        self,
        in_chans: int = 3,
        out_chans: int | None = None,
        dims: Sequence[int] = (48, 96, 192, 384),
        num_heads: Sequence[int] = (1, 2, 4, 8),
        encoder_depths: Sequence[int] = (6, 6, 6, 6),
        decoder_depths: Sequence[int] = (6, 6, 6, 6),
        final_depth: int = 6,
        window_size: int = 32,
        mlp_ratio: float = 2.0,
        ffn: str = "mlp",
        sampling: str = "pixelshuffle",
        skip: str = "concat",
        attn_impl: str = "auto",
        topk: int = 512,
        include_self: bool = False,
        shift_alternate: bool = False,
    ):
        super().__init__()
        out_chans = in_chans if out_chans is None else out_chans
        self._record_config(locals())
        levels = len(dims)
        for name, seq in (("num_heads", num_heads), ("encoder_depths", encoder_depths), ("decoder_depths", decoder_depths)):
            if len(seq) != levels:
                raise UsageError(f"{name} needs one value per level ({levels}), got {list(seq)}")
        if sampling not in ("pixelshuffle", "conv"):
            raise UsageError(f"sampling must be 'pixelshuffle' or 'conv', got {sampling!r}")
        if skip not in ("concat", "add"):
            raise UsageError(f"skip must be 'concat' or 'add', got {skip!r}")
        if any(dims[i + 1] != 2 * dims[i] for i in range(levels - 1)):
            raise UsageError(f"each level must double the width of the one above, got dims {list(dims)}")
        if out_chans != in_chans:
            raise UsageError("the global residual needs out_chans == in_chans")
        self.in_chans = in_chans
        self.levels = levels
        self.set_topk(topk)

        stage_id = iter(range(10_000))

        def stage(level: int, depth: int) -> SemanIRStage:
            shift = shift_alternate and next(stage_id) % 2 == 1
            return SemanIRStage(
                dims[level], depth, num_heads[level], window_size, mlp_ratio, ffn, attn_impl, include_self, shift
            )

        self.conv_first = nn.Conv2d(in_chans, dims[0], 3, padding=1)
        self.encoder = nn.ModuleList(stage(i, encoder_depths[i]) for i in range(levels))
        self.down = nn.ModuleList(_downsample(dims[i], sampling) for i in range(levels - 1))
        # Indexed by the level they lead to: up[i] goes from level i+1 to level i.
        self.up = nn.ModuleList(_upsample(dims[i + 1], sampling) for i in range(levels - 1))
        self.fuse = nn.ModuleList(SkipFusion(dims[i], skip) for i in range(levels - 1))
        self.decoder = nn.ModuleList(stage(i, decoder_depths[i]) for i in range(levels))
        self.final = stage(0, final_depth)
        self.conv_last = nn.Conv2d(dims[0], out_chans, 3, padding=1)
        self.apply(init_weights)

    def iter_stages(self):
        return [*self.encoder, *self.decoder, self.final]

    def geometry(self) -> Geometry:
        dims, factor = self.config["dims"], 2 ** (self.levels - 1)
        # Level l holds dims[l] channels on 1/4**l of the pixels; ~16 live maps of that size.
        per_px = 16 * 4 * sum(d / 4**i for i, d in enumerate(dims))
        # The input is reflect-padded to a multiple of ``factor``: a reflection cannot be longer
        # than the map it mirrors, so a traced graph needs at least ``factor`` pixels.
        return Geometry(1, self.in_chans, self.config["out_chans"], factor, int(per_px), min_input_size=factor)

    def forward(self, x: torch.Tensor, topk: int | None = None) -> torch.Tensor:
        self._check_input(x)
        k = self.resolve_topk(topk)
        h, w = x.shape[-2:]
        factor = 2 ** (self.levels - 1)
        inp = pad_to_multiple(x, factor, factor)
        feat = self.conv_first(inp)
        skips = []
        for level, stage in enumerate(self.encoder):
            feat = stage(feat, k)
            if level < self.levels - 1:
                skips.append(feat)
                feat = self.down[level](feat)
        for level in reversed(range(self.levels)):
            if level < self.levels - 1:
                feat = self.fuse[level](self.up[level](feat), skips[level])
            feat = self.decoder[level](feat, k)
        feat = self.final(feat, k)
        # Stages hand back channels_last maps (WindowGrid.merge); callers get a plain NCHW tensor.
        return (self.conv_last(feat) + inp)[:, :, :h, :w].contiguous()
