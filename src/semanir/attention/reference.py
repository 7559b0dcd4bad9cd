"""Plain-PyTorch implementations of attention over the key-semantic dictionary.

Every implementation takes the same arguments:
    q, k, v     (B, H, N, D)  queries already multiplied by the logit scale
    index       (B, N, K)     int64 dictionary, shared by all heads
    bias_table  (H, T)        relative position bias per flat window offset
    window      (wh, ww)      window shape; tokens are row-major inside it
and returns (B, H, N, D): softmax over the K selected keys of q.k + bias, applied to v.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .position import dense_offsets, pair_offsets


def _softmax(logits: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    # Half-precision logits are normalised in fp32, as fused kernels do.
    return torch.softmax(logits, dim=-1, dtype=torch.float32).to(dtype)


def mask_attention(q, k, v, index, bias_table, window):
    """Dense N x N logits with -inf outside the dictionary. Simple; memory grows with N^2."""
    b, _, n, _ = q.shape
    logits = q @ k.transpose(-2, -1) + bias_table[:, dense_offsets(window, q.device)]
    keep = torch.zeros(b, n, n, dtype=torch.bool, device=q.device).scatter_(2, index, True)
    logits = logits.masked_fill(~keep[:, None], float("-inf"))
    return _softmax(logits, v.dtype) @ v


def gather_keys(t: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """(B, H, N, D) gathered at (B, N, K) -> (B, N, K, H, D), one copy of the selected rows."""
    b, h, n, d = t.shape
    rows = t.transpose(1, 2).reshape(b * n, h * d)
    flat = (index + torch.arange(b, device=index.device).view(b, 1, 1) * n).reshape(-1)
    return rows.index_select(0, flat).view(b, n, index.shape[-1], h, d)


def gather_attention(q, k, v, index, bias_table, window):
    """Keys, values and bias gathered at the dictionary: no wasted FLOPs, memory grows with K."""
    n = q.shape[2]
    k_sel = gather_keys(k, index)
    v_sel = gather_keys(v, index)
    logits = torch.einsum("bhnd,bnkhd->bhnk", q, k_sel)
    queries = torch.arange(n, device=index.device).view(1, n, 1)
    bias = bias_table[:, pair_offsets(queries, index, window)]  # (H, B, N, K)
    logits = logits + bias.transpose(0, 1)
    return torch.einsum("bhnk,bnkhd->bhnd", _softmax(logits, v.dtype), v_sel)


def dense_attention(q, k, v, bias_table, window):
    """Plain window attention over all N keys with the same bias: the baseline SemanIR prunes.

    The head dim is zero-padded to a multiple of 8 (30 -> 32): SDPA's fused kernels (memory-efficient,
    cuDNN) need it and would otherwise fall back to the math path, which makes a weak baseline.
    """
    d = q.shape[-1]
    pad = -d % 8
    if pad:
        q, k, v = (F.pad(t, (0, pad)) for t in (q, k, v))
    bias = bias_table[:, dense_offsets(window, q.device)].to(q.dtype)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias.unsqueeze(0), scale=1.0)
    return out[..., :d]
