"""Does the clipped-noise second pass (tasks/denoise.py) hold when the noise grows with the signal, as
a camera's does? Clipping happens only near 0 and 1, where a camera's noise is weaker (near 0) or
stronger (near 1) than its average: one sigma fitted over the whole image (the pass before commit
840148e) against a sigma fitted per bound (the task's now).

    python benchmarks/probes/signal_dependent_noise.py --data data_prep/val_structured [--limit 8]

Noise: clean + sqrt(a * clean + b) * N(0, 1), clipped to [0, 1] and rounded to 8 bits (a noisy
file), for a few (sigma at 0, sigma at 1) pairs in 8-bit units ((25, 25) is the task's AWGN), on the
images as they are and overexposed (highlights beyond 1 before the noise, so blown in the file). Per
crop and noise: the `denoise` preset in one pass, in two with one sigma fitted over the whole
image, in the task's two (each bound's sigma fitted to the values whose first result lies near it),
and on the same noise unclipped (what clipping costs).
RGB PSNR of the 8-bit outputs.
"""

from __future__ import annotations

import argparse
import zlib

import numpy as np
import torch

from semanir.data.datasets import to_chw
from semanir.data.io import list_images, quantize, read_image, to_float
from semanir.evaluation import to_hwc
from semanir.metrics import psnr
from semanir.restoration import Restorer, load
from semanir.tasks import denoise

# (sigma at clean 0, at clean 1, in 8-bit units; exposure): the clean image is multiplied by the
# exposure before the noise, and the truth is that clipped to [0, 1]: at 1.5 the highlights are
# blown, flat at 1 in the noisy file as where a sensor saturates.
NOISES = ((25, 25, 1.0), (10, 35, 1.0), (5, 40, 1.0), (25, 25, 1.5), (10, 35, 1.5))


def camera_noise(clean: np.ndarray, at_zero: float, at_one: float, seed: int) -> np.ndarray:
    """clean + Gaussian noise whose variance is linear in the clean value, unclipped."""
    b, a = (at_zero / 255) ** 2, ((at_one / 255) ** 2 - (at_zero / 255) ** 2)
    rng = np.random.default_rng(seed)
    return (clean + np.sqrt(a * clean + b) * rng.standard_normal(clean.shape)).astype(np.float32)


def one_sigma_pass(run, noisy: torch.Tensor, first: torch.Tensor) -> torch.Tensor:
    """The second pass with the whole image's sigma at both bounds (the task's before 840148e)."""
    sigma = denoise.censored_sigma(noisy[0], first[0])
    return run(denoise.expected_unclipped(noisy[0], first[0], sigma, sigma)[None])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="folder of clean crops (data_prep/val_structured)")
    ap.add_argument("--limit", type=int, default=8, help="only the first N crops")
    ap.add_argument("--weights", default="denoise")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    restorer = load(args.weights, device="cpu", tile=0)
    plain = Restorer(restorer.model, tile=0)  # no task: one pass

    def run(batch: torch.Tensor) -> torch.Tensor:
        return to_chw(plain.restore_array(to_hwc(batch[0])))[None]

    paths = list_images(args.data)[: args.limit]
    print(f"{len(paths)} crops of {args.data}, weights {args.weights}; mean RGB PSNR (dB) of 8-bit outputs")
    print("| sigma at 0 / at 1 | exposure | noisy | one pass | two passes, one sigma"
          " | two passes, sigma per bound (task) | unclipped, one pass |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for at_zero, at_one, exposure in NOISES:
        rows = []
        for path in paths:
            exposed = to_float(read_image(path).pixels) * exposure
            clean = np.clip(exposed, 0, 1)
            seed = zlib.crc32(f"{path.stem}/{at_zero}/{at_one}".encode())
            unclipped = camera_noise(exposed, at_zero, at_one, seed)
            noisy = quantize(np.clip(unclipped, 0, 1)).astype(np.float32) / 255
            y = to_chw(noisy)[None]
            first = run(y)

            def score(out: np.ndarray) -> float:
                return psnr(quantize(np.clip(out, 0, 1)), quantize(clean))

            rows.append((
                score(noisy),
                score(to_hwc(first[0])),
                score(to_hwc(one_sigma_pass(run, y, first)[0])),
                score(restorer.restore_array(noisy)),
                score(plain.restore_array(unclipped)),
            ))  # fmt: skip
        means = np.mean(rows, axis=0)
        print(f"| {at_zero} / {at_one} | {exposure:g} | " + " | ".join(f"{m:.2f}" for m in means) + " |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
