"""Key-semantic dictionary (Alg. 1 step 1, Eq. 2 of the paper)."""

from __future__ import annotations

from contextlib import contextmanager

import torch

_lowest_index_ties = False


@contextmanager
def lowest_index_ties():
    """Within the block, equal similarities go to the lower token index, as ONNX's TopK breaks them.

    Exact ties are real: reflect padding repeats image tokens inside a window, and flat regions
    repeat features. Which of the tied tokens torch.topk keeps is its own partial sort's choice, so
    an exported graph is checked against PyTorch under this rule. A stable sort costs ~6x the top-k
    (64 windows x 256 tokens: 207 vs 27 ms on CPU), hence only here and not in every forward.
    """
    global _lowest_index_ties
    before, _lowest_index_ties = _lowest_index_ties, True
    try:
        yield
    finally:
        _lowest_index_ties = before


def clip_topk(k: int, num_tokens: int, include_self: bool = False) -> int:
    """Largest usable k for a window of ``num_tokens`` tokens (N-1 without self, N with)."""
    if k < 1:
        raise ValueError(f"top-k must be >= 1, got {k}")
    limit = num_tokens if include_self else num_tokens - 1
    # sym_max/sym_min are max/min on ints; on an ONNX export's symbolic N they keep k = min(k, N-1)
    # in the graph instead of fixing it to the export example's value.
    return torch.sym_max(1, torch.sym_min(int(k), limit))


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
        if torch.compiler.is_exporting():  # ONNX export needs a functional graph: no write into a view
            sim = sim.masked_fill(torch.eye(n, dtype=torch.bool, device=sim.device), float("-inf"))
        else:
            sim.diagonal(dim1=1, dim2=2).fill_(float("-inf"))
    if _lowest_index_ties:
        return torch.sort(sim, dim=-1, descending=True, stable=True).indices[..., :k]
    return sim.topk(k, dim=-1, sorted=False).indices
