"""``semanir test``: score a model on a benchmark folder under a task's protocol."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import Interrupted, UsageError
from .common import add_model_options, level, settings


def add_parser(sub) -> None:
    p = sub.add_parser("test", help="score a model on a benchmark folder under a task's protocol")
    add_model_options(p)
    from ..tasks import list_tasks

    *others, last = list_tasks()
    p.add_argument("--task", required=True, help=f"{', '.join(others)} or {last}")
    p.add_argument("--level", help="sigma, JPEG quality or SR scale (e.g. 25, 40, 4); deblur: synthetic")
    p.add_argument("--channels", type=int, default=3, choices=(1, 3), help="3 (RGB) or 1 (gray)")
    p.add_argument("--data", required=True, help="folder of images, or a root holding the --set")
    p.add_argument("--set", help="benchmark name under --data (Set5, CBSD68, ...)")
    p.add_argument("--save", help="folder for the restored images (and compare/: degraded | restored | truth crops)")
    p.add_argument("--json", nargs="?", const="-", help="JSON results to FILE (or to stdout)")
    p.add_argument("--limit", type=int, help="only the first N images")
    p.add_argument("--seed", type=int, default=0, help="base seed of the degradations (default 0)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..data.protocols import get_protocol
    from ..evaluation import (
        benchmark_dataset,
        evaluate,
        identity_restorer,
        model_restorer,
    )

    protocol = get_protocol(args.task, level(args.level), args.channels)
    dataset = benchmark_dataset(args.data, args.set, protocol, args.seed)
    run_settings = {"protocol": protocol.name, "data": str(Path(args.data).resolve()), "set": args.set, "seed": args.seed,
                    "save": args.save and str(Path(args.save).resolve())}  # fmt: skip
    if args.model == "identity":  # the degraded input itself: the baseline row of every table
        restore, label = identity_restorer(protocol), "degraded input (identity)"
    else:
        from ..pretrained import find_preset
        from ..restoration import check_task_scale, load_model
        from ..weights import file_identity

        # --weights, or the preset of the task for the protocol's channels and scale (denoise_gray, sr_x2).
        weights = Path(args.weights) if args.weights else find_preset(args.task, protocol.channels, protocol.scale).path
        model, meta = load_model(weights, args.model, args.impl, args.k)
        if model.in_chans != protocol.channels:
            raise UsageError(f"{meta.get('model_name')} takes {model.in_chans}-channel images; the protocol uses {protocol.channels}")
        check_task_scale(model, meta, protocol.task, protocol.scale)
        device, dtype = settings(args)
        restore = model_restorer(
            model, device, dtype, args.tile, args.overlap, self_ensemble=args.self_ensemble, task=protocol.task
        )
        label = f"{meta.get('model_name')} k={model.topk} impl={model.config.get('attn_impl')}"
        if args.self_ensemble:
            label += " x8 self-ensemble"
        # Other weights, other results: the weights' path, size and mtime are part of the settings.
        run_settings.update(weights=file_identity(weights), tile=args.tile, overlap=args.overlap,
                            device=str(device), dtype=str(dtype))  # fmt: skip
    run_settings["model"] = label
    json_to_stdout = args.json == "-"
    identity = args.model == "identity"
    header = {"model": label, "data": str(args.data), "set": args.set}
    total = len(dataset) if args.limit is None else min(args.limit, len(dataset))
    results, measured = None, {}
    if args.json and not json_to_stdout:
        from ..evaluation import ResultsFile

        results = ResultsFile(args.json, header, run_settings)
        measured, note = results.measured()
        if note:
            print(f"semanir: {note}", file=sys.stderr)
    progress = _TestProgress(protocol.name, total, measured, results)
    try:
        result = evaluate(restore, dataset, protocol, args.limit, args.save, progress.image, not identity, measured)
    except KeyboardInterrupt:
        if results is None:
            raise
        raise Interrupted(f"interrupted after {progress.done} of {total} images; they are in {results.path} (marked "
                          "incomplete), and the same command goes on from there") from None  # fmt: skip
    title = f"{protocol.name} on {args.set or args.data}: {label}"
    if not json_to_stdout:
        print(result.table(title))
    if json_to_stdout:
        print(json.dumps({**header, **result.to_json()}, indent=2))
    elif results is not None:
        results.write(result, total)  # complete also when every image was measured before
    return 0


class _TestProgress:
    """One line per image on stderr (its scores, images done / total, ETA) and the results file
    rewritten after each, so that minutes of scoring are neither silent nor lost to a Ctrl-C."""

    def __init__(self, protocol: str, total: int, measured: dict, results):
        import time

        from ..evaluation import EvaluationResult

        self.so_far = EvaluationResult(protocol)
        self.total, self.measured, self.results, self.done, self.new = total, measured, results, 0, 0
        self.clock, self.start = time.monotonic, time.monotonic()

    def image(self, row: dict) -> None:
        self.done += 1
        self.so_far.rows.append(row)
        if self.results is not None:
            self.results.write(self.so_far, self.total)
        if row["name"] in self.measured:
            when = "measured before"
        else:
            self.new += 1
            elapsed = self.clock() - self.start
            when = f"{_clock(elapsed)} elapsed, ETA {_clock(elapsed / self.new * (self.total - self.done))}"
        print(f"semanir: [{self.done}/{self.total}] {row['name']}  PSNR {row['psnr']:.2f}  SSIM {row['ssim']:.4f}  ({when})",
              file=sys.stderr, flush=True)  # fmt: skip


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds + 0.5), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}"
