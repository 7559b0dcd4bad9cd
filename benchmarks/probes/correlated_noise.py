"""How does the `denoise` preset, trained on white noise, fare on noise as a camera leaves it:
added per sensor pixel, then demosaicked (which correlates it between neighbours and channels),
then maybe JPEG-compressed? Against CBM3D given the true sigma, in the same run.

    python benchmarks/probes/correlated_noise.py --data data_prep/val_structured [--limit 8] \
        [--weights denoise runs/x/weights/last.safetensors]

Per crop (clean RGB, 8-bit): the Bayer mosaic (RGGB) gets Gaussian noise of a sigma per sensor
value, is clipped to [0, 1] and demosaicked (Malvar, as MATLAB's `demosaic`, or OpenCV's VNG, which
no training run uses); the file is that rounded to 8 bits, or JPEG-compressed at quality 90
(OpenCV). The truth is the noise-free mosaic demosaicked the same way, since a denoiser removes
noise, not demosaicking's errors. The white row is the task's own protocol (AWGN sigma 25, clipped
to 8 bits) for reference.
CBM3D (the `bm3d` package) gets the true noise's sigma, measured per image as the RMS of the file
minus the truth (what an oracle noise estimate would tell it): it assumes white noise, as our
network does. Ours is the `denoise` preset as `semanir restore` runs it (blind, clipped inputs
in two passes). RGB PSNR of the 8-bit outputs.
"""

from __future__ import annotations

import argparse
import zlib

import numpy as np

import cv2

from semanir.data.degradations import bayer_mosaic, demosaic_malvar, jpeg_compress
from semanir.data.io import list_images, quantize, read_image, to_float
from semanir.metrics import psnr
from semanir.restoration import load

# name: (sigma per sensor value in 8-bit units, demosaicking or None for white noise, JPEG quality or None)
NOISES = {
    "white, sigma 25 (the task's)": (25.0, None, None),
    "raw 25, Malvar": (25.0, "malvar", None),
    "raw 25, Malvar, JPEG q90": (25.0, "malvar", 90),
    "raw 25, VNG": (25.0, "vng", None),
    "raw 12, VNG, JPEG q90": (12.0, "vng", 90),
}


def demosaic(cfa: np.ndarray, method: str) -> np.ndarray:
    if method == "malvar":
        return np.clip(demosaic_malvar(cfa, rounding="none"), 0, 1)
    # OpenCV names a layout by its second row's second and third values: RGGB is its "BG"
    return to_float(cv2.cvtColor(quantize(cfa), cv2.COLOR_BayerBG2RGB_VNG))


def camera_file(clean: np.ndarray, sigma: float, method: str | None, quality: int | None, seed: int):
    """(noisy 8-bit file as float, truth): see the module's docstring."""
    rng = np.random.default_rng(seed)
    if method is None:
        return to_float(quantize(np.clip(clean + sigma / 255 * rng.standard_normal(clean.shape), 0, 1))), clean
    mosaic = bayer_mosaic(clean)
    raw = np.clip(mosaic + sigma / 255 * rng.standard_normal(mosaic.shape), 0, 1)
    truth, noisy = demosaic(mosaic, method), demosaic(raw, method)
    noisy = jpeg_compress(noisy, quality) if quality else to_float(quantize(noisy))
    return noisy.astype(np.float32), truth.astype(np.float32)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="folder of clean crops (data_prep/val_structured)")
    ap.add_argument("--limit", type=int, default=8, help="only the first N crops")
    ap.add_argument("--weights", nargs="+", default=["denoise"], help="presets or .safetensors files")
    args = ap.parse_args(argv)
    import bm3d
    import torch

    torch.set_num_threads(1)
    restorers = [load(w, device="cpu", tile=0) for w in args.weights]
    paths = list_images(args.data)[: args.limit]
    print(f"{len(paths)} crops of {args.data}; mean RGB PSNR (dB) of 8-bit outputs against the noise-free pipeline")
    print("| noise | sigma of the file's noise | noisy | CBM3D (true sigma) | " + " | ".join(args.weights) + " |")
    print("|---|---:|---:|---:|" + "---:|" * len(args.weights))
    for name, (raw_sigma, method, quality) in NOISES.items():
        rows = []
        for path in paths:
            clean = to_float(read_image(path).pixels)
            seed = zlib.crc32(f"{path.stem}/{name}".encode())
            noisy, truth = camera_file(clean, raw_sigma, method, quality, seed)
            sigma = float(np.sqrt(np.mean((noisy.astype(np.float64) - truth) ** 2)))

            def score(out: np.ndarray, truth=truth) -> float:
                return psnr(quantize(np.clip(out, 0, 1)), quantize(truth))

            cbm3d = bm3d.bm3d_rgb(noisy.astype(np.float64), sigma)
            ours = [score(r.restore_array(noisy)) for r in restorers]
            rows.append((sigma * 255, score(noisy), score(cbm3d), *ours))
        means = np.mean(rows, axis=0)
        cells = [f"{means[0]:.1f}", f"{means[1]:.2f}", f"{means[2]:.2f}"]
        cells += [f"{m:.2f} ({m - means[2]:+.2f})" for m in means[3:]]
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
