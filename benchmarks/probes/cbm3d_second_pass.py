"""Is the clipped-input gain the network's or the second pass's? CBM3D given the same second pass
as the denoise task (tasks/denoise.py: the clipped values put back at their expected unclipped
values, given CBM3D's first result and the sigma fitted to the input), on the structured crops
with clipped noise, as ``benchmarks/structured_val.py`` makes it.

    python benchmarks/probes/cbm3d_second_pass.py --data data_prep/val_structured [--limit N]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from benchmarks.structured_val import cbm3d, noisy_input
from semanir.data.datasets import to_chw
from semanir.data.io import list_images, read_image, to_float
from semanir.data.protocols import get_protocol
from semanir.evaluation import to_hwc
from semanir.tasks.denoise import censored_sigma, unclipped_guess


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="folder of clean crops (data_prep/val_structured)")
    ap.add_argument("--limit", type=int, help="only the first N crops")
    ap.add_argument("--sigma", type=float, default=25.0)
    args = ap.parse_args(argv)
    protocol = get_protocol("denoise", 25)
    one, two, fitted = [], [], []
    for path in list_images(args.data)[: args.limit]:
        clean = to_float(read_image(path).pixels)
        noisy = noisy_input(clean, args.sigma, path.stem, "clipped")
        first = cbm3d(noisy, args.sigma)
        y, x = to_chw(noisy), to_chw(first)
        sigma, guess = censored_sigma(y, x), unclipped_guess(y, x)
        second = first if guess is None else cbm3d(to_hwc(guess), args.sigma)
        one.append(protocol.evaluate(first, clean)["psnr"])
        two.append(protocol.evaluate(second, clean)["psnr"])
        fitted.append(sigma * 255)
        print(f"{path.stem}: CBM3D {one[-1]:.2f}, with the second pass {two[-1]:.2f} (fitted sigma {fitted[-1]:.1f})",
              file=sys.stderr, flush=True)  # fmt: skip
    print(f"{len(one)} crops of {args.data}, sigma {args.sigma:g} clipped to 8 bits; mean RGB PSNR (dB), 8-bit outputs")
    print("| CBM3D | CBM3D, second pass | fitted sigma (mean) |\n|---|---|---|")
    print(f"| {np.mean(one):.2f} | {np.mean(two):.2f} | {np.mean(fitted):.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
