"""Motion deblurring: paired files (GoPro, HIDE) by default; ``synthetic``: clean photos blurred by
random camera-shake kernels. Scored on RGB.

The ``synthetic`` level stands in for GoPro where there is none: each input is the clean image
convolved with a kernel of :func:`~semanir.data.motion_blur.random_motion_kernel` (mirrored
borders), plus Gaussian noise of sigma uniform in [0, 2]/255, clipped and rounded to 8 bits as a
real blurry file is.

Which kernels a test sees: test sets (``semanir test``, the validation during training, the
benchmark) seed each image with an integer, ``image_seed(base_seed, stem)``; training passes each
item's own Generator, ``default_rng([train.seed, index])``. An integer seed draws the kernel (and
the noise) from ``default_rng([HELD_OUT, seed])`` instead of ``default_rng(seed)``: a seed sequence
whose entropy starts with a 64-bit tag that no training item's does (it would take
``train.seed == HELD_OUT``), so no test image is blurred by a stream training reads, even for the
same seed value, and no test kernel is a training kernel (two different streams give the same
continuous-valued kernel with probability zero).

Training also sees what the tests do not: a share ``TRAIN_SHARP_SHARE`` of its patches is not
blurred at all (noise only) and a share ``TRAIN_SLIGHT_SHARE`` is blurred by a kernel that spans at
most ``SLIGHT_EXTENT[1]`` pixels. A deblurrer must leave what is already sharp as it is, and one
that never sees a sharp patch (a kernel of 1 px span still blurs) learns to sharpen everything:
the first candidate took a nearly sharp photo from 42.29 to 38.99 dB, and a run with slight
kernels but no unblurred patches took a sharp crop to 30.6 dB, where the shipped weights give
41.16 (benchmarks/deblur.md). Test images keep the uniform spans, so that scores stay comparable
across runs.
"""

from __future__ import annotations

import numpy as np

from ..data.degradations import add_gaussian_noise
from ..data.io import quantize, to_float
from ..data.motion_blur import KERNEL_SIZE, motion_blur, random_motion_kernel
from .base import Task
from .registry import register

SYNTHETIC = "synthetic"
NOISE_SIGMA = (0.0, 2.0)  # on the 0-255 scale: the read noise of a well-lit photo
HELD_OUT = int.from_bytes(b"held-out", "little")  # the seed namespace of test images
TRAIN_SHARP_SHARE = 0.25
TRAIN_SLIGHT_SHARE = 0.3
SLIGHT_EXTENT = (1.0, 4.0)  # kernel span in pixels: blur a viewer barely sees


def synthetic_blur(clean: np.ndarray, seed: int | np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(the 8-bit blurry input, the kernel that blurred it) of the ``synthetic`` level; an integer
    ``seed`` is a test image's and draws from the held-out stream (see the module docstring)."""
    training = isinstance(seed, np.random.Generator)
    rng = seed if training else np.random.default_rng([HELD_OUT, int(seed)])
    kind = rng.random() if training else 1.0
    if kind < TRAIN_SHARP_SHARE:
        kernel = np.ones((1, 1), np.float32)
    else:
        slight = kind < TRAIN_SHARP_SHARE + TRAIN_SLIGHT_SHARE
        kernel = random_motion_kernel(rng, extent=SLIGHT_EXTENT if slight else None)
    sigma = float(rng.uniform(*NOISE_SIGMA))
    blurry = add_gaussian_noise(motion_blur(clean, kernel), sigma, rng)
    return to_float(quantize(blurry)), kernel  # quantize clips to [0, 1]


class Deblur(Task):
    name = "deblur"
    description = "paired files (GoPro, HIDE), or synthetic camera shake; scored on RGB"
    title = "camera-shake blur"
    levels = (None, SYNTHETIC)  # None: paired files
    paired = True
    default_preset = "deblur"

    def describe_level(self, level) -> str:
        return "trained on synthetic blur" if level == SYNTHETIC else ""

    def is_paired(self, level) -> bool:
        return level != SYNTHETIC

    def crop_border(self, level) -> int:
        # Synthetic blur mirrors the image at its borders (a real camera blurs in the scene outside
        # the frame, which no method can know), so the outer half-kernel, where that made-up light
        # lands, is left out of the scores: what is scored is what real photos would show, and the
        # FFT-based classical baselines (periodic borders) are not judged on an artifact of ours.
        return KERNEL_SIZE // 2 if level == SYNTHETIC else 0

    def degrade(self, protocol, clean, seed):
        return synthetic_blur(clean, seed)[0]


register(Deblur())
