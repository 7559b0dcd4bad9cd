"""Fused Triton kernels for attention over the key-semantic dictionary, forward and backward.

One program handles (one window, one head, BLOCK_M queries). It walks the queries' K dictionary
entries BLOCK_K at a time, gathers those key/value rows by index, adds the relative position bias
looked up in-kernel from the (H, T) table, and keeps a FlashAttention-style online softmax, so
nothing of size K x N x D (nor K x N) is ever written. The forward saves the log-sum-exp per query.

Backward: probabilities are recomputed from the LSE. dq belongs to its query and is accumulated in
registers; dk, dv and the bias gradient are scatter-adds, because many queries select the same key
(and many pairs share a bias offset). We use fp32 atomics for them rather than a transposed
(key-major) pass: the inverse of a top-k dictionary is irregular ("hub" tokens are chosen by many
queries), so a key-major kernel needs a sort/CSR build every step and suffers load imbalance, and
the bias table would still need a scatter. Atomics make the summation order, hence the last bits,
run-dependent; accumulating in fp32 keeps that far below the 1e-4 test tolerance.

Importing this module compiles nothing; set TRITON_INTERPRET=1 *before* importing it to run the
kernels on CPU tensors with Triton's interpreter (the tests do).
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from .triton_blocks import block_d, program_block, rows_contiguous

# Untuned, conservative tiles: no GPU was available when this was written
# (see benchmarks/training_throughput.md).
BLOCK_M = 16
BLOCK_K = 16
NUM_WARPS = 4


@triton.jit
def _bias_offset(rows, cols_tok, WH, WW):
    """Flat bias-table offset of (query, key) token pairs, tokens row-major in a WH x WW window."""
    dy = rows[:, None] // WW - cols_tok // WW
    dx = rows[:, None] % WW - cols_tok % WW
    return (dy + WH - 1) * (2 * WW - 1) + (dx + WW - 1)


@triton.jit
def _ksa_fwd_kernel(
    Q, K, V, IDX, BIAS, OUT, LSE,
    s_qb, s_qh, s_qn, s_kb, s_kh, s_kn, s_vb, s_vh, s_vn, s_ob, s_oh, s_on,
    s_ib, s_in, s_bh,
    H, N, KSEL, D, WH, WW,
    BLOCK_M: tl.constexpr, BLOCK_K: tl.constexpr, BLOCK_D: tl.constexpr,
):  # fmt: skip
    b, h, rows, dims, row_ok, d_ok = program_block(H, N, D, BLOCK_M, BLOCK_D)
    q = tl.load(
        Q + b * s_qb + h * s_qh + rows[:, None] * s_qn + dims[None, :],
        mask=row_ok[:, None] & d_ok[None, :], other=0.0,
    ).to(tl.float32)  # fmt: skip
    m_i = tl.full([BLOCK_M], float("-inf"), tl.float32)
    l_i = tl.zeros([BLOCK_M], tl.float32)
    acc = tl.zeros([BLOCK_M, BLOCK_D], tl.float32)
    for start in range(0, KSEL, BLOCK_K):
        cols = start + tl.arange(0, BLOCK_K)
        ok = row_ok[:, None] & (cols < KSEL)[None, :]
        tok = tl.load(IDX + b * s_ib + rows[:, None] * s_in + cols[None, :], mask=ok, other=0)
        ok3 = ok[:, :, None] & d_ok[None, None, :]
        kk = tl.load(K + b * s_kb + h * s_kh + tok[:, :, None] * s_kn + dims[None, None, :], mask=ok3, other=0.0)
        s = tl.sum(q[:, None, :] * kk.to(tl.float32), axis=2)
        off = _bias_offset(rows, tok, WH, WW)
        s += tl.load(BIAS + h * s_bh + off, mask=ok, other=0.0).to(tl.float32)
        s = tl.where(ok, s, float("-inf"))
        m_new = tl.maximum(m_i, tl.max(s, axis=1))
        m_safe = tl.where(m_new == float("-inf"), 0.0, m_new)  # rows past N see only -inf
        alpha = tl.exp(m_i - m_safe)
        p = tl.exp(s - m_safe[:, None])
        l_i = l_i * alpha + tl.sum(p, axis=1)
        vv = tl.load(V + b * s_vb + h * s_vh + tok[:, :, None] * s_vn + dims[None, None, :], mask=ok3, other=0.0)
        acc = acc * alpha[:, None] + tl.sum(p[:, :, None] * vv.to(tl.float32), axis=1)
        m_i = m_new
    l_safe = tl.where(row_ok, l_i, 1.0)
    out = acc / l_safe[:, None]
    tl.store(
        OUT + b * s_ob + h * s_oh + rows[:, None] * s_on + dims[None, :],
        out.to(OUT.dtype.element_ty), mask=row_ok[:, None] & d_ok[None, :],
    )  # fmt: skip
    tl.store(LSE + (b * H + h) * N + rows, m_i + tl.log(l_safe), mask=row_ok)


@triton.jit
def _ksa_bwd_kernel(
    Q, K, V, IDX, BIAS, DO, LSE, DELTA, DQ, DK, DV, DBIAS,
    s_qb, s_qh, s_qn, s_kb, s_kh, s_kn, s_vb, s_vh, s_vn, s_db, s_dh, s_dn,
    s_ib, s_in, s_bh,
    H, N, KSEL, D, WH, WW,
    BLOCK_M: tl.constexpr, BLOCK_K: tl.constexpr, BLOCK_D: tl.constexpr,
):  # fmt: skip
    b, h, rows, dims, row_ok, d_ok = program_block(H, N, D, BLOCK_M, BLOCK_D)
    io_mask = row_ok[:, None] & d_ok[None, :]
    q = tl.load(Q + b * s_qb + h * s_qh + rows[:, None] * s_qn + dims[None, :], mask=io_mask, other=0.0).to(tl.float32)
    do = tl.load(DO + b * s_db + h * s_dh + rows[:, None] * s_dn + dims[None, :], mask=io_mask, other=0.0).to(tl.float32)
    lse = tl.load(LSE + (b * H + h) * N + rows, mask=row_ok, other=0.0)
    delta = tl.load(DELTA + (b * H + h) * N + rows, mask=row_ok, other=0.0)
    dq = tl.zeros([BLOCK_M, BLOCK_D], tl.float32)
    # dk, dv: fp32 contiguous (B, H, N, D) buffers; dbias: fp32 (H, T).
    grad_base = (b * H + h) * N * D
    for start in range(0, KSEL, BLOCK_K):
        cols = start + tl.arange(0, BLOCK_K)
        ok = row_ok[:, None] & (cols < KSEL)[None, :]
        tok = tl.load(IDX + b * s_ib + rows[:, None] * s_in + cols[None, :], mask=ok, other=0)
        ok3 = ok[:, :, None] & d_ok[None, None, :]
        kk = tl.load(K + b * s_kb + h * s_kh + tok[:, :, None] * s_kn + dims[None, None, :], mask=ok3, other=0.0)
        vv = tl.load(V + b * s_vb + h * s_vh + tok[:, :, None] * s_vn + dims[None, None, :], mask=ok3, other=0.0)
        kk = kk.to(tl.float32)
        vv = vv.to(tl.float32)
        off = _bias_offset(rows, tok, WH, WW)
        s = tl.sum(q[:, None, :] * kk, axis=2) + tl.load(BIAS + h * s_bh + off, mask=ok, other=0.0).to(tl.float32)
        p = tl.where(ok, tl.exp(s - lse[:, None]), 0.0)
        dp = tl.sum(do[:, None, :] * vv, axis=2)
        ds = p * (dp - delta[:, None])
        dq += tl.sum(ds[:, :, None] * kk, axis=1)
        key_rows = grad_base + tok[:, :, None] * D + dims[None, None, :]
        tl.atomic_add(DK + key_rows, ds[:, :, None] * q[:, None, :], mask=ok3, sem="relaxed")
        tl.atomic_add(DV + key_rows, p[:, :, None] * do[:, None, :], mask=ok3, sem="relaxed")
        tl.atomic_add(DBIAS + h * (2 * WH - 1) * (2 * WW - 1) + off, ds, mask=ok, sem="relaxed")
    tl.store(DQ + (b * H + h) * N * D + rows[:, None] * D + dims[None, :], dq, mask=io_mask)


def forward(q, k, v, index, bias_table, window) -> tuple[torch.Tensor, torch.Tensor]:
    """Returns (out (B, H, N, D) in q's dtype, lse (B, H, N) fp32)."""
    q, k, v, bias_table = (rows_contiguous(t) for t in (q, k, v, bias_table))
    index = index.contiguous()
    b, h, n, d = q.shape
    out = torch.empty_like(q, memory_format=torch.contiguous_format)
    lse = torch.empty(b, h, n, device=q.device, dtype=torch.float32)
    grid = (triton.cdiv(n, BLOCK_M), b * h)
    _ksa_fwd_kernel[grid](
        q, k, v, index, bias_table, out, lse,
        q.stride(0), q.stride(1), q.stride(2), k.stride(0), k.stride(1), k.stride(2),
        v.stride(0), v.stride(1), v.stride(2), out.stride(0), out.stride(1), out.stride(2),
        index.stride(0), index.stride(1), bias_table.stride(0),
        h, n, index.shape[-1], d, window[0], window[1],
        BLOCK_M=BLOCK_M, BLOCK_K=BLOCK_K, BLOCK_D=block_d(d), num_warps=NUM_WARPS,
    )  # fmt: skip
    return out, lse


def backward(grad_out, q, k, v, index, bias_table, out, lse, window):
    """Returns (dq, dk, dv, dbias) in the dtypes of (q, k, v, bias_table)."""
    q, k, v, grad_out = (rows_contiguous(t) for t in (q, k, v, grad_out))
    bias_table = bias_table.contiguous()
    index = index.contiguous()
    b, h, n, d = q.shape
    # delta_i = sum_d o_i * do_i, the softmax-backward correction (FlashAttention-2's preprocessing).
    delta = (out.float() * grad_out.float()).sum(-1).contiguous()
    dq = torch.empty(b, h, n, d, device=q.device, dtype=torch.float32)
    dk = torch.zeros_like(dq)
    dv = torch.zeros_like(dq)
    dbias = torch.zeros(bias_table.shape, device=q.device, dtype=torch.float32)
    grid = (triton.cdiv(n, BLOCK_M), b * h)
    _ksa_bwd_kernel[grid](
        q, k, v, index, bias_table, grad_out, lse, delta, dq, dk, dv, dbias,
        q.stride(0), q.stride(1), q.stride(2), k.stride(0), k.stride(1), k.stride(2),
        v.stride(0), v.stride(1), v.stride(2), grad_out.stride(0), grad_out.stride(1), grad_out.stride(2),
        index.stride(0), index.stride(1), bias_table.stride(0),
        h, n, index.shape[-1], d, window[0], window[1],
        BLOCK_M=BLOCK_M, BLOCK_K=BLOCK_K, BLOCK_D=block_d(d), num_warps=NUM_WARPS,
    )  # fmt: skip
    return dq.to(q.dtype), dk.to(k.dtype), dv.to(v.dtype), dbias.to(bias_table.dtype)
