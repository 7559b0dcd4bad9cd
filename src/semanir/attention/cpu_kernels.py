"""CPU kernels (numba) for attention over the key-semantic dictionary, forward and backward.

Layout: the callers' head-major ``(B, H, N, Dp)`` fp32, head dim zero-padded to a multiple of 8
(no copy when it already is one). Work is split by (window, head): the keys and values of one
window-head (N x Dp floats each, 1 MiB for N = 4096, Dp = 32) stay in the core's L2 cache while
its queries gather rows from them at random. Splitting by query instead, with all heads per row,
made every core stream random 768-byte rows from a 6 MiB per-window set in L3, 2.4x slower at
N = 4096, k = 512 (benchmarks/attention_cpu.md).

Within a task, queries go in blocks, and each block makes separate passes that touch the keys
only (logits) and then the values only (softmax and weighted sum); the backward likewise splits
into key, value, (dq, dk) and dv passes. Each pass then works on 0.5-1 MiB instead of 1-2 MiB
(25% faster forward, 1.9x faster backward at N = 4096, k = 512). The softmax is exact two-pass
(max, then exp-sum); ``_exp`` is a polynomial exp that LLVM vectorises (a scalar ``math.exp``
per (query, key, head) cost a fifth of the forward). The forward splits a window-head's queries
over several tasks when there are fewer window-heads than threads. The backward keeps one task
per window-head, so its scatter-adds into dk, dv and the per-window bias partials need no atomics
and are deterministic.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import torch
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic

# IEEE-safe fast-math: reassociation/contraction for SIMD, but no "no-inf/no-nan" assumptions.
_FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}
_JIT = dict(parallel=True, fastmath=_FASTMATH, cache=True, nogil=True)


@intrinsic
def _bits_to_float32(typingctx, bits):
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())

    return types.float32(types.int32), codegen


@njit(fastmath=_FASTMATH, inline="always", cache=True)
def _exp(x):
    """exp(x) for x <= 0 within 2e-7 relative: 2^n * P(f), P a degree-6 fit of 2^f on [-1/2, 1/2]."""
    x = max(x, np.float32(-87.0))
    t = x * np.float32(1.4426950408889634)
    n = math.floor(t + np.float32(0.5))
    f = t - n
    p = np.float32(1.5469736536033452e-4)
    p = p * f + np.float32(1.340043731033802e-3)
    p = p * f + np.float32(9.61802527308464e-3)
    p = p * f + np.float32(5.550327152013779e-2)
    p = p * f + np.float32(2.4022650718688965e-1)
    p = p * f + np.float32(6.931471824645996e-1)
    p = p * f + np.float32(1.0)
    return p * _bits_to_float32(np.int32(n + 127) << 23)


@njit(**_JIT)
def _forward(q, k, v, index, bias, qbase, kpos, blocks, qb_size, out, lse):
    nb, nh, n, d = q.shape
    kk = index.shape[2]
    k4 = kk - kk % 4
    per_task = -(-n // blocks)
    for task in prange(nb * nh * blocks):
        pair = task // blocks
        b = pair // nh
        h = pair - b * nh
        start = (task - pair * blocks) * per_task
        stop = min(start + per_task, n)
        s = np.empty((qb_size, kk), dtype=np.float32)
        row_max = np.empty(qb_size, dtype=np.float32)
        acc = np.empty(d, dtype=np.float32)
        for i0 in range(start, stop, qb_size):
            i1 = min(i0 + qb_size, stop)
            # Phase 1, keys only: logits and row maxima of the block's queries.
            for i in range(i0, i1):
                r = i - i0
                qb = qbase[i]
                m = np.float32(-3.0e38)
                # Four keys at a time: four independent dot products per loaded query element.
                for j in range(0, k4, 4):
                    t0, t1, t2, t3 = index[b, i, j], index[b, i, j + 1], index[b, i, j + 2], index[b, i, j + 3]
                    a0, a1 = bias[h, qb - kpos[t0]], bias[h, qb - kpos[t1]]
                    a2, a3 = bias[h, qb - kpos[t2]], bias[h, qb - kpos[t3]]
                    for c in range(d):
                        qc = q[b, h, i, c]
                        a0 += qc * k[b, h, t0, c]
                        a1 += qc * k[b, h, t1, c]
                        a2 += qc * k[b, h, t2, c]
                        a3 += qc * k[b, h, t3, c]
                    s[r, j], s[r, j + 1], s[r, j + 2], s[r, j + 3] = a0, a1, a2, a3
                    m = max(m, max(max(a0, a1), max(a2, a3)))
                for j in range(k4, kk):
                    t = index[b, i, j]
                    a = bias[h, qb - kpos[t]]
                    for c in range(d):
                        a += q[b, h, i, c] * k[b, h, t, c]
                    s[r, j] = a
                    m = max(m, a)
                row_max[r] = m
            # Phase 2, values only: softmax and the weighted sum.
            for i in range(i0, i1):
                r = i - i0
                m = row_max[r]
                den = np.float32(0.0)
                for j in range(kk):
                    e = _exp(s[r, j] - m)
                    s[r, j] = e
                    den += e
                for c in range(d):
                    acc[c] = 0.0
                for j in range(0, k4, 4):
                    t0, t1, t2, t3 = index[b, i, j], index[b, i, j + 1], index[b, i, j + 2], index[b, i, j + 3]
                    p0, p1, p2, p3 = s[r, j], s[r, j + 1], s[r, j + 2], s[r, j + 3]
                    for c in range(d):
                        acc[c] += p0 * v[b, h, t0, c] + p1 * v[b, h, t1, c] + p2 * v[b, h, t2, c] + p3 * v[b, h, t3, c]
                for j in range(k4, kk):
                    t = index[b, i, j]
                    p = s[r, j]
                    for c in range(d):
                        acc[c] += p * v[b, h, t, c]
                inv = np.float32(1.0) / den
                for c in range(d):
                    out[b, h, i, c] = acc[c] * inv
                lse[b, h, i] = m + math.log(den)


@njit(**_JIT)
def _backward(q, k, v, dout, index, bias, qbase, kpos, lse, delta, qb_size, dq, dk, dv, dbias_part):
    """dq, dk, dv, dbias_part must be zero-filled; dbias_part is (B, H, T)."""
    nb, nh, n, d = q.shape
    kk = index.shape[2]
    for task in prange(nb * nh):
        b = task // nh
        h = task - b * nh
        prob = np.empty((qb_size, kk), dtype=np.float32)
        dlogit = np.empty((qb_size, kk), dtype=np.float32)
        for i0 in range(0, n, qb_size):
            i1 = min(i0 + qb_size, n)
            for i in range(i0, i1):  # probabilities: reads keys
                r = i - i0
                qb = qbase[i]
                l_i = lse[b, h, i]
                for j in range(kk):
                    t = index[b, i, j]
                    sc = bias[h, qb - kpos[t]]
                    for c in range(d):
                        sc += q[b, h, i, c] * k[b, h, t, c]
                    prob[r, j] = _exp(sc - l_i)
            for i in range(i0, i1):  # logit and bias gradients: reads values
                r = i - i0
                qb = qbase[i]
                delta_i = delta[b, h, i]
                for j in range(kk):
                    t = index[b, i, j]
                    dp = np.float32(0.0)
                    for c in range(d):
                        dp += dout[b, h, i, c] * v[b, h, t, c]
                    ds = prob[r, j] * (dp - delta_i)
                    dlogit[r, j] = ds
                    dbias_part[b, h, qb - kpos[t]] += ds
            for i in range(i0, i1):  # dq and dk: keys and their gradients
                r = i - i0
                for j in range(kk):
                    t = index[b, i, j]
                    ds = dlogit[r, j]
                    for c in range(d):
                        dq[b, h, i, c] += ds * k[b, h, t, c]
                        dk[b, h, t, c] += ds * q[b, h, i, c]
            for i in range(i0, i1):  # dv: value gradients only
                r = i - i0
                for j in range(kk):
                    t = index[b, i, j]
                    p = prob[r, j]
                    for c in range(d):
                        dv[b, h, t, c] += p * dout[b, h, i, c]


def _query_block(k: int) -> int:
    """Queries per phase: the block's K logits (x2 in the backward) stay within ~128 KiB."""
    return max(8, min(128, 32768 // max(k, 1)))


def _pad_dim(d: int) -> int:
    return -(-d // 8) * 8


def _padded(t: torch.Tensor, dp: int) -> np.ndarray:
    """(B, H, N, D) any dtype/strides -> (B, H, N, Dp) fp32 contiguous (a view when already so)."""
    if t.shape[-1] == dp and t.dtype == torch.float32 and t.is_contiguous():
        return t.detach().numpy()
    buf = t.new_zeros(*t.shape[:-1], dp, dtype=torch.float32)
    buf[..., : t.shape[-1]] = t.detach()
    return buf.numpy()


def _geometry(window: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """offset(i, j) = qbase[i] - kpos[j]: the flat bias-table offset without any division."""
    wh, ww = window
    tok = torch.arange(wh * ww)
    y, x = tok // ww, tok % ww
    tw = 2 * ww - 1
    qbase = (y + wh - 1) * tw + x + ww - 1
    kpos = y * tw + x
    return qbase.int().numpy(), kpos.int().numpy()


def _check_index(index: torch.Tensor, n: int) -> np.ndarray:
    # A bad index would read out of bounds in compiled code: fail like the torch paths do.
    if index.numel() and (int(index.min()) < 0 or int(index.max()) >= n):
        raise IndexError(f"dictionary index out of range for a window of {n} tokens")
    return index.to(torch.int32).contiguous().numpy()


def _unpadded(a: np.ndarray, d: int, dtype: torch.dtype) -> torch.Tensor:
    t = torch.from_numpy(a)
    return (t if t.shape[-1] == d else t[..., :d]).to(dtype).contiguous()


def forward(q, k, v, index, bias_table, window) -> tuple[torch.Tensor, torch.Tensor]:
    """Returns (out (B, H, N, D) in q's dtype, lse (B, H, N) fp32)."""
    b, h, n, d = q.shape
    dp = _pad_dim(d)
    qt, kt, vt = (_padded(t, dp) for t in (q, k, v))
    out = np.empty((b, h, n, dp), dtype=np.float32)
    lse = np.empty((b, h, n), dtype=np.float32)
    qbase, kpos = _geometry(window)
    bias = bias_table.detach().float().contiguous().numpy()
    # Enough tasks for every thread even with a single window-head.
    blocks = max(1, min(n, -(-4 * numba.get_num_threads() // (b * h))))
    qb_size = _query_block(index.shape[-1])
    _forward(qt, kt, vt, _check_index(index, n), bias, qbase, kpos, blocks, qb_size, out, lse)
    return _unpadded(out, d, q.dtype), torch.from_numpy(lse)


def backward(grad_out, q, k, v, index, bias_table, out, lse, window):
    """Returns (dq, dk, dv, dbias) in the dtypes of (q, k, v, bias_table)."""
    b, h, n, d = q.shape
    dp = _pad_dim(d)
    qt, kt, vt, got = (_padded(t, dp) for t in (q, k, v, grad_out))
    delta = (out.float() * grad_out.float()).sum(-1).contiguous().numpy()
    lse_np = lse.float().contiguous().numpy()
    dq, dk, dv = (np.zeros((b, h, n, dp), dtype=np.float32) for _ in range(3))
    dbias_part = np.zeros((b, *bias_table.shape), dtype=np.float32)
    qbase, kpos = _geometry(window)
    bias = bias_table.detach().float().contiguous().numpy()
    qb_size = _query_block(index.shape[-1]) // 2
    _backward(qt, kt, vt, got, _check_index(index, n), bias, qbase, kpos, lse_np, delta, max(qb_size, 8), dq, dk, dv, dbias_part)
    dbias = torch.from_numpy(dbias_part).sum(0).to(bias_table.dtype)
    return _unpadded(dq, d, q.dtype), _unpadded(dk, d, k.dtype), _unpadded(dv, d, v.dtype), dbias
