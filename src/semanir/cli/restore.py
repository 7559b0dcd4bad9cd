"""``semanir restore``: image files in, restored image files out."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .common import add_model_options, one_line_warnings, positive


def add_parser(sub) -> None:
    from ..pretrained import list_presets

    p = sub.add_parser("restore", help="restore image files (default: the shipped blind color denoiser)")
    p.add_argument("inputs", nargs="+", help="image files, folders or glob patterns")
    p.add_argument("-o", "--output", required=True, help="output folder")
    shipped = ", ".join(list_presets()) or "none"
    p.add_argument("--task", help=f"a task, or a shipped preset by name (shipped: {shipped})")
    p.add_argument("--scale", type=positive, help="upscaling factor: picks the sr preset (2, 3 or 4; default 4)")
    p.add_argument("--format", default="png", choices=("png", "tif"), help="output format (keeps 16 bits)")
    p.add_argument("--bayer-pattern", default="RGGB", help="CFA layout of 1-channel demosaicking inputs")
    p.add_argument("--restore-mild-jpeg", action="store_true",
                   help="--task jpeg: restore JPEGs of quality 90 or more too (by default they are "
                        "written unchanged: the presets would lower their quality)")  # fmt: skip
    add_model_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..data.io import ImageError
    from ..fileio import remove_stale_temporaries
    from ..restoration import collect_inputs, load, output_folder, plan_outputs

    one_line_warnings()
    inputs = collect_inputs(args.inputs)
    out_dir = Path(args.output)
    plan = plan_outputs(inputs, out_dir.resolve(), args.format)
    restorer = load(
        args.weights, task=args.task, scale=args.scale, model=args.model, device=args.device, precision=args.precision,
        k=args.k, impl=args.impl, tile=args.tile, overlap=args.overlap, self_ensemble=args.self_ensemble,
        bayer_pattern=args.bayer_pattern, keep_mild=not args.restore_mild_jpeg,
    )  # fmt: skip
    failures = 0
    with output_folder(out_dir):  # after every refusal above; removed again if nothing is written
        remove_stale_temporaries(out_dir)  # what a killed restore left
        for src, dst in plan.items():
            try:
                restorer.restore_file(src, dst)
                print(f"{src} -> {dst}")
            except ImageError as err:
                failures += 1
                print(f"semanir: error: {err}", file=sys.stderr)
    if failures:
        print(f"semanir: {failures} of {len(plan)} images failed", file=sys.stderr)
        return 2
    return 0
