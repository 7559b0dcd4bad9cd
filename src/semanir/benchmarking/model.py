"""``semanir bench model``: parameters, MACs, latency and peak memory of one registered model.

MACs are FlopCounterMode's FLOPs / 2 for one forward pass, counted on the meta device. The fused attention ops carry their own
FLOP formula (see ``attention.fused``); ``mask`` would count its dense N x N logits, so the count
is always taken with ``gather``, whose einsums are exactly the k-restricted multiply-adds. The
paper's "FLOPs" are MACs on a 128x128 LR input for SR and 256x256 for denoising (``paper_size``).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from ..models import SemanIRBase
from .measure import median_seconds, peak_memory_bytes


@dataclass
class ModelFigures:
    name: str
    params: int
    gmacs: float
    mac_size: tuple[int, int]
    latency_ms: float
    latency_size: tuple[int, int]
    peak_mb: float | None
    attention: str | None  # the attention implementation that ran (SemanIR models)


def paper_size(task: str) -> tuple[int, int]:
    return (128, 128) if task == "sr" else (256, 256)


def count_macs(model: nn.Module, in_chans: int, size: tuple[int, int], device: torch.device) -> int:
    """MACs of one forward, counted on a meta-device copy (shapes only: instant at any size)."""
    counted = copy.deepcopy(model).eval()
    if isinstance(counted, SemanIRBase):
        counted.set_attn_impl("gather")
    try:
        counted, x = counted.to("meta"), torch.empty(1, in_chans, *size, device="meta")
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            counted(x)
    except (NotImplementedError, RuntimeError):  # an op without a meta kernel: count for real
        counted, x = counted.to(device), torch.rand(1, in_chans, *size, device=device)
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            counted(x)
    return counter.get_total_flops() // 2


def profile(
    name: str,
    model: nn.Module,
    in_chans: int,
    mac_size: tuple[int, int],
    latency_size: tuple[int, int],
    device: torch.device,
    repeats: int,
    warmup: int = 1,
    measure_memory: bool = True,
) -> ModelFigures:
    """Parameters, MACs, latency and (unless ``measure_memory`` is False) peak memory.

    Time every model before measuring any memory: see ``run`` in attention.py.
    """
    model = model.eval().to(device)
    params = sum(p.numel() for p in model.parameters())
    macs = count_macs(model, in_chans, mac_size, device)
    x = torch.rand(1, in_chans, *latency_size, device=device)

    def forward():
        with torch.no_grad():
            return model(x)

    seconds = median_seconds(forward, device, repeats=repeats, warmup=warmup)
    ran = ", ".join(model.implementations_ran()) if isinstance(model, SemanIRBase) else None
    peak = peak_memory_bytes(forward, device) if measure_memory else None
    return ModelFigures(
        name, params, macs / 1e9, mac_size, seconds * 1e3, latency_size, None if peak is None else peak / 2**20, ran
    )


def input_for(figures: ModelFigures, in_chans: int, device: torch.device) -> torch.Tensor:
    return torch.rand(1, in_chans, *figures.latency_size, device=device)
