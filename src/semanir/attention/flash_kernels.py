"""Dictionary-restricted attention on tensor cores ("flash"), forward and backward, in Triton.

The gather kernel (``triton_kernels``) reads each query's own K key rows and reduces them on CUDA
cores; at the paper's K/N = 1/2 that is far slower than dense attention on tensor cores. Here one
program takes BLOCK_M queries against BLOCK_N keys at a time with ``tl.dot`` (FlashAttention's
tiling and online softmax), and the dictionary enters as an N x N byte mask per window, built once
from the top-k indices and reused by every layer and head of the stage (one cache entry per live
index tensor). The relative position bias is expanded from the (H, T) table to (H, N, N) once per
call, as dense attention does. Both are read as coalesced tiles: a first version that looked the
bias up per pair in-kernel and tested bits of a packed mask ran ~5x slower than dense SDPA on an
H200 (scattered loads, not arithmetic, bound it).

Backward follows FlashAttention-2: one kernel per key block accumulates dk and dv, one per query
block accumulates dq, both recomputing the probabilities from the saved log-sum-exp. The bias
gradient is the sum over windows of dS at each (head, query, bias offset): fp32 atomics into an
(H, N, T) buffer, where only the B windows can collide on an address (a query's keys all have
distinct offsets), then one coalesced sum over the queries. (Scattering an (H, N, N) buffer onto
the (H, T) table with ``index_add_`` instead took 30 ms at N=4096: every offset is hit N times.)

Dictionary indices must be distinct per query (top-k's are): a bit cannot count a key twice.
Importing this module compiles nothing; under TRITON_INTERPRET=1 the kernels run on CPU tensors.
"""

from __future__ import annotations

import weakref

import torch
import triton
import triton.language as tl

from .backends import triton_interpreting
from .position import dense_bias
from .triton_blocks import block_d, program_block, rows_contiguous

# Read once, as triton.jit does when it defines the kernels below.
_INTERPRETING = triton_interpreting()


