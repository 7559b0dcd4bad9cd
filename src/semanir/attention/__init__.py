"""Key-semantic attention: the dictionary and the interchangeable attention implementations."""

from __future__ import annotations

from typing import Callable

import torch

from .dictionary import build_key_semantic_dictionary, clip_topk
from .position import relative_coords_table, table_size
from .reference import dense_attention, gather_attention, mask_attention

AttentionFn = Callable[..., torch.Tensor]

_IMPLEMENTATIONS: dict[str, AttentionFn] = {
    "mask": mask_attention,
    "gather": gather_attention,
}

# Names promised to the fused kernels; asking for one before it exists is an error, never a
# silent fallback that would misreport what ran.
_RESERVED = {
    "triton": "the fused Triton kernel is not available in this build",
    "auto": "automatic selection needs the fused kernels, which are not available in this build",
}


def available_implementations() -> list[str]:
    return sorted(_IMPLEMENTATIONS)


def check_implementation(name: str) -> str:
    """Validate an implementation name early (at model construction)."""
    if name in _IMPLEMENTATIONS:
        return name
    if name in _RESERVED:
        raise NotImplementedError(f"attn_impl={name!r}: {_RESERVED[name]}; use one of {available_implementations()}")
    raise ValueError(f"unknown attn_impl {name!r}; choose from {available_implementations()}")


def key_semantic_attention(q, k, v, index, bias_table, window, impl: str = "gather") -> torch.Tensor:
    """Attention of every query over its K dictionary keys (see ``reference`` for the layout)."""
    if q.dim() != 4 or q.shape != k.shape or k.shape != v.shape:
        raise ValueError(f"q, k, v must share a (B, H, N, D) shape, got {tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}")
    b, h, n, _ = q.shape
    if index.dim() != 3 or index.shape[:2] != (b, n):
        raise ValueError(f"index must be (B={b}, N={n}, K), got {tuple(index.shape)}")
    if window[0] * window[1] != n:
        raise ValueError(f"window {tuple(window)} holds {window[0] * window[1]} tokens, not N={n}")
    if bias_table.shape != (h, table_size(window)):
        raise ValueError(f"bias_table must be (H={h}, T={table_size(window)}), got {tuple(bias_table.shape)}")
    return _IMPLEMENTATIONS[check_implementation(impl)](q, k, v, index, bias_table, window)


__all__ = [
    "available_implementations",
    "build_key_semantic_dictionary",
    "check_implementation",
    "clip_topk",
    "dense_attention",
    "gather_attention",
    "key_semantic_attention",
    "mask_attention",
    "relative_coords_table",
    "table_size",
]
