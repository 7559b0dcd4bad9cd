"""Copy a training run's final weights into the package as a preset (int8 storage).

    python scripts/ship_weights.py runs/shipped_denoise_color denoise --hardware "2-core AMD EPYC CPU"

Reads ``<run>/weights/final.safetensors`` (written by ``semanir train``; ``--weights last`` takes
the checkpoint's copy of a run stopped early, whose iteration count its metadata holds), keeps its metadata
(model, config, task, training summary), adds where and how long it trained (from the run's
``train_log.csv``), and writes ``src/semanir/pretrained/<preset>.safetensors`` atomically.
int8 weight matrices (a scale per output channel) quarter the file; the model is rebuilt in fp32
when loaded (``semanir.weights.save_weights``). The run's config must be on
record first as ``docs/training-records/<config name>.yaml``: the weights name it
(``training.config``) and the tests load it from there.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from semanir.weights import carried_metadata, model_from_weights, save_weights, total_iterations

REPO = Path(__file__).resolve().parents[1]
PRETRAINED = REPO / "src" / "semanir" / "pretrained"
TRAINING_RECORDS = REPO / "docs" / "training-records"
MAX_BYTES = 15 * 2**20  # per preset: nine of them keep the wheel under PyPI's 100 MB


def training_seconds(run: Path) -> float | None:
    """Wall time from the log's iteration rates: sum of (iterations between rows / rate)."""
    log = run / "train_log.csv"
    if not log.is_file():
        return None
    total, prev = 0.0, 0
    with open(log, newline="") as f:
        for row in csv.DictReader(f):
            it, rate = int(row["iteration"]), float(row["iterations_per_s"])
            if rate > 0:
                total += (it - prev) / rate
            prev = it
    return total


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", type=Path, help="the run folder (holds weights/final.safetensors)")
    ap.add_argument("preset", help="preset name = the task it serves, e.g. denoise")
    ap.add_argument("--hardware", required=True, help="what it trained on, for the model card")
    ap.add_argument("--data", default="76 shared training photos less 4 held out (scripts/prepare_training_data.py)")
    ap.add_argument("--history", help="how the run was trained when it took several configs, e.g. "
                    "'shipped_denoise_color 0-3000; shipped_denoise_color_continued 3000-5400'")
    ap.add_argument("--weights", choices=("final", "last"), default="final",
                    help="the finished run's weights, or those of its last checkpoint (a run stopped early)")
    args = ap.parse_args(argv)
    source = args.run / "weights" / f"{args.weights}.safetensors"
    model, meta = model_from_weights(source)
    if args.preset != meta.get("task") and not args.preset.startswith(f"{meta.get('task')}_"):
        raise SystemExit(f"{source} was trained for task {meta.get('task')!r}, not {args.preset!r}")
    training = dict(meta["training"])
    record = TRAINING_RECORDS / f"{training['config']}.yaml"
    if not record.is_file():
        raise SystemExit(f"no training record {record}: copy the config the run used there first")
    training.update(hardware=args.hardware, data=args.data)
    if args.history:
        training["history"] = args.history
    seconds = training_seconds(args.run)
    if seconds is not None:
        training["wall_hours"] = round(seconds / 3600, 2)
    metadata = {**carried_metadata(meta), "training": training}
    path = save_weights(model, PRETRAINED / f"{args.preset}.safetensors", storage="int8", **metadata)
    size = path.stat().st_size
    if size > MAX_BYTES:
        path.unlink()
        raise SystemExit(f"{path}: {size / 2**20:.1f} MiB is over the {MAX_BYTES // 2**20} MiB limit; not shipped")
    print(f"{path}: {size / 2**20:.1f} MiB, {total_iterations(training)} iterations in all, {training}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
