"""Score denoisers and CBM3D on the structured-scene validation set, clipped and unclipped, in one run.

    python benchmarks/structured_val.py --data data_prep/val_structured \
        --weights denoise runs/x/weights/final.safetensors --cbm3d-cache benchmarks/structured_val_cbm3d.json

The set is made by ``scripts/prepare_training_data.py`` (``val_structured``: crops of held-out
photos of buildings, streets and a clock face; never trained on): our proxy for photos of
buildings and streets that the denoiser has never seen. Each crop gets AWGN seeded by its name
(``image_seed(0, name)``, as ``semanir test`` does), scored twice: *unclipped* (the paper's
protocol, float input) and *clipped* (the same noise clipped to [0, 1] and rounded to 8 bits, as
in a real noisy file). Outputs are rounded to 8 bits and scored in RGB, like ``semanir test``.
CBM3D (the ``bm3d`` package) gets the true sigma; its scores are cached per crop, sigma and
clipping in ``--cbm3d-cache`` (about 8 s per crop on one thread) so that later runs only time ours.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

import semanir
from semanir.data.degradations import add_gaussian_noise, image_seed
from semanir.data.io import list_images, quantize, read_image, to_float
from semanir.data.protocols import get_protocol

NOISE = ("unclipped", "clipped")


def noisy_input(clean: np.ndarray, sigma: float, name: str, noise: str) -> np.ndarray:
    noisy = add_gaussian_noise(clean, sigma, image_seed(0, name))
    return noisy if noise == "unclipped" else to_float(quantize(noisy))


def cbm3d(noisy: np.ndarray, sigma: float) -> np.ndarray:
    import bm3d

    return bm3d.bm3d_rgb(noisy.astype(np.float64), sigma / 255.0).astype(np.float32)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="folder of clean crops (data_prep/val_structured)")
    ap.add_argument("--weights", nargs="+", default=["denoise"], help="presets or .safetensors files to score")
    ap.add_argument("--k", type=int, nargs="+", help="run each weights file at each of these top-k (default: its own)")
    ap.add_argument("--limit", type=int, help="only the first N crops")
    ap.add_argument("--noise", nargs="+", choices=NOISE, default=list(NOISE))
    ap.add_argument("--sigma", type=float, nargs="+", default=[25.0])
    ap.add_argument("--cbm3d-cache", help="JSON file of CBM3D scores, read and extended (default: no cache)")
    ap.add_argument("--no-cbm3d", action="store_true")
    ap.add_argument("--json", help="write every score to this file")
    args = ap.parse_args(argv)

    paths = list_images(args.data)[: args.limit]
    cache_path = Path(args.cbm3d_cache) if args.cbm3d_cache else None
    cache = json.loads(cache_path.read_text()) if cache_path and cache_path.is_file() else {}
    restorers = {
        f"{w} k={k}" if k else str(w): semanir.load(str(w), device="cpu", k=k) for w in args.weights for k in (args.k or [None])
    }  # fmt: skip
    methods = ["noisy input"] + ([] if args.no_cbm3d else ["CBM3D"]) + list(restorers)
    scores: dict[str, dict[str, list[float]]] = {}
    for sigma in args.sigma:
        protocol = get_protocol("denoise", int(sigma) if float(sigma).is_integer() else 25)
        for noise in args.noise:
            rows = scores.setdefault(f"sigma {sigma:g} {noise}", {m: [] for m in methods})
            for path in paths:
                clean = to_float(read_image(path).pixels)
                noisy = noisy_input(clean, sigma, path.stem, noise)
                rows["noisy input"].append(protocol.evaluate(noisy, clean, quantize_output=noise == "clipped")["psnr"])
                if not args.no_cbm3d:
                    key = f"{path.stem}|{sigma:g}|{noise}"
                    if key not in cache:
                        cache[key] = protocol.evaluate(cbm3d(noisy, sigma), clean)["psnr"]
                        if cache_path:
                            cache_path.write_text(json.dumps(cache, indent=1, sort_keys=True))
                    rows["CBM3D"].append(cache[key])
                for name, restorer in restorers.items():
                    rows[name].append(protocol.evaluate(restorer.restore_array(noisy, path.name), clean)["psnr"])
                print(f"{path.stem} sigma {sigma:g} {noise}: "
                      + ", ".join(f"{m} {v[-1]:.2f}" for m, v in rows.items()), file=sys.stderr, flush=True)  # fmt: skip

    print(f"{len(paths)} crops of {args.data}; mean RGB PSNR (dB), 8-bit outputs")
    print("| noise | " + " | ".join(methods) + (" | " + " | ".join(f"{w} - CBM3D" for w in restorers) if "CBM3D" in methods else "") + " |")
    print("|---" * (len(methods) + (len(restorers) if "CBM3D" in methods else 0) + 1) + "|")
    for label, rows in scores.items():
        means = {m: float(np.mean(v)) for m, v in rows.items()}
        cells = [f"{means[m]:.2f}" for m in methods]
        if "CBM3D" in methods:
            cells += [f"{means[w] - means['CBM3D']:+.2f}" for w in restorers]
        print(f"| {label} | " + " | ".join(cells) + " |")
    if args.json:
        Path(args.json).write_text(json.dumps({"data": str(args.data), "crops": [p.stem for p in paths], "psnr": scores}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
