"""Building blocks shared by both SemanIR architectures: the key-semantic attention layer,
the transformer layer and the stage that owns one dictionary."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import UsageError

from ..attention import (
    build_key_semantic_dictionary,
    check_implementation,
    clip_topk,
    key_semantic_attention,
    resolve_implementation,
    relative_coords_table,
)


INFERENCE_CHUNK_BYTES = 256 * 1024**2


@dataclass(frozen=True)
class WindowGrid:
    """How a padded (B, C, Hp, Wp) map is cut into row-major windows of ``window`` tokens."""

    batch: int
    height: int
    width: int
    window: tuple[int, int]

    @property
    def tokens(self) -> int:
        return self.window[0] * self.window[1]

    def partition(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, Hp, Wp), in either memory format -> (B * windows, N, C)."""
        b, c, h, w = x.shape
        wh, ww = self.window
        x = x.permute(0, 2, 3, 1).reshape(b, h // wh, wh, w // ww, ww, c).permute(0, 1, 3, 2, 4, 5)
        return x.reshape(-1, wh * ww, c)

    def merge(self, t: torch.Tensor) -> torch.Tensor:
        """(B * windows, N, C) -> (B, C, Hp, Wp) in channels_last memory format.

        Tokens are channel-minor already, so channels_last costs one copy like NCHW would, and
        CPU convolutions (depth-wise ones above all) run 2-3x faster on it.
        """
        wh, ww = self.window
        c = t.shape[-1]
        t = t.view(self.batch, self.height // wh, self.width // ww, wh, ww, c).permute(0, 1, 3, 2, 4, 5)
        return t.reshape(self.batch, self.height, self.width, c).permute(0, 3, 1, 2)


def pad_to_multiple(x: torch.Tensor, mult_h: int, mult_w: int, top: int = 0, left: int = 0) -> torch.Tensor:
    """Pad (B, C, H, W) at the bottom/right (plus optional top/left) to multiples of (mult_h, mult_w).

    Reflection keeps image statistics at the border; maps too small to reflect are replicated.
    """
    h, w = x.shape[-2:]
    bottom = (-(h + top)) % mult_h
    right = (-(w + left)) % mult_w
    if torch.compiler.is_exporting():
        # An exported graph cannot branch on its input's size: it always pads (by 0 where nothing is
        # missing) and always reflects, which needs every pad below the map's size (export.py's
        # minimum input size). The padded size is written as mult * ceil(size / mult), the form in
        # which the exporter's symbolic shapes see that it divides by mult (the U-shape halves it).
        bottom = (h + top + mult_h - 1) // mult_h * mult_h - h - top
        right = (w + left + mult_w - 1) // mult_w * mult_w - w - left
        return F.pad(x, (left, right, top, bottom), mode="reflect")
    if not (top or left or bottom or right):
        return x
    pads = (left, right, top, bottom)
    mode = "reflect" if max(top, bottom) < h and max(left, right) < w else "replicate"
    return F.pad(x, pads, mode=mode)


def channel_layer_norm(norm: nn.LayerNorm, x: torch.Tensor) -> torch.Tensor:
    """LayerNorm over the channels of an NCHW map."""
    return norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class ContinuousPositionBias(nn.Module):
    """GRL/SwinV2 continuous relative position bias: 16 * sigmoid(MLP(log-spaced offsets))."""

    def __init__(self, num_heads: int, nominal_window: int, hidden: int = 512):
        super().__init__()
        self.nominal_window = nominal_window
        self.mlp = nn.Sequential(nn.Linear(2, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, num_heads, bias=False))

    def forward(self, window: tuple[int, int], device) -> torch.Tensor:
        # The table is fp32; a model cast to bf16/fp16 needs it in its own dtype.
        table = relative_coords_table(window, self.nominal_window, device).to(self.mlp[0].weight.dtype)
        return 16.0 * torch.sigmoid(self.mlp(table)).transpose(0, 1)  # (H, T)


class KeySemanticAttention(nn.Module):
    """Multi-head cosine attention restricted to the stage's key-semantic dictionary."""

    def __init__(self, dim: int, num_heads: int, nominal_window: int, attn_impl: str = "auto"):
        super().__init__()
        if dim % num_heads:
            raise UsageError(f"dim {dim} is not divisible by num_heads {num_heads}")
        self.num_heads = num_heads
        self.attn_impl = check_implementation(attn_impl)
        self.ran: str | None = None
        self.qkv = nn.Linear(dim, dim * 3)
        self.logit_scale = nn.Parameter(torch.full((num_heads, 1, 1), math.log(10.0)))
        self.position_bias = ContinuousPositionBias(num_heads, nominal_window)
        self.proj = nn.Linear(dim, dim)

    def forward(self, t: torch.Tensor, index: torch.Tensor, window: tuple[int, int]) -> torch.Tensor:
        b, n, c = t.shape
        qkv = self.qkv(t).view(b, n, 3, self.num_heads, c // self.num_heads).permute(2, 0, 3, 1, 4)
        scale = torch.clamp(self.logit_scale, max=math.log(100.0)).exp()
        # Under autocast qkv is half while the logit scale is an fp32 parameter: keep q in qkv's dtype,
        # since the fused kernels multiply q and k on tensor cores, which need one dtype.
        q = (F.normalize(qkv[0], dim=-1) * scale).to(qkv.dtype)
        # CUDA's autocast computes the norm inside F.normalize in fp32, so k came out fp32 too (the
        # CPU's does not): seen on an H200, where every bf16 run then failed the one-dtype check.
        k = F.normalize(qkv[1], dim=-1).to(qkv.dtype)
        bias = self.position_bias(window, t.device).to(q.dtype)
        v = qkv[2]
        # Inference on big images: bound the N x N logits of the mask path by window chunks.
        # (Not in an ONNX export: its window count is a symbol, and the runtime sizes its own buffers.)
        exporting = torch.compiler.is_exporting()
        impl = resolve_implementation(self.attn_impl, q.device, n, index.shape[-1], q.dtype)
        if not torch.compiler.is_compiling():  # a traced graph holds no Python state
            self.ran = impl  # what this layer's last forward ran (SemanIRBase.implementations_ran)
        step = 1 if exporting else max(1, INFERENCE_CHUNK_BYTES // (self.num_heads * n * n * 4))
        if torch.is_grad_enabled() or exporting or b <= step:
            out = key_semantic_attention(q, k, v, index, bias, window, impl)
        else:
            out = torch.cat([
                key_semantic_attention(q[i : i + step], k[i : i + step], v[i : i + step], index[i : i + step], bias, window, impl)
                for i in range(0, b, step)
            ])  # fmt: skip
        return self.proj(out.transpose(1, 2).reshape(b, n, c))


class Mlp(nn.Module):
    """Plain fc-GELU-fc feed-forward network."""

    def __init__(self, dim: int, ratio: float):
        super().__init__()
        hidden = int(dim * ratio)
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, t: torch.Tensor, grid: WindowGrid) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(t)))


class GatedDconvFFN(nn.Module):
    """Restormer's gated depth-wise-conv feed-forward network (GDFN), on the whole map."""

    def __init__(self, dim: int, ratio: float):
        super().__init__()
        hidden = int(dim * ratio)
        self.project_in = nn.Conv2d(dim, hidden * 2, 1)
        self.dwconv = nn.Conv2d(hidden * 2, hidden * 2, 3, padding=1, groups=hidden * 2)
        self.project_out = nn.Conv2d(hidden, dim, 1)

    def forward(self, t: torch.Tensor, grid: WindowGrid) -> torch.Tensor:
        x1, x2 = self.dwconv(self.project_in(grid.merge(t))).chunk(2, dim=1)
        return grid.partition(self.project_out(F.gelu(x1) * x2))


FFN_TYPES = {"mlp": Mlp, "gdfn": GatedDconvFFN}


class SemanIRLayer(nn.Module):
    """One transformer layer with GRL's post-norm residuals: x + norm(attn(x)), x + norm(ffn(x))."""

    def __init__(self, dim, num_heads, nominal_window, mlp_ratio=2.0, ffn="mlp", attn_impl="auto"):
        super().__init__()
        if ffn not in FFN_TYPES:
            raise UsageError(f"unknown ffn {ffn!r}; choose from {sorted(FFN_TYPES)}")
        self.attn = KeySemanticAttention(dim, num_heads, nominal_window, attn_impl)
        self.norm1 = nn.LayerNorm(dim)
        self.ffn = FFN_TYPES[ffn](dim, mlp_ratio)
        self.norm2 = nn.LayerNorm(dim)

    def forward(self, t, index, grid: WindowGrid):
        t = t + self.norm1(self.attn(t, index, grid.window))
        return t + self.norm2(self.ffn(t, grid))


class SemanIRStage(nn.Module):
    """Alg. 1: one dictionary from the stage input, shared by every layer; then x + conv(layers(x)).

    Works on NCHW maps of any size: the window shrinks to a map smaller than ``window_size``,
    and the map is reflect-padded to whole windows and cropped back before the conv.
    ``shift`` offsets the window grid by half a window (an optional extra for alternate stages).
    """

    def __init__(
        self,
        dim: int,
        depth: int,
        num_heads: int,
        window_size: int,
        mlp_ratio: float = 2.0,
        ffn: str = "mlp",
        attn_impl: str = "auto",
        include_self: bool = False,
        shift: bool = False,
    ):
        super().__init__()
        self.window_size = window_size
        self.include_self = include_self
        self.shift = shift
        self.layers = nn.ModuleList(
            SemanIRLayer(dim, num_heads, window_size, mlp_ratio, ffn, attn_impl) for _ in range(depth)
        )
        self.conv = nn.Conv2d(dim, dim, 3, padding=1)

    def set_attn_impl(self, name: str) -> None:
        name = check_implementation(name)
        for layer in self.layers:
            layer.attn.attn_impl = name

    def forward(self, x: torch.Tensor, topk: int) -> torch.Tensor:
        b, _, h, w = x.shape
        # sym_min: min on ints; in an ONNX export, a window that shrinks with a small map in the graph.
        window = (torch.sym_min(self.window_size, h), torch.sym_min(self.window_size, w))
        off_h = window[0] // 2 if self.shift and h > window[0] else 0
        off_w = window[1] // 2 if self.shift and w > window[1] else 0
        padded = pad_to_multiple(x, window[0], window[1], top=off_h, left=off_w)
        grid = WindowGrid(b, padded.shape[2], padded.shape[3], window)
        t = grid.partition(padded)
        include_self = self.include_self or grid.tokens == 1
        index = build_key_semantic_dictionary(t, clip_topk(topk, grid.tokens, include_self), include_self)
        for layer in self.layers:
            t = layer(t, index, grid)
        res = grid.merge(t)[:, :, off_h : off_h + h, off_w : off_w + w]
        return x + self.conv(res)
