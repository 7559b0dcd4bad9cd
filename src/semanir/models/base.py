"""What both architectures share: the top-k policy (the model's k unless the caller passes one)
and the record of the constructor arguments that rebuild the model from a weights file."""

from __future__ import annotations

from torch import nn

from ..attention import check_implementation
from ..errors import UsageError


class SemanIRBase(nn.Module):
    """Top-k policy: every forward uses ``topk`` (default 512; ``set_topk``) unless the caller
    passes ``topk=``. The model never draws k itself: the paper's random k in training (Sec. 3.3)
    belongs to the trainer (``train.topk_choices``), which passes each iteration's k, so one
    owner decides it and every DDP rank and a resumed run use the same sequence.
    Each stage clips k to its window's N-1 (N with ``include_self``).
    """

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
