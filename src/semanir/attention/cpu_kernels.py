"""CPU kernels (numba) for attention over the key-semantic dictionary, forward and backward.

Layout: token-major, ``(B, N, H, Dp)`` fp32 with the head dim zero-padded to a multiple of 8, so
that one selected key serves every head from one contiguous row and every per-head loop is whole
SIMD vectors. Per query the K logits of all heads fit in a small scratch buffer, so the softmax is
exact two-pass (max, then exp-sum) instead of online; memory stays O(N*C) plus O(K*H) per thread.

The forward is parallel over queries. The backward is parallel over (window, head) pairs: the
scatter-adds into dk/dv of a window-head belong to that task alone, and the bias gradient is summed
from per-window partials, so the result is deterministic and needs no atomics.

Keys are processed four at a time: that gives the compiler four independent dot products and
four FMAs per loaded accumulator, instead of one latency-bound chain per key.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from numba import njit, prange

# IEEE-safe fast-math: reassociation/contraction for SIMD, but no "no-inf/no-nan" assumptions.
_FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}
_JIT = dict(parallel=True, fastmath=_FASTMATH, cache=True, nogil=True)


@njit(**_JIT)
def _forward(q, k, v, index, bias, qbase, kpos, out, lse):
    nb, n, nh, d = q.shape
    kk = index.shape[2]
    k4 = kk - kk % 4
    for r in prange(nb * n):
        b = r // n
        i = r - b * n
        qb = qbase[i]
        s = np.empty((kk, nh), dtype=np.float32)
        for j in range(0, k4, 4):
            t0, t1, t2, t3 = index[b, i, j], index[b, i, j + 1], index[b, i, j + 2], index[b, i, j + 3]
            o0, o1, o2, o3 = qb - kpos[t0], qb - kpos[t1], qb - kpos[t2], qb - kpos[t3]
            for h in range(nh):
                a0, a1, a2, a3 = bias[h, o0], bias[h, o1], bias[h, o2], bias[h, o3]
                for c in range(d):
                    qc = q[b, i, h, c]
                    a0 += qc * k[b, t0, h, c]
                    a1 += qc * k[b, t1, h, c]
                    a2 += qc * k[b, t2, h, c]
                    a3 += qc * k[b, t3, h, c]
                s[j, h], s[j + 1, h], s[j + 2, h], s[j + 3, h] = a0, a1, a2, a3
        for j in range(k4, kk):
            t = index[b, i, j]
            o = qb - kpos[t]
            for h in range(nh):
                a = bias[h, o]
                for c in range(d):
                    a += q[b, i, h, c] * k[b, t, h, c]
                s[j, h] = a
        for h in range(nh):
            m = s[0, h]
            for j in range(1, kk):
                m = max(m, s[j, h])
            den = np.float32(0.0)
            for j in range(kk):
                e = math.exp(s[j, h] - m)
                s[j, h] = e
                den += e
            lse[b, i, h] = m + math.log(den)
            inv = np.float32(1.0) / den
            for j in range(kk):
                s[j, h] *= inv
        acc = np.zeros((nh, d), dtype=np.float32)
        for j in range(0, k4, 4):
            t0, t1, t2, t3 = index[b, i, j], index[b, i, j + 1], index[b, i, j + 2], index[b, i, j + 3]
            for h in range(nh):
                p0, p1, p2, p3 = s[j, h], s[j + 1, h], s[j + 2, h], s[j + 3, h]
                for c in range(d):
                    acc[h, c] += p0 * v[b, t0, h, c] + p1 * v[b, t1, h, c] + p2 * v[b, t2, h, c] + p3 * v[b, t3, h, c]
        for j in range(k4, kk):
            t = index[b, i, j]
            for h in range(nh):
                p = s[j, h]
                for c in range(d):
                    acc[h, c] += p * v[b, t, h, c]
        for h in range(nh):
            for c in range(d):
                out[b, i, h, c] = acc[h, c]


@njit(**_JIT)
def _backward(q, k, v, dout, index, bias, qbase, kpos, lse, delta, dq, dk, dv, dbias_part):
    """dq, dk, dv, dbias_part must be zero-filled; dbias_part is (B, H, T)."""
    nb, n, nh, d = q.shape
    kk = index.shape[2]
    for task in prange(nb * nh):
        b = task // nh
        h = task - b * nh
        for i in range(n):
            qb = qbase[i]
            l_i = lse[b, i, h]
            delta_i = delta[b, i, h]
            for j in range(kk):
                t = index[b, i, j]
                o = qb - kpos[t]
                sc = bias[h, o]
                dp = np.float32(0.0)
                for c in range(d):
                    sc += q[b, i, h, c] * k[b, t, h, c]
                    dp += dout[b, i, h, c] * v[b, t, h, c]
                p = math.exp(sc - l_i)
                ds = p * (dp - delta_i)
                dbias_part[b, h, o] += ds
                for c in range(d):
                    dq[b, i, h, c] += ds * k[b, t, h, c]
                    dk[b, t, h, c] += ds * q[b, i, h, c]
                    dv[b, t, h, c] += p * dout[b, i, h, c]


def _pad_dim(d: int) -> int:
    return -(-d // 8) * 8


def _token_major(t: torch.Tensor, dp: int) -> np.ndarray:
    """(B, H, N, D) any dtype/strides -> (B, N, H, Dp) fp32 contiguous (a view when already so)."""
    t = t.transpose(1, 2)
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


def _from_token_major(a: np.ndarray, d: int, dtype: torch.dtype) -> torch.Tensor:
    return torch.from_numpy(a)[..., :d].transpose(1, 2).to(dtype).contiguous()


def forward(q, k, v, index, bias_table, window) -> tuple[torch.Tensor, torch.Tensor]:
    """Returns (out (B, H, N, D) in q's dtype, lse (B, H, N) fp32)."""
    b, h, n, d = q.shape
    dp = _pad_dim(d)
    qt, kt, vt = (_token_major(t, dp) for t in (q, k, v))
    out = np.empty((b, n, h, dp), dtype=np.float32)
    lse = np.empty((b, n, h), dtype=np.float32)
    qbase, kpos = _geometry(window)
    bias = bias_table.detach().float().contiguous().numpy()
    _forward(qt, kt, vt, _check_index(index, n), bias, qbase, kpos, out, lse)
    return _from_token_major(out, d, q.dtype), torch.from_numpy(lse).transpose(1, 2).contiguous()


def backward(grad_out, q, k, v, index, bias_table, out, lse, window):
    """Returns (dq, dk, dv, dbias) in the dtypes of (q, k, v, bias_table)."""
    b, h, n, d = q.shape
    dp = _pad_dim(d)
    qt, kt, vt, dot = (_token_major(t, dp) for t in (q, k, v, grad_out))
    delta = (out.float() * grad_out.float()).sum(-1).transpose(1, 2).contiguous().numpy()
    lse_t = lse.transpose(1, 2).contiguous().numpy()
    dq, dk, dv = (np.zeros((b, n, h, dp), dtype=np.float32) for _ in range(3))
    dbias_part = np.zeros((b, *bias_table.shape), dtype=np.float32)
    qbase, kpos = _geometry(window)
    bias = bias_table.detach().float().contiguous().numpy()
    _backward(qt, kt, vt, dot, _check_index(index, n), bias, qbase, kpos, lse_t, delta, dq, dk, dv, dbias_part)
    dbias = torch.from_numpy(dbias_part).sum(0).to(bias_table.dtype)
    return (
        _from_token_major(dq, d, q.dtype),
        _from_token_major(dk, d, k.dtype),
        _from_token_major(dv, d, v.dtype),
        dbias,
    )
