"""Split the shared training photos into the training folder and a small held-out validation set.

    python scripts/prepare_training_data.py --shared ../shared/data --out data_prep

Every 19th photo (sorted by name; 4 of the 76) is held out, and its centre 256x256 crop goes to
``<out>/val``: validation during training never touches a benchmark set. The other photos are
linked (symlinks, no copies) into ``<out>/train``; Train400's gray crops into ``<out>/train_gray``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from semanir.data.io import list_images, read_image, write_image

HOLD_OUT_EVERY = 19
VAL_CROP = 256


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", required=True, help="the shared data folder (holds train/photos, train/Train400)")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    photos = list_images(Path(args.shared) / "train" / "photos")
    out = Path(args.out)
    for sub in ("train", "val", "train_gray"):
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
    counts = {sub: len(list((out / sub).iterdir())) for sub in ("train", "val", "train_gray")}
    print(f"{out}: {counts}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