@triton.jit
def _pair_key(tokens, WW):
    """Token -> its (row, column) folded so that key(i) - key(j) + C is the bias-table offset."""
    return (tokens // WW) * (2 * WW - 1) + tokens % WW


@triton.jit
def _dot(a, b, PRECISION: tl.constexpr):
    if PRECISION == "upcast":  # Triton's interpreter multiplies bf16 as raw uint16: give it fp32
        return tl.dot(a.to(tl.float32), b.to(tl.float32), input_precision="ieee")
    return tl.dot(a, b, input_precision=PRECISION)


@triton.jit
def _masked_logits(q, kt, BIAS, MASK, rows, cols, row_ok, col_ok, N, PRECISION: tl.constexpr):
    """q @ k.T + bias over one (BLOCK_M, BLOCK_N) tile, -inf outside the dictionary; returns (s, keep).

    BIAS and MASK point at this head's (N, N) bias and this window's (N, N) mask."""
    s = _dot(q, kt, PRECISION)
    ok = row_ok[:, None] & col_ok[None, :]
    pair = rows[:, None] * N + cols[None, :]
    keep = ok & (tl.load(MASK + pair, mask=ok, other=0) != 0)
    s += tl.load(BIAS + pair, mask=ok, other=0.0).to(tl.float32)
    return tl.where(keep, s, float("-inf")), keep


@triton.jit
def _flash_fwd_kernel(
    Q, K, V, MASK, BIAS, OUT, LSE,
    s_qb, s_qh, s_qn, s_kb, s_kh, s_kn, s_vb, s_vh, s_vn, s_ob, s_oh, s_on,
    H, N, D, T, C, WW, N_BUCKET,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr, PRECISION: tl.constexpr,
):  # fmt: skip
    b, h, rows, dims, row_ok, d_ok = program_block(H, N, D, BLOCK_M, BLOCK_D)
    q = tl.load(Q + b * s_qb + h * s_qh + rows[:, None] * s_qn + dims[None, :], mask=row_ok[:, None] & d_ok[None, :], other=0.0)
    m_i = tl.full([BLOCK_M], float("-inf"), tl.float32)
    l_i = tl.zeros([BLOCK_M], tl.float32)
    acc = tl.zeros([BLOCK_M, BLOCK_D], tl.float32)
    for start in range(0, N, BLOCK_N):
        cols = start + tl.arange(0, BLOCK_N)
        col_ok = cols < N
        kt = tl.load(K + b * s_kb + h * s_kh + cols[None, :] * s_kn + dims[:, None], mask=d_ok[:, None] & col_ok[None, :], other=0.0)
        s, keep = _masked_logits(q, kt, BIAS + h * N * N, MASK + b * N * N, rows, cols, row_ok, col_ok, N, PRECISION)
        m_new = tl.maximum(m_i, tl.max(s, axis=1))
        m_safe = tl.where(m_new == float("-inf"), 0.0, m_new)  # no key of this row in the tile yet
        alpha = tl.exp(m_i - m_safe)
        p = tl.exp(s - m_safe[:, None])
        l_i = l_i * alpha + tl.sum(p, axis=1)
        v = tl.load(V + b * s_vb + h * s_vh + cols[:, None] * s_vn + dims[None, :], mask=col_ok[:, None] & d_ok[None, :], other=0.0)
        acc = acc * alpha[:, None] + _dot(p.to(v.dtype), v, PRECISION)
        m_i = m_new
    l_safe = tl.where(row_ok, l_i, 1.0)
    tl.store(
        OUT + b * s_ob + h * s_oh + rows[:, None] * s_on + dims[None, :],
        (acc / l_safe[:, None]).to(OUT.dtype.element_ty), mask=row_ok[:, None] & d_ok[None, :],
    )  # fmt: skip
    tl.store(LSE + (b * H + h) * N + rows, m_i + tl.log(l_safe), mask=row_ok)


@triton.jit
def _query_block(Q, DO, LSE, DELTA, rows, dims, row_ok, d_ok, s_qn, s_dn):
    """q, dO, LSE and delta of a block of queries of one (window, head), as both backward kernels need."""
    io_mask = row_ok[:, None] & d_ok[None, :]
    q = tl.load(Q + rows[:, None] * s_qn + dims[None, :], mask=io_mask, other=0.0)
    do = tl.load(DO + rows[:, None] * s_dn + dims[None, :], mask=io_mask, other=0.0)
    return q, do, tl.load(LSE + rows, mask=row_ok, other=0.0), tl.load(DELTA + rows, mask=row_ok, other=0.0)


@triton.jit
def _flash_bwd_dkdv_kernel(
    Q, K, V, MASK, BIAS, DO, LSE, DELTA, DK, DV, DSUM,
    s_qb, s_qh, s_qn, s_kb, s_kh, s_kn, s_vb, s_vh, s_vn, s_db, s_dh, s_dn,
    H, N, D, T, C, WW, N_BUCKET,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr, PRECISION: tl.constexpr,
):  # fmt: skip
    b, h, cols, dims, col_ok, d_ok = program_block(H, N, D, BLOCK_N, BLOCK_D)
    kv_mask = col_ok[:, None] & d_ok[None, :]
    k = tl.load(K + b * s_kb + h * s_kh + cols[:, None] * s_kn + dims[None, :], mask=kv_mask, other=0.0)
    v = tl.load(V + b * s_vb + h * s_vh + cols[:, None] * s_vn + dims[None, :], mask=kv_mask, other=0.0)
    kt = tl.trans(k)
    vt = tl.trans(v)
    dk = tl.zeros([BLOCK_N, BLOCK_D], tl.float32)
    dv = tl.zeros([BLOCK_N, BLOCK_D], tl.float32)
    for start in range(0, N, BLOCK_M):
        rows = start + tl.arange(0, BLOCK_M)
        row_ok = rows < N
        q, do, lse, delta = _query_block(
            Q + b * s_qb + h * s_qh, DO + b * s_db + h * s_dh, LSE + (b * H + h) * N, DELTA + (b * H + h) * N,
            rows, dims, row_ok, d_ok, s_qn, s_dn,
        )  # fmt: skip
        s, keep = _masked_logits(q, kt, BIAS + h * N * N, MASK + b * N * N, rows, cols, row_ok, col_ok, N, PRECISION)
        p = tl.where(keep, tl.exp(s - lse[:, None]), 0.0)
        dv += _dot(tl.trans(p.to(do.dtype)), do, PRECISION)
        dp = _dot(do, vt, PRECISION)
        ds = p * (dp - delta[:, None])
        dk += _dot(tl.trans(ds.to(q.dtype)), q, PRECISION)
        off = _pair_key(rows, WW)[:, None] - _pair_key(cols, WW)[None, :] + C
        # int64: H x N x T passes 2**31 at N = 8192 with 8 heads.
        tl.atomic_add(DSUM + (h * N + rows[:, None]).to(tl.int64) * T + off, ds, mask=keep, sem="relaxed")
    out = (b * H + h) * N * D + cols[:, None] * D + dims[None, :]
    tl.store(DK + out, dk, mask=kv_mask)
    tl.store(DV + out, dv, mask=kv_mask)


@triton.jit
def _flash_bwd_dq_kernel(
    Q, K, V, MASK, BIAS, DO, LSE, DELTA, DQ,
    s_qb, s_qh, s_qn, s_kb, s_kh, s_kn, s_vb, s_vh, s_vn, s_db, s_dh, s_dn,
    H, N, D, T, C, WW, N_BUCKET,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr, PRECISION: tl.constexpr,
):  # fmt: skip
    b, h, rows, dims, row_ok, d_ok = program_block(H, N, D, BLOCK_M, BLOCK_D)
    q, do, lse, delta = _query_block(
        Q + b * s_qb + h * s_qh, DO + b * s_db + h * s_dh, LSE + (b * H + h) * N, DELTA + (b * H + h) * N,
        rows, dims, row_ok, d_ok, s_qn, s_dn,
    )  # fmt: skip
    dq = tl.zeros([BLOCK_M, BLOCK_D], tl.float32)
    for start in range(0, N, BLOCK_N):
        cols = start + tl.arange(0, BLOCK_N)
        col_ok = cols < N
        t_mask = d_ok[:, None] & col_ok[None, :]
        kt = tl.load(K + b * s_kb + h * s_kh + cols[None, :] * s_kn + dims[:, None], mask=t_mask, other=0.0)
        vt = tl.load(V + b * s_vb + h * s_vh + cols[None, :] * s_vn + dims[:, None], mask=t_mask, other=0.0)
        s, keep = _masked_logits(q, kt, BIAS + h * N * N, MASK + b * N * N, rows, cols, row_ok, col_ok, N, PRECISION)
        p = tl.where(keep, tl.exp(s - lse[:, None]), 0.0)
        ds = p * (_dot(do, vt, PRECISION) - delta[:, None])
        dq += _dot(ds.to(kt.dtype), tl.trans(kt), PRECISION)
    tl.store(DQ + (b * H + h) * N * D + rows[:, None] * D + dims[None, :], dq, mask=row_ok[:, None] & d_ok[None, :])


def _configs(reset=None):
    if _INTERPRETING:  # the interpreter runs every config: one small tile keeps the CPU tests fast
        return [triton.Config({"BLOCK_M": 16, "BLOCK_N": 32}, num_warps=4)]
    # The first H200 run picked 128x64 (4 warps, 2 stages) for bf16 and fp32 at N=1024, 64x64 for
    # small N; the other two candidates never won, and every candidate costs a compile.
    shapes = [(64, 64, 4, 2), (128, 64, 4, 2)]
    return [triton.Config({"BLOCK_M": m, "BLOCK_N": n}, num_warps=w, num_stages=s) for m, n, w, s in shapes]


# Tuned per head-dim tile and power-of-two bucket of N (tensor dtypes are part of the key too);
# N itself is a runtime argument, so a new window size never recompiles.
_KEY = ["N_BUCKET", "BLOCK_D"]
_fwd = triton.autotune(_configs(), key=_KEY)(_flash_fwd_kernel)
_bwd_dkdv = triton.autotune(_configs(), key=_KEY, reset_to_zero=["DSUM"])(_flash_bwd_dkdv_kernel)
_bwd_dq = triton.autotune(_configs(), key=_KEY)(_flash_bwd_dq_kernel)

_mask_cache: dict[int, tuple[weakref.ref, int, torch.Tensor]] = {}


def dictionary_mask(index: torch.Tensor, n: int) -> torch.Tensor:
    """(B, N, K) indices -> (B, N, N) uint8, 1 where key j is in query i's dictionary.

    Built once per live index tensor: every layer and head of a stage shares it (and so do the
    forward and backward of each)."""
    key = id(index)
    hit = _mask_cache.get(key)
    if hit is not None and hit[0]() is index and hit[1] == index._version:
        return hit[2]
    mask = torch.zeros(index.shape[0], n, n, dtype=torch.uint8, device=index.device).scatter_(2, index, 1)
    _mask_cache[key] = (weakref.ref(index, lambda _ref: _mask_cache.pop(key, None)), index._version, mask)
    return mask


def _precision(dtype: torch.dtype) -> str:
    if _INTERPRETING and dtype == torch.bfloat16:
        return "upcast"  # exact: a bf16 x bf16 product fits fp32, as in the tensor cores' fp32 sums
    # fp32 inputs use TF32 tensor cores only where the user allowed it for matmuls.
    return "tf32" if dtype != torch.float32 or torch.backends.cuda.matmul.allow_tf32 else "ieee"


def _launch_args(q, window):
    b, h, n, d = q.shape
    wh, ww = window
    return dict(
        H=h, N=n, D=d, T=(2 * wh - 1) * (2 * ww - 1), C=(wh - 1) * (2 * ww - 1) + (ww - 1), WW=ww,
        N_BUCKET=triton.next_power_of_2(n), BLOCK_D=block_d(d), PRECISION=_precision(q.dtype),
    )  # fmt: skip


def _strides(*tensors):
    return [s for t in tensors for s in (t.stride(0), t.stride(1), t.stride(2))]


def _dense_bias(bias_table, window, dtype):
    """(H, T) table -> (H, N, N) bias of every pair, in the dtype the kernel adds it in."""
    return dense_bias(bias_table.contiguous().to(dtype), window)


def forward(q, k, v, index, bias_table, window) -> tuple[torch.Tensor, torch.Tensor]:
    """Returns (out (B, H, N, D) in q's dtype, lse (B, H, N) fp32)."""
    q, k, v = (rows_contiguous(t) for t in (q, k, v))
    b, h, n, _ = q.shape
    mask = dictionary_mask(index, n)
    bias = _dense_bias(bias_table, window, q.dtype)
    out = torch.empty_like(q, memory_format=torch.contiguous_format)
    lse = torch.empty(b, h, n, device=q.device, dtype=torch.float32)
    grid = lambda meta: (triton.cdiv(n, meta["BLOCK_M"]), b * h)  # noqa: E731
    _fwd[grid](q, k, v, mask, bias, out, lse, *_strides(q, k, v, out), **_launch_args(q, window))
    return out, lse


def backward(grad_out, q, k, v, index, bias_table, out, lse, window):
    """Returns (dq, dk, dv, dbias) in the dtypes of (q, k, v, bias_table)."""
    # tl.dot takes one dtype: dO in q's, whatever precision the caller's loss ran in.
    q, k, v, grad_out = (rows_contiguous(t) for t in (q, k, v, grad_out.to(q.dtype)))
    b, h, n, d = q.shape
    mask = dictionary_mask(index, n)
    bias = _dense_bias(bias_table, window, q.dtype)
    delta = (out.float() * grad_out.float()).sum(-1).contiguous()
    dq = torch.empty(b, h, n, d, device=q.device, dtype=torch.float32)
    dk = torch.empty_like(dq)
    dv = torch.empty_like(dq)
    dsum = torch.zeros(h, n, bias_table.shape[1], device=q.device, dtype=torch.float32)
    strides = _strides(q, k, v, grad_out)
    args = _launch_args(q, window)
    _bwd_dkdv[lambda meta: (triton.cdiv(n, meta["BLOCK_N"]), b * h)](
        q, k, v, mask, bias, grad_out, lse, delta, dk, dv, dsum, *strides, **args
    )
    _bwd_dq[lambda meta: (triton.cdiv(n, meta["BLOCK_M"]), b * h)](
        q, k, v, mask, bias, grad_out, lse, delta, dq, *strides, **args
    )
    return dq.to(q.dtype), dk.to(k.dtype), dv.to(v.dtype), dsum.sum(1).to(bias_table.dtype)
