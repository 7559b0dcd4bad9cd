"""What both architectures share: the top-k policy (the model's k unless the caller passes one),
the record of the constructor arguments that rebuild the model from a weights file, and the
descriptor (``Geometry``) through which inference, export and the CLI see an architecture."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from ..attention import check_implementation
from ..errors import UsageError


@dataclass(frozen=True)
class Geometry:
    """What callers need to know about an architecture, without knowing which one it is."""

    scale: int  # output size / input size
    in_chans: int
    out_chans: int
    granule: int  # tile sizes and steps are multiples of this (the window, times the U-shape's downsampling)
    bytes_per_pixel: int  # rough activation memory per input pixel during inference
    min_input_size: int = 1  # smallest height/width a traced (ONNX) graph takes


class SemanIRBase(nn.Module):
    """Top-k policy: every forward uses ``topk`` (default 512; ``set_topk``) unless the caller
    passes ``topk=``. The model never draws k itself: the paper's random k in training (Sec. 3.3)
    belongs to the trainer (``train.topk_choices``), which passes each iteration's k, so one
    owner decides it and every DDP rank and a resumed run use the same sequence.
    Each stage clips k to its window's N-1 (N with ``include_self``).
    """

    config: dict

    def _record_config(self, arguments: dict) -> None:
        """Keep the constructor's arguments (from its ``locals()``) as the model's config: what a
        weights file stores to rebuild the model. Sequences become lists, as JSON and YAML give back."""
        names = [n for n in inspect.signature(type(self).__init__).parameters if n != "self"]
        self.config = {n: list(arguments[n]) if isinstance(arguments[n], Sequence) and not isinstance(arguments[n], str)
                       else arguments[n] for n in names}  # fmt: skip

    def geometry(self) -> Geometry:
        raise NotImplementedError

    def set_topk(self, k: int) -> "SemanIRBase":
        if int(k) < 1:
            raise UsageError(f"top-k must be >= 1, got {k}")
        self.topk = int(k)
        return self

    def resolve_topk(self, override: int | None = None) -> int:
        """The k of one forward: the caller's, else the model's own."""
        k = self.topk if override is None else int(override)
        if k < 1:
            raise UsageError(f"top-k must be >= 1, got {k}")
        return k

    def set_attn_impl(self, name: str) -> "SemanIRBase":
        """Switch every attention layer to another implementation (weights are unaffected)."""
        check_implementation(name)
        for stage in self.iter_stages():
            stage.set_attn_impl(name)
        self.config["attn_impl"] = name
        return self

    def iter_stages(self) -> list[nn.Module]:
        raise NotImplementedError

    def implementations_ran(self) -> list[str]:
        """The attention implementations the last forward ran (``auto`` resolved), sorted."""
        return sorted({layer.attn.ran for stage in self.iter_stages() for layer in stage.layers if layer.attn.ran})

    def _check_input(self, x: torch.Tensor) -> None:
        if x.dim() != 4 or x.shape[1] != self.in_chans:
            raise ValueError(
                f"{type(self).__name__} expects (B, {self.in_chans}, H, W) input, got {tuple(x.shape)}"
            )


def init_weights(m: nn.Module) -> None:
    # SwinIR/GRL initialisation for the transformer parts; convs keep PyTorch's default.
    if isinstance(m, nn.Linear):
        nn.init.trunc_normal_(m.weight, std=0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.LayerNorm):
        nn.init.ones_(m.weight)
        nn.init.zeros_(m.bias)
