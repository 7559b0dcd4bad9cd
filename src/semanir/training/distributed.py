"""torchrun / DistributedDataParallel plumbing: one process per GPU (or CPU process with gloo)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist

from ..errors import UsageError


@dataclass(frozen=True)
class DistInfo:
    rank: int
    world: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world > 1


DEFAULT_TIMEOUT_MINUTES = 120.0
TIMEOUT_ENV = "SEMANIR_DIST_TIMEOUT_MINUTES"


def collective_timeout(minutes: float | None = None) -> timedelta:
    """``minutes``, else $SEMANIR_DIST_TIMEOUT_MINUTES, else 120 min.

    NCCL's default (10 min) is shorter than rank 0's validation on a real benchmark, during which
    the other ranks wait at a barrier: its watchdog would kill the run.
    """
    if minutes is None:
        text = os.environ.get(TIMEOUT_ENV)
        try:
            minutes = float(text) if text else DEFAULT_TIMEOUT_MINUTES
        except ValueError:
            raise ValueError(f"{TIMEOUT_ENV} must be a number of minutes, got {text!r}") from None
    if not float(minutes) > 0:
        raise ValueError(f"the collective timeout must be positive minutes, got {minutes}")
    return timedelta(minutes=float(minutes))


def init_distributed(device: str = "auto", timeout_minutes: float | None = None) -> DistInfo:
    """Join the process group torchrun describes in the environment (or run alone), with the
    collective timeout of :func:`collective_timeout`."""
    timeout = collective_timeout(timeout_minutes)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = torch.cuda.is_available() if device == "auto" else device.startswith("cuda")
    if use_cuda and not torch.cuda.is_available():
        raise UsageError("train.device asks for CUDA, but PyTorch sees no CUDA device")
    if use_cuda:
        torch.cuda.set_device(local_rank)
        dev = torch.device("cuda", local_rank)
    else:
        dev = torch.device("cpu")
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo", timeout=timeout)
    return DistInfo(rank, world, local_rank, dev)


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def _reduce_flag(info: DistInfo, flag: bool, op) -> bool:
    if not info.enabled:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=info.device)
    dist.all_reduce(t, op=op)
    return bool(t.item() > 0)


def all_ranks_agree(info: DistInfo, flag: bool) -> bool:
    """True when ``flag`` holds on every rank (so that every rank takes the same branch)."""
    return _reduce_flag(info, flag, dist.ReduceOp.MIN)


def any_rank(info: DistInfo, flag: bool) -> bool:
    """True when ``flag`` holds on some rank (a MAX all-reduce of one number)."""
    return _reduce_flag(info, flag, dist.ReduceOp.MAX)


def group_timeout(info: DistInfo) -> timedelta | None:
    """The timeout the default process group actually holds (None alone, or if torch hides it)."""
    if not (info.enabled and dist.is_initialized()):
        return None
    try:  # private API (torch 2.x): the backend's options of the default group
        return dist.group.WORLD._get_backend(info.device).options._timeout
    except (AttributeError, RuntimeError):
        return None


def max_parameter_divergence(info: DistInfo, params) -> float:
    """Largest difference of any parameter between ranks (0.0 when they are in sync)."""
    flat = torch.cat([p.detach().float().reshape(-1) for p in params])
    if not info.enabled:
        return 0.0
    hi, lo = flat.clone(), flat.clone()
    dist.all_reduce(hi, op=dist.ReduceOp.MAX)
    dist.all_reduce(lo, op=dist.ReduceOp.MIN)
    return float((hi - lo).max())


def cleanup(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()
