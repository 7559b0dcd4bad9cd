"""The shipped demosaicker on each of the four Bayer layouts of a benchmark set.

    python benchmarks/bayer_layouts.py --data /path/to/benchmarks [--set McMaster] [--direct GRBG ...]

The network was trained on RGGB mosaics only. `semanir restore --task demosaic --bayer-pattern P`
re-phases any other layout as RGGB (one mirrored row/column at the top/left) before MATLAB's
demosaic and the network, then crops back. For each layout this prints MATLAB's demosaic (Malvar)
and ours through that path; `--direct` adds, for the layouts named, the network run on that
layout's own Malvar output (what restore did before the re-phasing). RGB PSNR/SSIM on the 8-bit
output, no border crop, as in the paper's demosaicking protocol.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import torch

from semanir.data import ImageError, bayer_mosaic, demosaic_malvar, get_benchmark, quantize, read_image
from semanir.data.degradations import BAYER_PATTERNS
from semanir.metrics import psnr, ssim
from semanir.pretrained import preset_path
from semanir.restoration import Restorer
from semanir.weights import model_from_weights


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, help="folder holding the benchmark sets")
    ap.add_argument("--set", default="McMaster", help="color benchmark set (default McMaster)")
    ap.add_argument("--direct", nargs="*", default=[], choices=BAYER_PATTERNS, metavar="LAYOUT",
                    help="also run the network on these layouts' own Malvar output")  # fmt: skip
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        paths = get_benchmark(args.set).images(args.data)
    except (ImageError, KeyError, ValueError) as err:
        print(f"bayer_layouts: {err}", file=sys.stderr)
        return 2
    model, _ = model_from_weights(preset_path("demosaic"))
    restorers = {p: Restorer(model, task="demosaic", tile=0, bayer_pattern=p) for p in BAYER_PATTERNS}
    scores: dict[tuple[str, str], list[tuple[float, float]]] = {}
    start = time.time()
    for path in paths:
        clean = quantize(read_image(path).pixels)
        for pattern in BAYER_PATTERNS:
            cfa = bayer_mosaic(clean.astype(np.float32) / 255, pattern)
            malvar = demosaic_malvar(cfa, pattern)
            outputs = {
                "Malvar (MATLAB demosaic)": malvar,
                "ours, re-phased as RGGB": restorers[pattern].restore_array(cfa),
            }
            if pattern in args.direct:  # an RGB input goes straight to the network
                outputs["ours on the layout's own Malvar"] = restorers[pattern].restore_array(malvar)
            for method, out in outputs.items():
                out = quantize(out)
                scores.setdefault((pattern, method), []).append((psnr(out, clean), ssim(out, clean)))
    print(f"{args.set} ({len(paths)} images), shipped demosaicker, {time.time() - start:.0f} s")
    print("| layout | method | PSNR | SSIM |\n|---|---|---|---|")
    for (pattern, method), values in scores.items():
        mean = np.mean(values, axis=0)
        print(f"| {pattern} | {method} | {mean[0]:.2f} | {mean[1]:.4f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
