"""What both architectures share: the top-k policy (random in training, fixed at inference)
and the record of the constructor arguments that rebuild the model from a weights file."""

from __future__ import annotations

from typing import Iterable, Sequence

import torch
from torch import nn

from ..attention import check_implementation
from ..errors import UsageError

PAPER_TOPK_CHOICES = (64, 128, 192, 256, 384, 512)


class SemanIRBase(nn.Module):
    """Top-k policy.

    * eval mode: every forward uses ``topk`` (default 512; ``set_topk``).
    * train mode with ``topk_choices``: one k drawn per forward from the choices (Sec. 3.3),
      shared by every stage, layer and token; ``topk_seed`` seeds the draw so that every
      DDP rank draws the same sequence. A trainer may pass ``topk=`` explicitly instead.
    * train mode with ``topk_choices=None``: the paper's fixed-k baseline, k = ``topk``.
    Whatever the mode, each stage clips k to its window's N-1 (N with ``include_self``).
    """

    def _init_topk(self, topk: int, topk_choices: Sequence[int] | None, topk_seed: int) -> None:
        self.set_topk(topk)
        self.set_topk_choices(topk_choices)
        self._topk_generator = torch.Generator().manual_seed(int(topk_seed))
        self.last_topk: int | None = None

    def set_topk(self, k: int) -> "SemanIRBase":
        if int(k) < 1:
            raise UsageError(f"top-k must be >= 1, got {k}")
        self.topk = int(k)
        return self

    def set_topk_choices(self, choices: Iterable[int] | None) -> "SemanIRBase":
        if choices is not None:
            choices = tuple(int(c) for c in choices)
            if not choices or min(choices) < 1:
                raise UsageError(f"topk_choices must be positive integers, got {choices}")
        self.topk_choices = choices
        return self

    def seed_topk(self, seed: int) -> None:
        self._topk_generator.manual_seed(int(seed))

    def resolve_topk(self, override: int | None = None) -> int:
        if override is not None:
            k = int(override)
        elif self.training and self.topk_choices:
            draw = torch.randint(len(self.topk_choices), (1,), generator=self._topk_generator)
            k = self.topk_choices[int(draw)]
        else:
            k = self.topk
        if k < 1:
            raise UsageError(f"top-k must be >= 1, got {k}")
        self.last_topk = k
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
