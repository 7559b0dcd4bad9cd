"""Regenerate the example inputs shipped in this folder (needs scikit-image).

astronaut_noisy.png: the centre 256x256 of scikit-image's "astronaut" (NASA, public domain)
with AWGN sigma 25 on the 0-255 scale (seed 0), rounded to 8 bits.
astronaut_q20.jpg: the same crop saved by OpenCV as a JPEG of quality 20 (for `--task jpeg`).
astronaut_lr_x4.png: the same crop downscaled x4 (64x64) by MATLAB's bicubic imresize (for `--task sr`).
astronaut_bayer.png: the same crop as a 1-channel RGGB Bayer mosaic (for `--task demosaic`).
astronaut_gray_noisy.png: the crop's gray (Y) image with AWGN sigma 25 (seed 0), 8 bits (for the gray denoiser).
astronaut_gray_q10.jpg: the gray image as an OpenCV JPEG of quality 10 (for the gray JPEG remover).
astronaut_lr_x2.png, astronaut_lr_x3.png: MATLAB-bicubic x2 (128x128) and x3 (85x85, of the top-left
255x255) downscales (`--task sr --scale 2|3`).
astronaut_blurred.png: the crop blurred by the deblur task's synthetic level with held-out seed 0 (a
camera-shake kernel no training patch saw, a little noise, 8 bits; for the deblurrer, benchmarks/deblur.md).
"""

from pathlib import Path

import cv2
import numpy as np
from skimage import data

from semanir.data.degradations import add_gaussian_noise, bayer_mosaic, bicubic_downscale
from semanir.data.io import quantize, write_image
from semanir.data.protocols import get_protocol
from semanir.tasks.deblur import synthetic_blur

here = Path(__file__).parent
clean = data.astronaut()[128:384, 128:384].astype(np.float32) / 255
write_image(here / "astronaut_clean.png", clean)
write_image(here / "astronaut_noisy.png", np.clip(add_gaussian_noise(clean, 25, 0), 0, 1))
cv2.imwrite(str(here / "astronaut_q20.jpg"), np.ascontiguousarray(quantize(clean)[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, 20])
write_image(here / "astronaut_lr_x4.png", bicubic_downscale(clean, 4))
write_image(here / "astronaut_bayer.png", bayer_mosaic(clean, "RGGB"))
gray = get_protocol("denoise", 25, 1).to_channels(clean)
write_image(here / "astronaut_gray_noisy.png", np.clip(add_gaussian_noise(gray, 25, 0), 0, 1))
cv2.imwrite(str(here / "astronaut_gray_q10.jpg"), quantize(gray)[..., 0], [cv2.IMWRITE_JPEG_QUALITY, 10])
write_image(here / "astronaut_lr_x2.png", bicubic_downscale(clean, 2))
write_image(here / "astronaut_lr_x3.png", bicubic_downscale(clean[:255, :255], 3))
write_image(here / "astronaut_blurred.png", synthetic_blur(clean, 0)[0])
