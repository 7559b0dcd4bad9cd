"""Key-semantic attention: the dictionary and the interchangeable attention implementations."""

from __future__ import annotations

import warnings
from functools import lru_cache

import torch

from ..errors import UsageError

from .backends import BACKENDS, Backend, triton_interpreting
from .dictionary import build_key_semantic_dictionary, clip_topk
from .position import relative_coords_table, table_size
from .reference import dense_attention, gather_attention, mask_attention

AUTO = "auto"

class ImplementationUnavailable(UsageError, RuntimeError):
    """An implementation that exists but cannot run here (missing package, wrong device)."""


def available_implementations() -> list[str]:
    """Every valid ``attn_impl`` name (whether it can run here is ``resolve_implementation``'s call)."""
    return sorted([*BACKENDS, AUTO])


def check_implementation(name: str) -> str:
    """Validate an implementation name early (at model construction).

    Unknown names raise UsageError; a fused backend without its package raises
    ImplementationUnavailable, never a silent fallback that would misreport what ran.
    """
    if name == AUTO:
        return name
    if name not in BACKENDS:
        raise UsageError(f"unknown attn_impl {name!r}; choose from {available_implementations()}")
    missing = BACKENDS[name].missing()
    if missing:
        raise ImplementationUnavailable(f"attn_impl={name!r} is not available: {missing}")
    return name


# `auto` on CUDA: the gather kernel does K/N of the work on CUDA cores, `flash` all of it on tensor
# cores; gather wins where K/N is small, and in fp32 without TF32, where flash has no tensor cores.
# flash from K >= N / FLASH_MIN_RATIO. 16 is an estimate from issue 29's H200 figures (gather ~1 ms
# for any N*K = 2**19 in bf16, a tensor-core dense pass ~0.04-0.08 ms at N=1024): the crossover of
# today's flash is still to be measured (the `crossover` section of benchmarks/gpu_check.py;
# benchmarks/attention_gpu.md).
FLASH_MIN_RATIO = 16


@lru_cache(maxsize=None)
def _kernel_works(backend: str, device: torch.device) -> bool:
    """One tiny forward against ``gather`` on ``device``: importable is not the same as working."""
    if BACKENDS[backend].missing():
        return False
    g = torch.Generator(device="cpu").manual_seed(0)
    q, k, v = (torch.randn(1, 2, 16, 8, generator=g).to(device) for _ in range(3))
    bias = torch.randn(2, table_size((4, 4)), generator=g).to(device)
    index = build_key_semantic_dictionary(torch.randn(1, 16, 4, generator=g).to(device), 5)
    try:
        out = BACKENDS[backend].run(q, k, v, index, bias, (4, 4))
        ok = bool((out - gather_attention(q, k, v, index, bias, (4, 4))).abs().max() < 1e-3)
    except Exception as err:  # a broken driver/compiler must not take the model down
        warnings.warn(f"attn_impl='auto': the {backend!r} kernel failed on {device} ({err}); not using it")
        return False
    if not ok:
        warnings.warn(f"attn_impl='auto': the {backend!r} kernel disagrees with 'gather' on {device}; not using it")
    return ok


def _flash_has_tensor_cores(dtype: torch.dtype | None) -> bool:
    return dtype in (torch.float16, torch.bfloat16) or (dtype == torch.float32 and torch.backends.cuda.matmul.allow_tf32)


def _auto_cuda(device: torch.device, n: int | None, k: int | None, dtype: torch.dtype | None) -> str:
    small_k = n is not None and k is not None and k * FLASH_MIN_RATIO < n
    gather_first = small_k or (dtype is not None and not _flash_has_tensor_cores(dtype))
    for backend in ("triton", "flash") if gather_first else ("flash", "triton"):
        if _kernel_works(backend, device):
            return backend
    return "mask"


def resolve_implementation(
    impl: str, device: torch.device | str, n: int | None = None, k: int | None = None, dtype: torch.dtype | None = None
) -> str:
    """The implementation that ``impl`` runs on ``dtype`` tensors of ``device`` (windows of ``n`` tokens, ``k`` keys).

    ``auto``: CUDA -> ``flash`` (tensor cores), or the ``triton`` gather kernel where
    k < n / FLASH_MIN_RATIO or the dtype is fp32 without TF32, whichever of them works, else ``mask``; CPU -> ``cpu`` (the numba fast
    path) when numba is installed, else ``mask``; other devices -> ``mask``.
    An explicit name that cannot run on ``device`` raises ImplementationUnavailable.
    """
    device = torch.device(device)
    check_implementation(impl)
    if impl == AUTO:
        if device.type == "cuda":
            return _auto_cuda(device, n, k, dtype)
        if device.type == "cpu" and not BACKENDS["cpu"].missing():
            return "cpu"
        return "mask"
    wrong_device = BACKENDS[impl].device_error(device)
    if wrong_device:
        raise ImplementationUnavailable(wrong_device)
    return impl


def key_semantic_attention(q, k, v, index, bias_table, window, impl: str = "gather") -> torch.Tensor:
    """Attention of every query over its K dictionary keys (see ``reference`` for the layout).

    ``impl`` runs as ``resolve_implementation`` resolves it for these tensors: call that to know
    which one ran (models record it per layer: ``SemanIRBase.implementations_ran``).
    """
    if q.dim() != 4 or q.shape != k.shape or k.shape != v.shape:
        raise ValueError(f"q, k, v must share a (B, H, N, D) shape, got {tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}")
    if not q.dtype == k.dtype == v.dtype:
        raise ValueError(f"q, k, v must share a dtype, got {q.dtype}, {k.dtype}, {v.dtype}")
    b, h, n, _ = q.shape
    if index.dim() != 3 or index.shape[:2] != (b, n):
        raise ValueError(f"index must be (B={b}, N={n}, K), got {tuple(index.shape)}")
    if window[0] * window[1] != n:
        raise ValueError(f"window {tuple(window)} holds {window[0] * window[1]} tokens, not N={n}")
    if bias_table.shape != (h, table_size(window)):
        raise ValueError(f"bias_table must be (H={h}, T={table_size(window)}), got {tuple(bias_table.shape)}")
    name = resolve_implementation(impl, q.device, n, index.shape[-1], q.dtype)
    return BACKENDS[name].run(q, k, v, index, bias_table, window)


__all__ = [
    "AUTO",
    "BACKENDS",
    "Backend",
    "ImplementationUnavailable",
    "available_implementations",
    "build_key_semantic_dictionary",
    "check_implementation",
    "clip_topk",
    "dense_attention",
    "gather_attention",
    "key_semantic_attention",
    "mask_attention",
    "relative_coords_table",
    "resolve_implementation",
    "table_size",
    "triton_interpreting",
]
