"""ONNX export: a SemanIR model as one graph of standard ONNX operators, any height and width.

The dictionary is ONNX's TopK, the attention either Gather (``gather``: K keys per query) or a
dense product with a -inf mask (``mask``); the fused kernels are custom operators and cannot be
exported. The window geometry follows the input size inside the graph: the reflect padding to
whole windows, the window that shrinks on a map smaller than ``window_size``, the relative-position
table and k = min(k, N - 1) are computed from the input's shape at run time, so one file restores
every size (the model's ``torch.compiler.is_exporting()`` branches make that possible).

k is fixed at export: the k stored with the weights, or ``k=``. It is written into the file's
metadata (``semanir_k``). An input tensor for k would make every shape after TopK data-dependent.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .errors import UsageError
from .models.base import SemanIRBase

EXPORT_IMPLS = ("gather", "mask")
OPSET = 18
# The export example: odd on purpose, so no size is special-cased by the tracer (the check runs
# another size); small, so that tracing is quick.
EXAMPLE_SIZE = (37, 45)
CHECK_SIZE = (29, 52)
# The export's own check fails only beyond this: a near-tie of two similarities that rounds one way in
# PyTorch and the other in onnxruntime swaps a key of the top-k (measured up to 2e-2 on random inputs),
# while a graph fixed to the example's geometry was off by 8e-2.
TOLERANCE = 5e-2
_INSTALL = "pip install 'semanir[export]' (onnx, onnxscript, onnxruntime)"


class ExportError(UsageError):
    """A model or option the ONNX export does not support; the message is one line."""


def missing_packages() -> list[str]:
    import importlib.util

    return [name for name in ("onnx", "onnxscript", "onnxruntime") if importlib.util.find_spec(name) is None]


def check_packages() -> None:
    missing = missing_packages()
    if missing:
        raise ExportError(f"semanir export needs {', '.join(missing)}: {_INSTALL}")


def check_exportable(model: nn.Module, impl: str) -> None:
    if impl not in EXPORT_IMPLS:
        raise ExportError(
            f"attention {impl!r} cannot be exported to ONNX (only the plain-PyTorch {' and '.join(EXPORT_IMPLS)} "
            "paths are standard ONNX operators)"
        )
    if not isinstance(model, SemanIRBase):
        raise ExportError(f"{getattr(model, 'model_name', type(model).__name__)} is not a SemanIR model this export knows")
    if model.config.get("shift_alternate"):
        # The half-window shift depends on whether the map is bigger than one window: a branch on
        # the input size that the graph would fix to the export example's.
        raise ExportError("models with shifted windows (shift_alternate) cannot be exported to ONNX yet")


def export_onnx(
    model: nn.Module, path: str | Path, impl: str = "gather", k: int | None = None, metadata: dict | None = None,
    opset: int = OPSET,
) -> dict:
    """Write ``model`` (fp32, eval) to ``path`` as ONNX with dynamic batch, height and width.

    Returns what the file's metadata says, plus ``check_max_abs``: the largest difference between
    onnxruntime and PyTorch on a CHECK_SIZE input (a size the export never saw)."""
    check_packages()
    check_exportable(model, impl)
    model = model.float().eval()
    model.set_attn_impl(impl)
    if k is not None:
        model.set_topk(k)
    low = model.geometry().min_input_size
    # A batch of 2: the exporter fixes a dimension that is 1 in the example, and batch 1 would stay 1.
    example = torch.rand(2, model.in_chans, *EXAMPLE_SIZE, generator=torch.Generator().manual_seed(0))
    dims = {0: torch.export.Dim("batch", min=1, max=1024),
            2: torch.export.Dim("height", min=max(low, 2), max=2**16),
            3: torch.export.Dim("width", min=max(low, 2), max=2**16)}  # fmt: skip
    info = {
        "semanir_k": str(model.topk),
        "semanir_attention": impl,
        "semanir_model": getattr(model, "model_name", type(model).__name__),
        "semanir_model_config": json.dumps({k: v for k, v in model.config.items() if k != "attn_impl"}),
        "semanir_min_size": str(low),
        "semanir_input": "float32 NCHW in [0, 1], RGB" if model.in_chans == 3 else "float32 N1HW in [0, 1]",
        **{key: v if isinstance(v, str) else json.dumps(v) for key, v in (metadata or {}).items()},
    }
    import logging

    quiet = logging.getLogger("torch.onnx")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # "torchvision is not installed. Skipping ..." x8, for ops we never use
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the exporter's deprecation notices are not the user's business
        program = torch.onnx.export(
            model, (example,), dynamo=True, dynamic_shapes={"x": dims}, input_names=["image"],
            output_names=["restored"], opset_version=opset, external_data=False, verbose=False,
        )  # fmt: skip
    quiet.setLevel(level)
    for key, value in info.items():
        program.model.metadata_props[key] = value
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    program.save(str(path))
    info["check_max_abs"] = check_against_torch(model, path, CHECK_SIZE)
    if not info["check_max_abs"] <= TOLERANCE:  # a bug in the export, not the user's input
        path.unlink()
        raise RuntimeError(f"the exported graph differs from PyTorch by {info['check_max_abs']:.2e} at "
                           f"{CHECK_SIZE[0]}x{CHECK_SIZE[1]} (tolerance {TOLERANCE}); nothing written")  # fmt: skip
    return info


def run_onnx(path: str | Path, image: np.ndarray) -> np.ndarray:
    """The exported model on a float32 NCHW array, with onnxruntime on the CPU."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only: ORT warns about every unused initializer
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: np.ascontiguousarray(image, dtype=np.float32)})[0]


def check_against_torch(
    model: nn.Module, path: str | Path, size: tuple[int, int], seed: int = 1, same_ties: bool = True
) -> float:
    """Max abs difference between onnxruntime and PyTorch (fp32) on a random ``size`` input.

    ``same_ties``: PyTorch breaks exact similarity ties by the lower index, as ONNX's TopK does
    (``lowest_index_ties``); without it, a padded size differs where torch.topk kept another of
    two identical tokens (~1e-2)."""
    from contextlib import nullcontext

    from .attention.dictionary import lowest_index_ties

    x = torch.rand(1, model.in_chans, *size, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad(), lowest_index_ties() if same_ties else nullcontext():
        expected = model(x).numpy()
    got = run_onnx(path, x.numpy())
    if got.shape != expected.shape:
        return float("inf")
    return float(np.abs(got - expected).max())


__all__ = ["EXPORT_IMPLS", "ExportError", "check_against_torch", "check_packages", "export_onnx", "run_onnx"]
