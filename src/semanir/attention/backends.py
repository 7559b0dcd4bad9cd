"""The attention implementations by name: one registration each says what it runs, what it needs,
where it can run and what memory it takes. Everything else (model validation, ``auto``, the
benchmark's rows and memory guard, the CLI's choices) reads this registry.

A new implementation is one module (its function, or its ``forward``/``backward`` kernels for a
fused custom op) plus one ``register(...)`` call below.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Callable

import torch

from .fused import define_fused_op, fused_attention
from .reference import gather_attention, mask_attention

AttentionFn = Callable[..., torch.Tensor]
# (windows, heads, N, k, head dim, bytes per element, backward) -> extra bytes of one call.
MemoryEstimate = Callable[[int, int, int, int, int, int, bool], int]


@dataclass(frozen=True)
class Backend:
    name: str
    run: AttentionFn
    devices: tuple[str, ...] | None  # torch device types it runs on; None: any
    summary: str
    extra_bytes: MemoryEstimate
    kernels: str | None = None  # module whose import needs ``requirement`` (fused backends)
    requirement: str | None = None
    interpretable: bool = False  # also runs on CPU tensors under TRITON_INTERPRET=1
    # How much ``auto`` prefers it on its devices for windows of n tokens, k keys and a dtype (any may
    # be None: unknown); the highest that works there wins. None: auto never picks it (``mask`` is
    # auto's last resort on every device).
    auto_priority: Callable[[int | None, int | None, torch.dtype | None], float] | None = None

    def missing(self) -> str | None:
        """Why this backend's kernels cannot be imported here (None when they can)."""
        return _import_error(self.kernels, self.requirement) if self.kernels else None

    def device_error(self, device: torch.device) -> str | None:
        """Why this backend cannot run on tensors of ``device`` (None when it can)."""
        if self.devices is None or device.type in self.devices:
            return None
        if self.interpretable and device.type == "cpu" and triton_interpreting():
            return None
        where = " or ".join(d.upper() for d in self.devices)
        extra = " (or on CPU under TRITON_INTERPRET=1)" if self.interpretable else ""
        return f"attn_impl={self.name!r} runs on {where} tensors{extra}, got {device.type}"


@lru_cache(maxsize=None)
def _import_error(module: str, requirement: str | None) -> str | None:
    try:
        importlib.import_module(module)
    except ImportError as err:
        return f"its kernels need the {requirement!r} package ({err})"
    return None


def triton_interpreting() -> bool:
    return os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")


BACKENDS: dict[str, Backend] = {}


def register(backend: Backend) -> Backend:
    if backend.name in BACKENDS:
        raise ValueError(f"attention backend {backend.name!r} is registered twice")
    BACKENDS[backend.name] = backend
    return backend


def _fused(name: str, kernels: str, requirement: str, devices: tuple[str, ...], summary: str,
           extra_bytes: MemoryEstimate, interpretable: bool = False, auto_priority=None) -> Backend:  # fmt: skip
    define_fused_op(name, kernels)
    return register(Backend(name, partial(fused_attention, name), devices, summary, extra_bytes, kernels, requirement,
                            interpretable, auto_priority))  # fmt: skip


# The gather kernel does K/N of the work on CUDA cores, `flash` all of it on tensor cores; gather
# wins where K/N is small, and in fp32 without TF32, where flash has no tensor cores. flash from
# K >= N / FLASH_MIN_RATIO. 16 is an estimate from issue 29's H200 figures (gather ~1 ms for any
# N*K = 2**19 in bf16, a tensor-core dense pass ~0.04-0.08 ms at N=1024): the crossover of today's
# flash is still to be measured (the `crossover` section of benchmarks/gpu_check.py;
# benchmarks/attention_gpu.md).
FLASH_MIN_RATIO = 16


def _flash_has_tensor_cores(dtype: torch.dtype | None) -> bool:
    return dtype in (torch.float16, torch.bfloat16) or (dtype == torch.float32 and torch.backends.cuda.matmul.allow_tf32)


def _flash_priority(n: int | None, k: int | None, dtype: torch.dtype | None) -> float:
    small_k = n is not None and k is not None and k * FLASH_MIN_RATIO < n
    no_tensor_cores = dtype is not None and not _flash_has_tensor_cores(dtype)
    return 0.5 if small_k or no_tensor_cores else 2.0  # below or above the gather kernel's 1


def _dense_nn(b, h, n, k, d, s, bwd):
    return 3 * b * h * n * n * 4 + h * n * n * s + b * n * n


def _rows(b, h, n, k, d, s, bwd):  # the fused kernels: outputs and their own small buffers
    return 6 * b * h * n * d * 4


register(Backend("mask", mask_attention, None,
                 "dense N x N logits, -inf outside the dictionary; memory grows with N^2", _dense_nn))  # fmt: skip
register(Backend("gather", gather_attention, None,
                 "keys, values and bias gathered at the dictionary; memory grows with k",
                 lambda b, h, n, k, d, s, bwd: 4 * b * n * k * h * d * s + 3 * b * h * n * k * 4))  # fmt: skip
_fused("triton", "semanir.attention.triton_kernels", "triton", ("cuda",),
       "Triton kernels that gather each query's k keys (CUDA cores); work k/N of dense", _rows, interpretable=True,
       auto_priority=lambda n, k, dtype: 1.0)  # fmt: skip
_fused("flash", "semanir.attention.flash_kernels", "triton", ("cuda",),
       "Triton tiles on tensor cores, the dictionary as an N x N byte mask per window",
       # + the byte mask and the bias; the backward's (H, N, T) fp32 buffer, T ~ 4N for square windows
       lambda b, h, n, k, d, s, bwd: _rows(b, h, n, k, d, s, bwd) + b * n * n + h * n * n * s + (16 * h * n * n if bwd else 0),
       interpretable=True, auto_priority=_flash_priority)  # fmt: skip
_fused("cpu", "semanir.attention.cpu_kernels", "numba", ("cpu",),
       "numba kernels, one task per window and head (what auto picks on a CPU)", _rows,
       auto_priority=lambda n, k, dtype: 1.0)  # fmt: skip
