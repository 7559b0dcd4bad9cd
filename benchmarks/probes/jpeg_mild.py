"""Gain (dB) of the JPEG presets on mildly compressed files, per image and quality: where restoring
stops paying, which sets the jpeg task's AS_IS_QUALITY (files at or above it are left as they are).

    python benchmarks/probes/jpeg_mild.py data_prep/val [jpeg jpeg_gray]

Images: the folder's (top-left 192x192 of each) and the tests' 96x96 astronaut crop; gray presets
see them in gray (MATLAB's rgb2gray weights).
"""

from __future__ import annotations

import sys

import numpy as np
import torch

from semanir.data.degradations import jpeg_compress
from semanir.data.io import list_images, quantize, read_image
from semanir.data.protocols import get_protocol
from semanir.metrics import psnr
from semanir.restoration import load

QUALITIES = (88, 90, 92, 93, 94, 95, 97)

torch.set_num_threads(1)
images = [read_image(p).pixels[:192, :192] for p in list_images(sys.argv[1])]
images.append(read_image("examples/astronaut_clean.png").pixels[64:160, 80:176])
to_gray = get_protocol("jpeg", 10, 1).to_channels
for preset in sys.argv[2:] or ["jpeg", "jpeg_gray"]:
    restorer = load(preset, device="cpu", tile=0)
    print(f"## {preset}: gain per image (the folder's, then the crop), mean")
    for quality in QUALITIES:
        gains = []
        for image in images:
            clean = image if restorer.in_chans == 3 else to_gray(image)[..., 0]
            jpeg = jpeg_compress(clean, quality).astype(np.float32)
            gains.append(psnr(quantize(restorer.restore(jpeg)), quantize(clean)) - psnr(quantize(jpeg), quantize(clean)))
        print(f"quality {quality}: {' '.join(f'{g:+.2f}' for g in gains)}  mean {np.mean(gains):+.2f}", flush=True)
