"""Regenerate the example inputs shipped in this folder (needs scikit-image).

astronaut_noisy.png: the centre 256x256 of scikit-image's "astronaut" (NASA, public domain)
with AWGN sigma 25 on the 0-255 scale (seed 0), rounded to 8 bits.
astronaut_q20.jpg: the same crop saved by OpenCV as a JPEG of quality 20 (for `--task jpeg`).
astronaut_lr_x4.png: the same crop downscaled x4 (64x64) by MATLAB's bicubic imresize (for `--task sr`).
astronaut_bayer.png: the same crop as a 1-channel RGGB Bayer mosaic (for `--task demosaic`).
"""

from pathlib import Path

import cv2
import numpy as np
from skimage import data

from semanir.data.degradations import add_gaussian_noise, bayer_mosaic, bicubic_downscale
from semanir.data.io import quantize, write_image

here = Path(__file__).parent
clean = data.astronaut()[128:384, 128:384].astype(np.float32) / 255
write_image(here / "astronaut_clean.png", clean)
write_image(here / "astronaut_noisy.png", np.clip(add_gaussian_noise(clean, 25, 0), 0, 1))
cv2.imwrite(str(here / "astronaut_q20.jpg"), np.ascontiguousarray(quantize(clean)[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, 20])
write_image(here / "astronaut_lr_x4.png", bicubic_downscale(clean, 4))
write_image(here / "astronaut_bayer.png", bayer_mosaic(clean, "RGGB"))
