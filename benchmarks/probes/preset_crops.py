"""Gains of presets (or candidate weights) on the 96x96 astronaut crop that tests/test_pretrained.py
asserts, so that its thresholds come from a measurement.

    python benchmarks/probes/preset_crops.py denoise_gray jpeg_gray sr_x2 sr_x3 deblur jpeg
    python benchmarks/probes/preset_crops.py runs/shipped_sr_x2/weights/final.safetensors
"""

from __future__ import annotations

import sys

import numpy as np
import torch

from semanir.data.degradations import add_gaussian_noise, bicubic_downscale, bicubic_upscale, jpeg_compress
from semanir.data.io import quantize, read_image, to_float
from semanir.data.motion_blur import motion_blur, random_motion_kernel
from semanir.data.protocols import get_protocol
from semanir.metrics import psnr
from semanir.restoration import load
from semanir.tasks.deblur import synthetic_blur

torch.set_num_threads(1)
clean = read_image("examples/astronaut_clean.png").pixels[64:160, 80:176]
clean = clean.astype(np.float32) / 255 if clean.dtype == np.uint8 else clean
gray = get_protocol("denoise", 25, 1).to_channels(clean)[..., 0]


def gain(restorer, degraded, truth, baseline=None, **score):
    before = psnr(quantize(degraded if baseline is None else baseline), quantize(truth), **score)
    after = psnr(quantize(restorer.restore(degraded)), quantize(truth), **score)
    return f"{before:.2f} -> {after:.2f} ({after - before:+.2f})"


for name in sys.argv[1:]:
    restorer = load(name, device="cpu", tile=0)
    task, scale, channels = restorer.task, restorer.scale, restorer.in_chans
    print(f"## {name}: task {task}, x{scale}, {channels} channel(s)")
    if task == "denoise":
        img = gray if channels == 1 else clean
        for sigma, clip in ((25, False), (50, False), (25, True)):
            noisy = add_gaussian_noise(img, sigma, 1)
            noisy = np.clip(noisy, 0, 1) if clip else noisy
            print(f"sigma {sigma}{' clipped' if clip else ''}: {gain(restorer, noisy.astype(np.float32), img)}")
        print(f"clean in: {psnr(quantize(restorer.restore(img)), quantize(img)):.2f} dB")
    elif task == "jpeg":
        img = gray if channels == 1 else clean
        for q in (10, 20, 40, 60, 90, 95):
            print(f"quality {q}: {gain(restorer, jpeg_compress(img, q).astype(np.float32), img)}")
    elif task == "sr":
        hr = clean[: 96 - 96 % scale, : 96 - 96 % scale]
        lr = bicubic_downscale(hr, scale)
        print(f"x{scale} (Y, border {scale}): {gain(restorer, lr, hr, bicubic_upscale(lr, scale), crop_border=scale, y_channel=True)}")
    elif task == "deblur":
        for seed in range(4):
            blurry, kernel = synthetic_blur(clean, seed)
            print(f"held-out kernel {seed} ({kernel.shape[0]} px): {gain(restorer, blurry, clean, crop_border=15)}")
        for span in (1.5, 3.0):  # what a deblurrer must leave nearly as it is
            kernel = random_motion_kernel(np.random.default_rng([99, int(span * 10)]), extent=(span, span))
            slight = to_float(quantize(motion_blur(clean, kernel)))
            print(f"slight kernel, {span:g} px span: {gain(restorer, slight, clean, crop_border=15)}")
        print(f"sharp in: {psnr(quantize(restorer.restore(clean)), quantize(clean), crop_border=15):.2f} dB")
