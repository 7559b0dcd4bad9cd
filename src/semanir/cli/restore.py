"""``semanir restore``: image files in, restored image files out."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .common import add_model_options, check_task_scale, load_model, positive, settings


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
    add_model_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..data.io import ImageError
    from ..fileio import remove_stale_temporaries
    from ..restoration import Restorer, collect_inputs, output_folder, plan_outputs

    inputs = collect_inputs(args.inputs)
    out_dir = Path(args.output)
    plan = plan_outputs(inputs, out_dir.resolve(), args.format)
    from ..pretrained import DEFAULT_PRESET, find_preset, gray_twin, task_of

    named = args.task or ("sr" if args.scale else None)
    preset = None if args.weights else find_preset(named or DEFAULT_PRESET, None, args.scale)
    model, meta = load_model(args, Path(args.weights) if args.weights else preset.path)
    device, dtype = settings(args)
    task = task_of(named) if named else meta.get("task")
    if named and task:
        check_task_scale(model, meta, task, args.scale)
    restorer = Restorer(
        model, task, args.tile, args.overlap, None, device, dtype, args.bayer_pattern, args.self_ensemble
    )
    twin = gray_twin(preset) if preset and not args.model else None
    if twin:  # gray files go to the 1-channel preset of the same task
        restorer.with_gray_model(load_model(args, twin.path)[0])
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
