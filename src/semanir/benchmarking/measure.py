"""Timing and peak-memory measurement shared by the ``semanir bench`` commands.

Time: median wall-clock of ``repeats`` calls after ``warmup`` calls (CUDA: synchronised).
Memory, the peak *extra* bytes a call needs on top of what was allocated before it:
  * CUDA: ``torch.cuda.max_memory_allocated`` after a reset, minus the allocation before the call.
  * CPU (Linux): growth of the process's peak resident set (VmHWM, reset through
    /proc/self/clear_refs) over its resident set before the call. This sees every allocation,
    torch's and the numba kernels' numpy buffers alike. glibc's mmap threshold is pinned at 128 KiB
    so that freed tensors go back to the OS instead of hiding inside the heap, which would make a
    later call's growth look smaller than it is. Elsewhere CPU memory is reported as unmeasured.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import gc
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from ..errors import UsageError

_CLEAR_REFS = Path("/proc/self/clear_refs")
_STATUS = Path("/proc/self/status")


def _pin_glibc_mmap_threshold() -> bool:
    try:
        libc = ctypes.CDLL("libc.so.6")
        m_mmap_threshold = -3
        return bool(libc.mallopt(m_mmap_threshold, 128 * 1024))
    except (OSError, AttributeError):
        return False


@functools.lru_cache(maxsize=None)
def _rss_measurable() -> bool:
    # Pinned on the first measurement, not at import: the CLI parser imports this module for every
    # command, and a 128 KiB threshold makes each large tensor an mmap + page faults + munmap
    # (training ran 3x slower with it).
    return _CLEAR_REFS.exists() and _pin_glibc_mmap_threshold()


def _kib(path: Path, field: str) -> int:
    for line in path.read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in {path}")


def available_bytes(device: torch.device) -> int:
    """Memory a benchmark may still use on ``device``."""
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return free
    try:
        return _kib(Path("/proc/meminfo"), "MemAvailable") * 1024
    except (OSError, RuntimeError):
        return 8 << 30


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def peak_memory_bytes(fn: Callable[[], object], device: torch.device) -> int | None:
    """Peak extra memory of one call of ``fn`` (None where it cannot be measured honestly)."""
    gc.collect()
    if device.type == "cuda":
        synchronize(device)
        before = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        result = fn()
        synchronize(device)
        peak = torch.cuda.max_memory_allocated(device) - before
        del result
        return peak
    if device.type != "cpu" or not _rss_measurable():
        return None
    before = _kib(_STATUS, "VmRSS")
    _CLEAR_REFS.write_text("5")  # resets VmHWM to the current RSS
    result = fn()
    peak = _kib(_STATUS, "VmHWM") - before
    del result
    return max(peak, 0) * 1024


def median_seconds(fn: Callable[[], object], device: torch.device, repeats: int, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    synchronize(device)
    times = []
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        fn()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@dataclass
class Versions:
    torch: str
    triton: str | None
    numba: str | None
    spandrel: str | None

    @classmethod
    def collect(cls) -> Versions:
        from importlib.metadata import PackageNotFoundError, version

        def get(name: str) -> str | None:
            try:
                return version(name)
            except PackageNotFoundError:
                return None

        return cls(torch.__version__, get("triton"), get("numba"), get("spandrel"))


PRECISIONS = ("fp32", "tf32", "bf16")


@contextlib.contextmanager
def precision(device: torch.device, name: str):
    """Run the block in ``name``: fp32, fp32 with TF32 matmuls and convolutions, or bf16 autocast.

    One switch for every model of a comparison, so that none is timed in a precision the others lack."""
    if name not in PRECISIONS:
        raise UsageError(f"precision must be one of {', '.join(PRECISIONS)}, got {name!r}")
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = name == "tf32"
    try:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=name == "bf16"):
            yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def device_description(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    import os
    import platform

    model = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
        platform.processor() or "CPU",
    ) if Path("/proc/cpuinfo").exists() else (platform.processor() or "CPU")  # fmt: skip
    return f"{model}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads"


def format_table(headers: list[str], rows: list[list[str]]) -> str:
    """A GitHub-flavoured markdown table: numeric columns right-aligned, text left-aligned."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    numeric = [all(_numeric(r[i]) for r in rows) for i in range(len(headers))]

    def line(cells):
        return "| " + " | ".join(c.rjust(w) if n else c.ljust(w) for c, w, n in zip(cells, widths, numeric)) + " |"

    sep = "|" + "|".join("-" * (w + 1) + (":" if n else "-") for w, n in zip(widths, numeric)) + "|"
    return "\n".join([line(headers), sep, *(line(r) for r in rows)])


def _numeric(cell: str) -> bool:
    return cell == "-" or cell.rstrip("x").replace(",", "").replace(".", "", 1).lstrip("-").isdigit()


def parse_device(name: str | None) -> torch.device:
    if name is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda: no CUDA device is available here")
    if device.type not in ("cpu", "cuda"):
        raise UsageError(f"--device must be cpu or cuda, got {name!r}")
    return device
