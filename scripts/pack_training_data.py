"""Pack training images into a size budget, for a lent GPU machine whose working copy holds 64 MiB
(the tracked files take 45 MiB of it): JPEG files travel whole, as their own bytes (the same pixels
training reads here, five times fewer bytes than lossless), and the rest as lossless WebP crops
drawn in proportion to each image's pixels.

    python scripts/pack_training_data.py data_prep/train data_prep/train_new --out .device_carry/train --budget-mib 15

``.device_carry/`` is git-ignored; name it in the device run's ``carry`` and point the record's
``data.train.root`` at it. JPEGs take at most ``--jpeg-share`` of the budget (sorted by name);
crops fill the rest, deterministically for a ``--seed``. A packed folder is a subset of the
data: say so in the record of a run trained on it.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import numpy as np

from semanir.data.io import list_images, read_image, write_image

JPEG_SUFFIXES = (".jpg", ".jpeg")


def pack(sources: list[Path], out: Path, budget: int, jpeg_share: float = 0.75, crop: int = 256, seed: int = 0) -> dict:
    """Fill ``out`` (made anew) within ``budget`` bytes; returns what went in."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    files = sorted({p.resolve(): p for src in sources for p in list_images(src)}.values(), key=lambda p: p.name)
    jpegs = [p for p in files if p.suffix.lower() in JPEG_SUFFIXES]
    others = [p for p in files if p.suffix.lower() not in JPEG_SUFFIXES]
    used, copied = 0, 0
    for path in jpegs:
        size = path.stat().st_size
        if used + size > jpeg_share * budget:
            break
        shutil.copyfile(path, out / path.name)
        used, copied = used + size, copied + 1
    rng = np.random.default_rng(seed)
    images = [read_image(p) for p in others]
    weights = np.array([im.pixels.shape[0] * im.pixels.shape[1] for im in images], np.float64)
    crops, misses = 0, 0
    while images and misses < 20:  # stop once crops no longer fit what is left
        i = int(rng.choice(len(images), p=weights / weights.sum()))
        pixels = images[i].pixels
        h, w = pixels.shape[:2]
        y, x = int(rng.integers(0, max(1, h - crop + 1))), int(rng.integers(0, max(1, w - crop + 1)))
        target = out / f"{others[i].stem}_{y}_{x}.webp"
        if target.exists():  # drawn before
            misses += 1
            continue
        size = write_image(target, pixels[y : y + crop, x : x + crop]).stat().st_size  # WebP: lossless
        if used + size > budget:  # too big for what is left
            target.unlink()
            misses += 1
            continue
        used, crops = used + size, crops + 1
    return {"bytes": used, "jpeg_files": copied, "jpeg_files_left_out": len(jpegs) - copied, "crops": crops,
            "crop_sources": len(others)}  # fmt: skip


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sources", nargs="+", type=Path, help="folders (or globs) of training images")
    ap.add_argument("--out", type=Path, required=True, help="the packed folder (replaced)")
    ap.add_argument("--budget-mib", type=float, required=True)
    ap.add_argument("--jpeg-share", type=float, default=0.75, help="the most of the budget whole JPEGs take")
    ap.add_argument("--crop", type=int, default=256, help="crop size of the other images")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    report = pack(args.sources, args.out, int(args.budget_mib * 2**20), args.jpeg_share, args.crop, args.seed)
    print(f"{args.out}: {report['bytes'] / 2**20:.1f} MiB, {report['jpeg_files']} JPEG files whole "
          f"({report['jpeg_files_left_out']} left out), {report['crops']} crops of {report['crop_sources']} other images")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
