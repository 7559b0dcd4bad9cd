"""``semanir export``: a model as ONNX."""

from __future__ import annotations

import argparse

from .common import positive


def add_parser(sub) -> None:
    from ..pretrained import list_presets

    shipped = ", ".join(list_presets()) or "none"
    p = sub.add_parser("export", help="write a model as ONNX (any height and width; onnxruntime, TensorRT, ...)")
    p.add_argument("weights", metavar="WEIGHTS_OR_PRESET", help=f"a shipped preset ({shipped}) or a weights file")
    p.add_argument("-o", "--output", required=True, help="the .onnx file to write")
    p.add_argument("--model", help="registered model name (for weights files that do not name theirs)")
    p.add_argument("--k", type=positive, help="top-k fixed into the graph (default: the k stored with the weights)")
    p.add_argument("--impl", default="gather",
                   help="attention as ONNX ops: gather (K keys per query, default) or mask (dense with a -inf mask)")  # fmt: skip
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..export import check_packages, export_onnx
    from ..pretrained import resolve_weights
    from ..weights import model_from_weights

    check_packages()  # before the minute of tracing, not after
    source = resolve_weights(args.weights)
    model, meta = model_from_weights(source, args.model)
    info = export_onnx(model, args.output, args.impl, args.k,
                       {"semanir_task": meta.get("task", ""), "semanir_weights": source.name})  # fmt: skip
    print(f"{args.output}: {info['semanir_model']}, k={info['semanir_k']}, attention {info['semanir_attention']}, "
          f"inputs >= {info['semanir_min_size']}x{info['semanir_min_size']}; onnxruntime vs PyTorch max abs "
          f"{info['check_max_abs']:.1e}")  # fmt: skip
    return 0
