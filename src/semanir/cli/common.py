"""What several commands share: argument types, the model options, settings."""

from __future__ import annotations

import argparse
from pathlib import Path


def level(text: str | None):
    if text is None:
        return None
    return int(text) if text.lstrip("-").isdigit() else text


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def size_hw(text: str) -> tuple[int, int]:
    try:
        h, w = (int(p) for p in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must look like 128x128, got {text!r}") from None
    if h < 1 or w < 1:
        raise argparse.ArgumentTypeError(f"size must be positive, got {text!r}")
    return h, w


def add_model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", help="registered model name (default: the one the weights file names)")
    p.add_argument("--weights", help="weights file (.safetensors, or .pth read with weights_only)")
    p.add_argument("--k", type=positive, help="top-k at inference (default: the k stored with the weights)")
    p.add_argument("--impl", help="attention implementation (mask, gather, ...)")
    p.add_argument("--tile", type=int, help="tile size in input pixels (default: automatic; 0 disables tiling)")
    p.add_argument("--overlap", type=int, help="tile overlap in input pixels (default: tile/8)")
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:1, ... (default: cuda if present)")
    p.add_argument("--precision", default="auto", help="auto (fp32 on CPU, bf16/fp16 on GPU), fp32, fp16, bf16")
    p.add_argument("--self-ensemble", action="store_true",
                   help="average over the 8 rotations/mirrors of the input (8x the time)")  # fmt: skip


def _one_line_for_semanir(format_warning):
    """semanir's own warnings (an fp16 tile redone in fp32) as one line, like its errors; others
    (torch's, a test runner's summary) as ``format_warning`` writes them."""
    package = Path(__file__).resolve().parent.parent

    def fmt(message, category, filename, lineno, line=None):
        if Path(filename).resolve().is_relative_to(package):
            return f"semanir: warning: {message}\n"
        return format_warning(message, category, filename, lineno, line)

    fmt.semanir = True
    return fmt


def one_line_warnings() -> None:
    """semanir's warnings as one line from now on."""
    import warnings

    if not getattr(warnings.formatwarning, "semanir", False):
        warnings.formatwarning = _one_line_for_semanir(warnings.formatwarning)


def settings(args: argparse.Namespace):
    """(device, dtype) from --device and --precision; semanir's warnings as one line from now on."""
    from ..inference import pick_device, pick_dtype

    one_line_warnings()
    device = pick_device(args.device)
    return device, pick_dtype(device, args.precision)
