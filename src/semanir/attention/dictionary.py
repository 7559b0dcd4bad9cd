"""Key-semantic dictionary (Alg. 1 step 1, Eq. 2 of the paper)."""

from __future__ import annotations

import torch


def clip_topk(k: int, num_tokens: int, include_self: bool = False) -> int:
    """Largest usable k for a window of ``num_tokens`` tokens (N-1 without self, N with)."""
    if k < 1:
        raise ValueError(f"top-k must be >= 1, got {k}")
    limit = num_tokens if include_self else num_tokens - 1
    return max(1, min(int(k), limit))


@torch.no_grad()
def build_key_semantic_dictionary(tokens: torch.Tensor, k: int, include_self: bool = False) -> torch.Tensor:
    """Indices of the k most similar tokens of every token, per window.

    tokens: (windows, N, C) stage-input tokens. Similarity is the plain dot product
    ``P @ P.T`` over all channels (Eq. 2). Returns int64 indices of shape (windows, N, k'),
    k' = k clipped to N-1 (N with ``include_self``). Built without gradient: only the
    indices are kept and shared by every layer and head of the stage.
    """
    if tokens.dim() != 3:
        raise ValueError(f"expected (windows, N, C) tokens, got shape {tuple(tokens.shape)}")
    n = tokens.shape[1]
    if n < 2 and not include_self:
        raise ValueError("a window needs at least 2 tokens when self is excluded")
    k = clip_topk(k, n, include_self)
    # fp32 similarity: half-precision ties would make the dictionary depend on dtype.
    feats = tokens.float()
    sim = torch.bmm(feats, feats.transpose(1, 2))
    if not include_self:
        sim.diagonal(dim1=1, dim2=2).fill_(float("-inf"))
    return sim.topk(k, dim=-1, sorted=False).indices
