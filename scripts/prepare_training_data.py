"""Split the shared training photos into training folders and small held-out validation sets.

    python scripts/prepare_training_data.py --shared ../shared/data --out data_prep

Every 19th photo (sorted by name; 4 of the 76) is held out, and its centre 256x256 crop goes to
``<out>/val``: validation during training never touches a benchmark set. The other photos are
linked (symlinks, no copies) into ``<out>/train``; Train400's gray crops into ``<out>/train_gray``.

The newer color sets (``bsds400``, ``wallpapers``) are linked into ``<out>/train_new``, except
the wallpapers of buildings, streets and text named in STRUCTURED_VAL: they are held out whole,
and their most structured 256x256 crops go to ``<out>/val_structured`` (a proxy for photos of
buildings and streets that the denoiser has never seen; never train on it).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from semanir.data.io import list_images, read_image, write_image

HOLD_OUT_EVERY = 19
VAL_CROP = 256
# Wallpapers of facades, streets, a station and a clock face, picked by eye from thumbnails.
STRUCTURED_VAL = (
    "budgie_beacon-street-sunset", "budgie_roman-colosseum", "budgie_singaporean-cityscape",
    "ubuntu_capucijnengang_by_artem_kavalerov", "ubuntu_matt-mcnulty-nyc-2nd-ave",
    "ubuntu_tapiola_espoo_cultural_center_by_agostino_faedda", "ubuntu_clock_by_bernhard_hanakam",
    "deepin_joshua-coleman-kzpefinjw58-unsplash",
)  # fmt: skip
CROPS_PER_IMAGE = 4


def structured_crops(img: np.ndarray, count: int = CROPS_PER_IMAGE, size: int = VAL_CROP) -> list[tuple[int, int]]:
    """Top-left corners of the ``count`` non-overlapping crops with the most edges (mean absolute
    Laplacian of the gray image), on a grid of half-crop steps: structure, not sky."""
    gray = img.mean(axis=2) if img.ndim == 3 else img
    edges = np.abs(cv2.Laplacian(gray.astype(np.float32), cv2.CV_32F))
    h, w = gray.shape
    step = size // 2
    corners = [(y, x) for y in range(0, h - size + 1, step) for x in range(0, w - size + 1, step)]
    corners.sort(key=lambda c: -float(edges[c[0] : c[0] + size, c[1] : c[1] + size].mean()))
    chosen: list[tuple[int, int]] = []
    for y, x in corners:
        if all(abs(y - cy) >= size or abs(x - cx) >= size for cy, cx in chosen):
            chosen.append((y, x))
        if len(chosen) == count:
            break
    return chosen


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", required=True, help="the shared data folder (holds train/photos, train/Train400)")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    photos = list_images(Path(args.shared) / "train" / "photos")
    out = Path(args.out)
    for sub in ("train", "val", "train_gray", "train_new", "val_structured"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    for i, path in enumerate(photos):
        if i % HOLD_OUT_EVERY == HOLD_OUT_EVERY - 1:
            img = read_image(path).pixels
            h, w = img.shape[:2]
            top, left = (h - VAL_CROP) // 2, (w - VAL_CROP) // 2
            write_image(out / "val" / f"{path.stem}.png", img[top : top + VAL_CROP, left : left + VAL_CROP])
        else:
            link = out / "train" / path.name
            if not link.exists():
                link.symlink_to(path.resolve())
    gray = Path(args.shared) / "train" / "Train400"
    if gray.is_dir():
        for path in list_images(gray):
            link = out / "train_gray" / path.name
            if not link.exists():
                link.symlink_to(path.resolve())
    for folder in ("bsds400", "wallpapers"):
        source = Path(args.shared) / "train" / folder
        if not source.is_dir():
            continue
        for path in list_images(source):
            if path.stem in STRUCTURED_VAL:
                img = read_image(path).pixels
                for n, (y, x) in enumerate(structured_crops(img)):
                    write_image(out / "val_structured" / f"{path.stem}_{n}.png", img[y : y + VAL_CROP, x : x + VAL_CROP])
                continue
            link = out / "train_new" / path.name
            if not link.exists():
                link.symlink_to(path.resolve())
    counts = {sub: len(list((out / sub).iterdir())) for sub in ("train", "val", "train_gray", "train_new", "val_structured")}
    print(f"{out}: {counts}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
