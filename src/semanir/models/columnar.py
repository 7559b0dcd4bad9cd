"""Columnar SemanIR (Archi-V1, Fig. 2a): the super-resolution model, SemanIR-S and SemanIR-B."""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import UsageError
from .base import Geometry, SemanIRBase, init_weights
from .layers import SemanIRStage, channel_layer_norm

DIV2K_RGB_MEAN = (0.4488, 0.4371, 0.4040)


def _per_stage(value, count: int, what: str) -> list[int]:
    values = [value] * count if isinstance(value, int) else list(value)
    if len(values) != count:
        raise UsageError(f"{what} needs one value per stage ({count}), got {values}")
    return values


class PixelShuffleUpsampler(nn.Sequential):
    """SwinIR's upsampler: conv + LeakyReLU, (conv, PixelShuffle) per factor 2 or one for x3, conv."""

    def __init__(self, scale: int, in_dim: int, out_chans: int, feat: int = 64):
        layers: list[nn.Module] = [nn.Conv2d(in_dim, feat, 3, padding=1), nn.LeakyReLU(inplace=True)]
        if scale == 3:
            layers += [nn.Conv2d(feat, 9 * feat, 3, padding=1), nn.PixelShuffle(3)]
        elif scale >= 2 and scale & (scale - 1) == 0:
            for _ in range(scale.bit_length() - 1):
                layers += [nn.Conv2d(feat, 4 * feat, 3, padding=1), nn.PixelShuffle(2)]
        else:
            raise UsageError(f"upscale must be 1, 3 or a power of 2, got {scale}")
        layers.append(nn.Conv2d(feat, out_chans, 3, padding=1))
        super().__init__(*layers)


class SemanIRColumnar(SemanIRBase):
    """mean shift -> conv -> LayerNorm -> stages -> LayerNorm -> conv + long skip -> upsampler.

    ``upscale=1`` gives a same-size restoration model with a global residual instead.
    ``bicubic_skip=True`` (not in the paper, off by default) adds the bicubic upscaled input to the
    output and zero-initialises the upsampler's last conv, so training starts from bicubic's output
    and learns the residual: a short training run then cannot end below bicubic.
    """

    def __init__(
        self,
        upscale: int = 4,
        in_chans: int = 3,
        embed_dim: int = 180,
        depths: Sequence[int] = (6, 6, 6, 6, 6, 6),
        num_heads: int | Sequence[int] = 6,
        window_size: int = 32,
        mlp_ratio: float = 2.0,
        upsampler_dim: int = 64,
        img_range: float = 1.0,
        attn_impl: str = "auto",
        topk: int = 512,
        include_self: bool = False,
        shift_alternate: bool = False,
        bicubic_skip: bool = False,
    ):
        super().__init__()
        self._record_config(locals())
        if bicubic_skip and upscale == 1:
            raise UsageError("bicubic_skip applies to upscale > 1 (upscale=1 already has a global residual)")
        self.in_chans = in_chans
        self.upscale = upscale
        self.bicubic_skip = bicubic_skip
        self.img_range = img_range
        mean = DIV2K_RGB_MEAN if in_chans == 3 else (0.0,) * in_chans
        self.register_buffer("mean", torch.tensor(mean).view(1, in_chans, 1, 1), persistent=False)
        self.set_topk(topk)

        heads = _per_stage(num_heads, len(depths), "num_heads")
        self.conv_first = nn.Conv2d(in_chans, embed_dim, 3, padding=1)
        self.norm_in = nn.LayerNorm(embed_dim)
        self.body = nn.ModuleList(
            SemanIRStage(
                embed_dim, depth, heads[i], window_size, mlp_ratio, "mlp", attn_impl, include_self,
                shift=shift_alternate and i % 2 == 1,
            )
            for i, depth in enumerate(depths)
        )  # fmt: skip
        self.norm_out = nn.LayerNorm(embed_dim)
        self.conv_after_body = nn.Conv2d(embed_dim, embed_dim, 3, padding=1)
        if upscale == 1:
            self.reconstruct = nn.Conv2d(embed_dim, in_chans, 3, padding=1)
        else:
            self.reconstruct = PixelShuffleUpsampler(upscale, embed_dim, in_chans, upsampler_dim)
        self.apply(init_weights)
        if bicubic_skip:
            nn.init.zeros_(self.reconstruct[-1].weight)
            nn.init.zeros_(self.reconstruct[-1].bias)

    def iter_stages(self):
        return list(self.body)

    def geometry(self) -> Geometry:
        c = self.config
        per_px = 16 * 4 * c["embed_dim"] + 3 * 4 * c["upsampler_dim"] * c["upscale"] ** 2
        return Geometry(c["upscale"], self.in_chans, self.in_chans, c["window_size"], int(per_px))

    def forward(self, x: torch.Tensor, topk: int | None = None) -> torch.Tensor:
        self._check_input(x)
        k = self.resolve_topk(topk)
        mean = self.mean.to(x.dtype)
        feat = self.conv_first((x - mean) * self.img_range)
        t = channel_layer_norm(self.norm_in, feat)
        for stage in self.body:
            t = stage(t, k)
        feat = feat + self.conv_after_body(channel_layer_norm(self.norm_out, t))
        out = self.reconstruct(feat) / self.img_range
        if self.upscale == 1:
            return x + out
        if self.bicubic_skip:
            return out + F.interpolate(x, scale_factor=self.upscale, mode="bicubic", align_corners=False)
        return out + mean

