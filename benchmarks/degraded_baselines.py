"""PSNR/SSIM of the degraded inputs themselves, per protocol: the baseline row of every table.

    python benchmarks/degraded_baselines.py --data /path/to/benchmarks [--checks]

For each set found under --data: noisy inputs (sigma 15/25/50), JPEG (QF 10/20/30/40),
bicubic-upscaled LR (x2/x3/x4: MATLAB downscale, then MATLAB bicubic upscale) and Malvar
demosaicked mosaics, scored exactly as the restored outputs will be (see semanir.data.protocols).
Degraded inputs are scored as they are fed to the network: AWGN unclipped and unrounded.
Sets that are absent are listed and skipped. --checks also prints the agreement with the
independent references: MATLAB's Set5 LR files, scikit-image's metrics, and the Malvar baseline
under each rounding and border choice.
"""

from __future__ import annotations

import argparse
import math
import sys
import time

import numpy as np

from semanir import metrics
from semanir.data.datasets import TestDataset
from semanir.evaluation import evaluate, identity_restorer
from semanir.data import (
    ImageError,
    bayer_mosaic,
    bicubic_downscale,
    demosaic_malvar,
    get_benchmark,
    get_protocol,
    jpeg_compress,
    quantize,
    read_image,
)

# (set, task, channels, levels)
PLAN = [
    ("CBSD68", "denoise", 3, (15, 25, 50)),
    ("McMaster", "denoise", 3, (15, 25, 50)),
    ("Kodak24_500crop", "denoise", 3, (15, 25, 50)),
    ("BSD68", "denoise", 1, (15, 25, 50)),
    ("Set12", "denoise", 1, (15, 25, 50)),
    ("LIVE1", "jpeg", 3, (10, 20, 30, 40)),
    ("LIVE1", "jpeg", 1, (10, 20, 30, 40)),
    ("Classic5", "jpeg", 1, (10, 20, 30, 40)),
    ("Set5", "sr", 3, (2, 3, 4)),
    ("Set14", "sr", 3, (2, 3, 4)),
    ("McMaster", "demosaic", 3, (None,)),
    ("Kodak24_500crop", "demosaic", 3, (None,)),
]

# Published figures for the same degraded inputs, printed beside ours for comparison.
PUBLISHED = {
    # SemanIR Table 4, "JPEG" column (from QGAC), LIVE1 color.
    ("LIVE1", "jpeg_10_rgb"): 25.69,
    ("LIVE1", "jpeg_20_rgb"): 28.06,
    ("LIVE1", "jpeg_30_rgb"): 29.37,
    ("LIVE1", "jpeg_40_rgb"): 30.28,
    # SemanIR Table 9, "Matlab" row (full Kodak; ours is cropped, so not comparable).
    ("McMaster", "demosaic_rgb"): 34.43,
}


def reference(set_name: str, protocol) -> str:
    if protocol.task == "denoise":  # E[(n)^2] = sigma^2 for unclipped AWGN
        return f"{20 * math.log10(255 / protocol.level):.2f} (analytic)"
    published = PUBLISHED.get((set_name, protocol.name))
    return f"{published:.2f} (paper)" if published is not None else ""


def measure(paths, protocol, seed: int) -> tuple[float, float]:
    """Mean PSNR/SSIM of the degraded inputs themselves, exactly as `semanir test --model identity`."""
    dataset = TestDataset(paths, protocol, base_seed=seed)
    result = evaluate(identity_restorer(protocol), dataset, protocol, quantize_output=False)
    return result.mean["psnr"], result.mean["ssim"]


def check_set5_lr(root: str) -> None:
    """Our bicubic downscale against the LR PNGs made by MATLAB (SwinIR's Set5/LR_bicubic)."""
    folder = get_benchmark("Set5").folder(root)
    print("\n| Set5 LR vs MATLAB files | PSNR min / mean (dB) | max abs diff | RMS diff (levels) |")
    print("|---|---|---|---|")
    for scale in (2, 3, 4):
        psnrs, worst, sq, n = [], 0, 0.0, 0
        for hr in get_benchmark("Set5").images(root):
            lr_file = quantize(
                read_image(folder / "LR_bicubic" / f"X{scale}" / f"{hr.stem}x{scale}.png").pixels
            )
            ours = quantize(bicubic_downscale(read_image(hr).pixels, scale))
            d = ours.astype(np.int64) - lr_file
            psnrs.append(metrics.psnr(ours, lr_file))
            worst, sq, n = max(worst, int(np.abs(d).max())), sq + float((d**2).sum()), n + d.size
        print(f"| x{scale} | {min(psnrs):.2f} / {np.mean(psnrs):.2f} | {worst} | {math.sqrt(sq / n):.3f} |")


