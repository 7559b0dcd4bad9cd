"""Where two denoisers differ on a test set: squared error on channel values near 0 or 255
(within two sigmas, where clipped and unclipped noise differ) and on the rest (sigma 25,
unclipped AWGN seeded by each file's name: the same input for every model, though not the draw of
`semanir test`, which seeds by the file's stem).

A model trained partly on clipped noise may learn that noise near the bounds is biased inward;
given unclipped noise there, it may correct a bias that is not present. If its loss against
another model sits in the near-bound values, clipping is the cause.

    python -m benchmarks.probes.saturation_split ../shared/data/benchmarks/McMaster denoise RUN/weights/last.safetensors
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import torch

import semanir
from semanir.data.degradations import add_gaussian_noise, image_seed
from semanir.data.io import quantize, read_image, to_float

SIGMA = 25.0


def main(folder: Path, weights: list[str]) -> None:
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    models = {w: semanir.load(w, device="cpu") for w in weights}
    near_bound = 2 * SIGMA / 255
    sums = {w: np.zeros(2) for w in weights}  # squared error: near bounds, interior
    counts = np.zeros(2)
    print("| image | near-bound share | " + " | ".join(f"{w}: near / interior dB" for w in weights) + " |")
    print("|---|---:|" + "---|" * len(weights))
    for path in sorted(folder.glob("*.png"), key=lambda p: (len(p.stem), p.stem)):
        clean = to_float(read_image(path).pixels)
        noisy = add_gaussian_noise(clean, SIGMA, image_seed(0, path.name))
        truth = to_float(quantize(clean))
        near = (truth <= near_bound) | (truth >= 1 - near_bound)
        counts += (near.sum(), (~near).sum())
        cells = []
        for w, model in models.items():
            x = torch.from_numpy(noisy.transpose(2, 0, 1))[None].float()
            out = to_float(quantize(model.restore(x)[0].numpy().transpose(1, 2, 0)))
            sq = (out - truth) ** 2
            parts = np.array([sq[near].sum(), sq[~near].sum()])
            sums[w] += parts
            db = [10 * np.log10(n / s) if s > 0 else float("inf") for s, n in zip(parts, (near.sum(), (~near).sum()))]
            cells.append(f"{db[0]:.2f} / {db[1]:.2f}")
        print(f"| {path.stem} | {near.mean():.1%} | " + " | ".join(cells) + " |", flush=True)
    total = counts.sum()
    for w in weights:
        s = sums[w]
        print(f"{w}: all {10 * np.log10(total / s.sum()):.3f} dB; near bounds {10 * np.log10(counts[0] / s[0]):.3f} dB "
              f"({counts[0] / total:.1%} of values, {s[0] / s.sum():.1%} of the squared error); "
              f"interior {10 * np.log10(counts[1] / s[1]):.3f} dB")


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2:])
