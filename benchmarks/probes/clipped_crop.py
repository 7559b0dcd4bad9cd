"""What clipping the noise to 8 bits costs on the 96x96 astronaut crop of tests/test_pretrained.py
(sigma 25, noise seed 1, as benchmarks/probes/preset_crops.py makes it): the denoise presets in one
pass and in the task's two (tasks/denoise.py), and CBM3D (the ``bm3d`` package, true sigma), plain
and given the same second pass.

    python benchmarks/probes/clipped_crop.py [denoise denoise_gray]
"""

from __future__ import annotations

import sys
from functools import partial

import numpy as np
import torch

from semanir.data.datasets import to_chw
from semanir.data.degradations import add_gaussian_noise
from semanir.data.io import quantize, read_image, to_float
from semanir.data.protocols import get_protocol
from semanir.evaluation import to_hwc
from semanir.metrics import psnr
from semanir.restoration import Restorer, load
from semanir.tasks import denoise

torch.set_num_threads(1)
SIGMA = 25
clean_rgb = to_float(read_image("examples/astronaut_clean.png").pixels[64:160, 80:176])


def psnr_8bit(x: np.ndarray, truth: np.ndarray) -> float:
    return psnr(quantize(np.clip(x, 0, 1)), quantize(truth))


def bm3d_(y: np.ndarray) -> np.ndarray:
    import bm3d

    run = bm3d.bm3d_rgb if y.ndim == 3 else bm3d.bm3d
    return run(y.astype(np.float64), SIGMA / 255).astype(np.float32)


for preset in sys.argv[1:] or ["denoise", "denoise_gray"]:
    restorer = load(preset, device="cpu", tile=0)
    clean = clean_rgb if restorer.in_chans == 3 else get_protocol("denoise", SIGMA, 1).to_channels(clean_rgb)[..., 0]
    noisy = add_gaussian_noise(clean, SIGMA, 1).astype(np.float32)
    clipped = np.clip(noisy, 0, 1)

    score = partial(psnr_8bit, truth=clean)
    ours_unclipped, ours_two = score(restorer.restore_array(noisy)), score(restorer.restore_array(clipped))
    ours_one = score(Restorer(restorer.model, tile=0).restore_array(clipped))  # no task: one pass
    first = bm3d_(clipped)
    guess = denoise.unclipped_guess(to_chw(clipped), to_chw(first))
    cbm3d_two = score(first if guess is None else bm3d_(to_hwc(guess).reshape(clipped.shape)))
    cbm3d_unclipped, cbm3d_one = score(bm3d_(noisy)), score(first)
    print(f"## {preset}, sigma {SIGMA}: noisy input {score(noisy):.2f} dB (8-bit, so clipped as well)")
    print("| method | unclipped | clipped, one pass | clipped, two passes | cost of clipping (two passes) |")
    print("|---|---|---|---|---|")
    print(f"| {preset} | {ours_unclipped:.2f} | {ours_one:.2f} | {ours_two:.2f} | {ours_unclipped - ours_one:.2f} ({ours_unclipped - ours_two:.2f}) |")
    print(f"| CBM3D | {cbm3d_unclipped:.2f} | {cbm3d_one:.2f} | {cbm3d_two:.2f} | {cbm3d_unclipped - cbm3d_one:.2f} ({cbm3d_unclipped - cbm3d_two:.2f}) |")