def check_skimage(root: str) -> None:
    """Largest difference to scikit-image's PSNR/SSIM/rgb2ycbcr over LIVE1 at QF 10."""
    from skimage.color import rgb2ycbcr
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    def sk_ssim(a, b, axis):
        return structural_similarity(
            a,
            b,
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
            data_range=255,
            channel_axis=axis,
        )

    worst = dict.fromkeys(["psnr_rgb", "ssim_rgb", "psnr_y", "ssim_y", "y"], 0.0)
    paths = get_benchmark("LIVE1").images(root)
    for path in paths:
        clean = quantize(read_image(path).pixels)
        out = quantize(jpeg_compress(clean / np.float32(255), 10))
        a, b = clean.astype(np.float64), out.astype(np.float64)
        ya, yb = rgb2ycbcr(clean)[..., 0], rgb2ycbcr(out)[..., 0]
        diffs = {
            "psnr_rgb": metrics.psnr(out, clean) - peak_signal_noise_ratio(a, b, data_range=255),
            "ssim_rgb": metrics.ssim(out, clean) - sk_ssim(a, b, 2),
            "psnr_y": metrics.psnr(out, clean, y_channel=True)
            - peak_signal_noise_ratio(ya, yb, data_range=255),
            "ssim_y": metrics.ssim(out, clean, y_channel=True) - sk_ssim(ya, yb, None),
            "y": float(np.abs(metrics.rgb_to_y(clean) - ya).max()),
        }
        worst = {k: max(worst[k], abs(v)) for k, v in diffs.items()}
    print(f"\nscikit-image agreement, LIVE1 QF 10 ({len(paths)} images), largest |difference|:")
    print("  " + ", ".join(f"{k} {v:.1e}" for k, v in worst.items()))


def check_demosaic(root: str) -> None:
    """Malvar baseline PSNR (RGB) under MATLAB's floor cast, half-up rounding and no rounding."""
    print("\n| set | rounding | crop 0 | crop 2 |")
    print("|---|---|---|---|")
    for name in ("McMaster", "Kodak24_500crop"):
        try:
            clean = [read_image(p).pixels for p in get_benchmark(name).images(root)]
        except ImageError:
            continue
        for rounding in ("floor", "round", "none"):
            outs = [np.clip(demosaic_malvar(bayer_mosaic(c), rounding=rounding), 0, 1) for c in clean]
            cells = [
                np.mean([metrics.psnr(o, c, crop_border=b) for o, c in zip(outs, clean, strict=True)])
                for b in (0, 2)
            ]
            print(f"| {name} | {rounding} | {cells[0]:.3f} | {cells[1]:.3f} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="folder holding the benchmark sets")
    parser.add_argument("--seed", type=int, default=0, help="base seed of the per-image noise")
    parser.add_argument("--checks", action="store_true", help="also print the reference checks")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    print("| set | protocol | scored on | images | PSNR (dB) | SSIM | reference PSNR |")
    print("|---|---|---|---|---|---|---|")
    missing = []
    for set_name, task, channels, levels in PLAN:
        bench = get_benchmark(set_name)
        try:
            paths = bench.images(args.data)
        except ImageError as err:
            missing.append(f"{set_name}: {err}")
            continue
        for level in levels:
            protocol = get_protocol(task, level, channels)
            space = ("Y" if protocol.y_channel and channels == 3 else "gray" if channels == 1 else "RGB") + (
                f", crop {protocol.crop_border}" if protocol.crop_border else ""
            )
            label = set_name + ("" if bench.comparable else " (not comparable)")
            p, s = measure(paths, protocol, args.seed)
            ref = reference(set_name, protocol)
            print(f"| {label} | {protocol.name} | {space} | {len(paths)} | {p:.2f} | {s:.4f} | {ref} |")
    if args.checks:
        for check in (check_set5_lr, check_skimage, check_demosaic):
            try:
                check(args.data)
            except ImageError as err:
                missing.append(f"{check.__name__}: {err}")
    for line in dict.fromkeys(missing):
        print(f"skipped {line}", file=sys.stderr)
    print(f"\n({time.perf_counter() - start:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
