"""``semanir bench attention``: the paper's Table 1 (memory) and its runtime twin.

Every implementation of attention over the key-semantic dictionary, plus the dense window
attention it prunes (``dense_attention``: the (H, N, N) bias looked up from the table, then SDPA),
on B windows x H heads x head dim D (default 4 x 6 x 30, as in the issue's measurements).
The default grid is the paper's: N in 512..8192 at k=512, and k in 32..512 at N=8192.
The dictionary's own construction (top-k of P @ P.T, fp32, C = H*D channels) is timed as a row.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F

from ..attention import (
    AUTO,
    BACKENDS,
    ImplementationUnavailable,
    build_key_semantic_dictionary,
    clip_topk,
    dense_attention,
    key_semantic_attention,
    resolve_implementation,
    table_size,
)
from .measure import available_bytes, median_seconds, peak_memory_bytes

PAPER_N = (512, 1024, 2048, 4096, 8192)
PAPER_K = (32, 64, 128, 256, 512)
# Rows: the registered implementations, `auto`, the dense attention SemanIR prunes, and the
# dictionary's own construction.
IMPLS = ("dense", *BACKENDS, AUTO, "dictionary")
DEFAULT_IMPLS = ("dictionary", "dense", *BACKENDS)


@dataclass
class Shape:
    windows: int = 4
    heads: int = 6
    head_dim: int = 30
    dtype: str = "float32"


@dataclass
class Row:
    n: int
    k: int
    impl: str
    ran: str | None  # what actually ran (auto resolved), None when skipped
    backward: bool
    time_ms: float | None = None
    peak_mb: float | None = None
    vs_dense: float | None = None
    note: str = ""


def window_for(n: int) -> tuple[int, int]:
    """The squarest (wh, ww) window of n tokens, wh <= ww."""
    wh = max(d for d in range(1, math.isqrt(n) + 1) if n % d == 0)
    return wh, n // wh


def default_grid(ns, ks) -> list[tuple[int, int]]:
    if ns is None and ks is None:  # the paper's two sweeps
        return [(n, 512) for n in PAPER_N] + [(8192, k) for k in PAPER_K if k != 512]
    return [(n, k) for n in (ns or PAPER_N) for k in (ks or PAPER_K)]


def estimate_bytes(impl: str, shape: Shape, n: int, k: int, backward: bool) -> int:
    """Rough upper estimate of the extra memory one call needs, to skip hopeless runs before they OOM."""
    b, h, d = shape.windows, shape.heads, shape.head_dim
    s = torch.finfo(getattr(torch, shape.dtype)).bits // 8
    if impl == "dense":
        return 2 * h * n * n * s + (2 * b * h * n * n * 4 if backward else 0)
    if impl == "dictionary":
        return b * n * n * 4 + b * n * k * 16
    return BACKENDS[impl].extra_bytes(b, h, n, k, d, s, backward) * (2 if backward else 1)


def _inputs(shape: Shape, n: int, k: int, device: torch.device, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    dtype = getattr(torch, shape.dtype)
    b, h, d = shape.windows, shape.heads, shape.head_dim
    window = window_for(n)
    # As the model feeds them: cosine attention, q carries a logit scale of 10.
    q = F.normalize(torch.randn(b, h, n, d, generator=g), dim=-1) * 10.0
    key = F.normalize(torch.randn(b, h, n, d, generator=g), dim=-1)
    v = torch.randn(b, h, n, d, generator=g)
    bias = 16 * torch.sigmoid(torch.randn(h, table_size(window), generator=g))
    tokens = torch.randn(b, n, h * d, generator=g).to(device)
    q, key, v, bias = (t.to(device, dtype) for t in (q, key, v, bias))
    return q, key, v, bias, tokens, window


def _call(impl, q, k, v, bias, tokens, index, window, backward):
    if impl == "dictionary":
        return lambda: build_key_semantic_dictionary(tokens, index.shape[-1])
    if impl == "dense":
        attend = lambda a, b_, c, bt: dense_attention(a, b_, c, bt, window)  # noqa: E731
    else:
        attend = lambda a, b_, c, bt: key_semantic_attention(a, b_, c, index, bt, window, impl)  # noqa: E731
    if not backward:
        def forward():
            with torch.no_grad():
                return attend(q, k, v, bias)
        return forward
    leaves = [t.detach().requires_grad_(True) for t in (q, k, v, bias)]
    grad = torch.randn_like(q)

    def forward_backward():
        out = attend(*leaves)
        out.backward(grad)
        grads = [t.grad for t in leaves]
        for t in leaves:
            t.grad = None
        return grads

    return forward_backward


def run(
    device: torch.device,
    grid: list[tuple[int, int]],
    impls=DEFAULT_IMPLS,
    backward: bool = False,
    repeats: int = 3,
    shape: Shape | None = None,
    memory_limit: int | None = None,
    call_budget_s: float = 60.0,
) -> list[Row]:
    """Measure every (N, k, impl), forward (and forward+backward when ``backward``)."""
    shape = shape or Shape()
    limit = memory_limit if memory_limit is not None else int(0.6 * available_bytes(device))
    passes = (False, True) if backward else (False,)
    rows: list[Row] = []
    dense_time: dict[tuple[int, bool], float] = {}
    # Peak memory is measured after every timing: measuring it pins glibc's mmap threshold
    # (see measure.py), which would slow the timings taken after it.
    memory_calls: list[tuple[Row, object]] = []
    for n, k_req in grid:
        k = clip_topk(k_req, n)
        q, key, v, bias, tokens, window = _inputs(shape, n, k, device)
        index = build_key_semantic_dictionary(tokens, k)
        for impl in impls:
            for bwd in passes:
                if impl == "dictionary" and bwd:
                    continue
                row = Row(n, k, impl, None, bwd)
                rows.append(row)
                if impl == "dense" and (n, bwd) in dense_time:  # k does not change dense attention
                    row.ran, row.time_ms, row.vs_dense = "dense", dense_time[(n, bwd)] * 1e3, 1.0
                    row.note = "same as above (independent of k)"
                    continue
                try:
                    ran = impl if impl in ("dense", "dictionary") else resolve_implementation(impl, device, n, k, getattr(torch, shape.dtype))
                except ImplementationUnavailable as err:
                    row.note = f"skipped: {err}"
                    continue
                need = estimate_bytes(ran, shape, n, k, bwd)
                if need > limit:
                    row.note = f"skipped: needs ~{need / 2**30:.1f} GiB > limit {limit / 2**30:.1f} GiB"
                    continue
                fn = _call(ran, q, key, v, bias, tokens, index, window, bwd)
                first = median_seconds(fn, device, repeats=1, warmup=1)  # compile/warm-up, then one timing
                row.ran = ran
                if first * repeats > call_budget_s:
                    seconds = first
                    row.note = f"1 run (a call takes {first:.0f} s)"
                else:
                    seconds = median_seconds(fn, device, repeats=repeats, warmup=0)
                memory_calls.append((row, fn))
                row.time_ms = seconds * 1e3
                if impl == "dense":
                    dense_time[(n, bwd)] = seconds
        for row in rows:
            base = dense_time.get((row.n, row.backward))
            if row.time_ms is not None and base and row.n == n:
                row.vs_dense = row.time_ms / 1e3 / base
    for row, fn in memory_calls:
        peak = peak_memory_bytes(fn, device)
        row.peak_mb = None if peak is None else peak / 2**20
    return rows


def as_table(rows: list[Row]) -> tuple[list[str], list[list[str]]]:
    headers = ["N", "k", "impl", "ran", "pass", "time ms", "x dense", "peak MiB", "note"]
    fmt = lambda x, spec: "-" if x is None else format(x, spec)  # noqa: E731
    body = [
        [str(r.n), str(r.k), r.impl, r.ran or "-", "fwd+bwd" if r.backward else "fwd",
         fmt(r.time_ms, ".1f"), fmt(r.vs_dense, ".3f"), fmt(r.peak_mb, ".0f"), r.note]
        for r in rows
    ]  # fmt: skip
    return headers, body


def as_json(rows: list[Row], shape: Shape) -> dict:
    return {"shape": asdict(shape), "results": [asdict(r) for r in rows]}
