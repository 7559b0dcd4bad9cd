"""Key-semantic attention: the dictionary and the interchangeable attention implementations."""

from __future__ import annotations

import warnings
from functools import lru_cache

import torch

from ..errors import UsageError

from .backends import BACKENDS, FLASH_MIN_RATIO, Backend, triton_interpreting
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


def _auto(device: torch.device, n: int | None, k: int | None, dtype: torch.dtype | None) -> str:
    """The registered backend ``auto`` prefers most for these tensors among those that work here."""
    ranked = sorted(
        (b for b in BACKENDS.values() if b.auto_priority and b.devices and device.type in b.devices),
        key=lambda b: -b.auto_priority(n, k, dtype),
    )
    for backend in ranked:
        works = _kernel_works(backend.name, device) if device.type == "cuda" else not backend.missing()
        if works:
            return backend.name
    return "mask"


def resolve_implementation(
    impl: str, device: torch.device | str, n: int | None = None, k: int | None = None, dtype: torch.dtype | None = None
) -> str:
    """The implementation that ``impl`` runs on ``dtype`` tensors of ``device`` (windows of ``n`` tokens, ``k`` keys).

    ``auto``: the backend of ``device`` whose registered ``auto_priority`` is highest for (n, k,
    dtype) among those that work there, else ``mask``. Today: CUDA -> ``flash`` (tensor cores), or
    the ``triton`` gather kernel where k < n / FLASH_MIN_RATIO or the dtype is fp32 without TF32;
    CPU -> ``cpu`` (the numba fast path) when numba is installed; other devices -> ``mask``.
    An explicit name that cannot run on ``device`` raises ImplementationUnavailable.
    """
    device = torch.device(device)
    check_implementation(impl)
    if impl == AUTO:
        return _auto(device, n, k, dtype)
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
    "FLASH_MIN_RATIO",
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
