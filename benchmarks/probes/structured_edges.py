"""Where ours and CBM3D differ on one structured crop: squared error on edge and on flat pixels,
and the mean colour bias (sigma 25, unclipped, the noise structured_val.py gives that crop).

    python -m benchmarks.probes.structured_edges data_prep/val_structured/deepin_joshua-coleman-kzpefinjw58-unsplash_0.png
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

import semanir
from benchmarks.structured_val import cbm3d, noisy_input
from semanir.data.io import quantize, read_image, to_float

torch.set_num_threads(1)
path = Path(sys.argv[1])
weights = sys.argv[2] if len(sys.argv) > 2 else "denoise"
clean = to_float(read_image(path).pixels)
noisy = noisy_input(clean, 25.0, path.name, "unclipped")
ours = to_float(quantize(semanir.load(weights, device="cpu").restore(torch.from_numpy(noisy.transpose(2, 0, 1))[None].float())[0].numpy().transpose(1, 2, 0)))
theirs = to_float(quantize(cbm3d(noisy, 25.0)))
truth = to_float(quantize(clean))
gy, gx = np.gradient(truth.mean(-1))
flat = np.abs(gy) + np.abs(gx) < 0.01  # the same threshold for both methods
print(f"{path.name}: {flat.mean():.0%} flat pixels")
for name, out in ((str(weights), ours), ("CBM3D", theirs)):
    err = out - truth
    psnr = 10 * np.log10(1 / (err**2).mean())
    print(f"{name}: {psnr:.2f} dB, squared error flat {(err[flat] ** 2).mean():.2e}, edges {(err[~flat] ** 2).mean():.2e}, "
          f"bias per channel {np.round(err.mean((0, 1)), 4)}")
