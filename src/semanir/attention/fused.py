"""The fused implementations as ``torch.library`` custom ops: autograd, fake (meta) kernels for
tracing/compiling, and FLOP formulas so that ``torch.utils.flop_counter.FlopCounterMode`` counts
them.

Ops (one pair per fused backend registered in ``backends``, same schema):
    semanir::ksa_<name>(q, k, v, index, bias_table, wh, ww) -> (out, lse)
    semanir::ksa_<name>_backward(grad_out, q, k, v, index, bias_table, out, lse, wh, ww) -> (dq, dk, dv, dbias)

The backends' kernel modules are imported on first use: importing semanir never needs triton or numba.
"""

from __future__ import annotations

import importlib

import torch
from torch import Tensor
from torch.utils.flop_counter import register_flop_formula

_OPS: dict = {}
_MODULES: dict[str, str] = {}


def _kernels(backend: str):
    return importlib.import_module(_MODULES[backend])


def _flops_forward(q_shape, index_shape) -> int:
    b, h, n, d = q_shape
    # q.k over the K selected keys, then p.v: two "matmuls" of B*H*N*K*D multiply-adds.
    return 2 * (2 * b * h * n * index_shape[-1] * d)


def _flops_backward(q_shape, index_shape) -> int:
    b, h, n, d = q_shape
    # As torch counts SDPA's backward: recompute q.k, then dp = do.v, dv, dq, dk.
    return 5 * (2 * b * h * n * index_shape[-1] * d)


def define_fused_op(backend: str, module: str):
    """The custom ops ``semanir::ksa_<backend>`` (+ ``_backward``) over ``module``'s ``forward``/``backward``."""
    _MODULES[backend] = module
    name = f"semanir::ksa_{backend}"

    @torch.library.custom_op(name, mutates_args=())
    def fwd(q: Tensor, k: Tensor, v: Tensor, index: Tensor, bias_table: Tensor, wh: int, ww: int) -> tuple[Tensor, Tensor]:
        return _kernels(backend).forward(q, k, v, index, bias_table, (wh, ww))

    @fwd.register_fake
    def _(q, k, v, index, bias_table, wh, ww):
        b, h, n, _ = q.shape
        return torch.empty_like(q, memory_format=torch.contiguous_format), q.new_empty(b, h, n, dtype=torch.float32)

    @torch.library.custom_op(f"{name}_backward", mutates_args=())
    def bwd(
        grad_out: Tensor, q: Tensor, k: Tensor, v: Tensor, index: Tensor, bias_table: Tensor,
        out: Tensor, lse: Tensor, wh: int, ww: int,
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:  # fmt: skip
        return _kernels(backend).backward(grad_out, q, k, v, index, bias_table, out, lse, (wh, ww))

    @bwd.register_fake
    def _(grad_out, q, k, v, index, bias_table, out, lse, wh, ww):
        return tuple(torch.empty_like(t, memory_format=torch.contiguous_format) for t in (q, k, v, bias_table))

    def setup_context(ctx, inputs, output):
        q, k, v, index, bias_table, wh, ww = inputs
        ctx.save_for_backward(q, k, v, index, bias_table, *output)
        ctx.window = (wh, ww)

    def backward(ctx, grad_out, _grad_lse):
        q, k, v, index, bias_table, out, lse = ctx.saved_tensors
        dq, dk, dv, dbias = bwd(grad_out, q, k, v, index, bias_table, out, lse, *ctx.window)
        return dq, dk, dv, None, dbias, None, None

    fwd.register_autograd(backward, setup_context=setup_context)

    @register_flop_formula(getattr(torch.ops.semanir, f"ksa_{backend}"))
    def _(q_shape, k_shape, v_shape, index_shape, *args, **kwargs) -> int:
        return _flops_forward(q_shape, index_shape)

    @register_flop_formula(getattr(torch.ops.semanir, f"ksa_{backend}_backward"))
    def _(grad_out_shape, q_shape, k_shape, v_shape, index_shape, *args, **kwargs) -> int:
        return _flops_backward(q_shape, index_shape)

    _OPS[backend] = fwd
    return fwd


def fused_attention(backend: str, q, k, v, index, bias_table, window) -> Tensor:
    """Run one backend's op; the caller has checked availability (see ``resolve_implementation``)."""
    return _OPS[backend](q, k, v, index, bias_table, int(window[0]), int(window[1]))[0]
