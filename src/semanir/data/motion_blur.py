"""Random camera-shake blur kernels and blurring, for training and scoring a deblurrer without GoPro.

:func:`random_motion_kernel` follows the trajectory model of Boracchi & Foi ("Modeling the
performance of image restoration from motion blur", IEEE TIP 2012), as DeblurGAN's kernel generator
does: a particle starts at the origin with a random heading and steps of equal length; each step its
velocity gets a Gaussian kick and a pull back towards the origin (inertia plus a centripetal
"anxiety" term) and, rarely, an impulsive turn of about 180 degrees (a sudden shake). The path is
scaled to a random span, so that some kernels are a few pixels across and some fill the whole
``size`` x ``size`` support, centred on its centroid (a blurred image is not shifted against
its sharp one: the network could not know a shift) and splatted bilinearly (sub-pixel positions
spread their weight over the 4 nearest pixels), so the kernel is nonnegative and sums to 1.
"""

from __future__ import annotations

import cv2
import numpy as np

from .degradations import _rng
from .io import to_float

KERNEL_SIZE = 31  # the largest kernel, in pixels across (odd)
_STEPS = 2000  # trajectory samples (DeblurGAN's and Boracchi & Foi's iters)
_LENGTH = 60.0  # the path's length while it is drawn (DeblurGAN's max_len): the pull scales with it


def _trajectory(rng: np.random.Generator, length: float) -> np.ndarray:
    """Complex positions of a random camera-shake path of total length ``length`` (pixels)."""
    anxiety = 0.1 * rng.random()  # how shaky the hand is: scales the kicks and the shake rate
    centripetal = 0.7 * rng.random()
    gaussian = 10.0 * rng.random()
    big_shake = 0.2 * rng.random()
    step = length / (_STEPS - 1)
    heading = np.exp(1j * 2 * np.pi * rng.random())
    kicks = rng.standard_normal((_STEPS - 1, 2))
    shakes = rng.random(_STEPS - 1) < big_shake * anxiety
    turns = rng.random(_STEPS - 1) - 0.5
    x = np.zeros(_STEPS, np.complex128)
    v, pos = heading * step, 0j
    kick = (kicks[:, 0] + 1j * kicks[:, 1]).tolist()
    for t in range(_STEPS - 1):  # sequential: the pull depends on where the path is
        dv = anxiety * (gaussian * kick[t] - centripetal * pos) * step
        if shakes[t]:
            dv += 2 * v * np.exp(1j * (np.pi + turns[t]))
        v += dv
        v = v / abs(v) * step if v else heading * step
        pos += v
        x[t + 1] = pos
    return x


def random_motion_kernel(
    rng: int | np.random.Generator, size: int = KERNEL_SIZE, extent: tuple[float, float] | None = None
) -> np.ndarray:
    """A camera-shake PSF: float32, odd square (at most ``size`` across), nonnegative, sum 1.

    The path is scaled so that its span (the larger of its width and height) is drawn uniformly
    from ``extent`` (default 1 to ``size - 2`` pixels), so slight and strong blurs are equally
    common; one that would then reach past the support from its centroid is scaled down to fit.
    The kernel is trimmed to the smallest odd square around its centre that holds it.
    Deterministic given ``rng`` (a seed or a numpy Generator).
    """
    if size < 3 or size % 2 == 0:
        raise ValueError(f"kernel size must be odd and >= 3, got {size}")
    rng = _rng(rng)
    low, high = extent if extent is not None else (1.0, size - 2.0)
    path = _trajectory(rng, _LENGTH)
    span = max(np.ptp(path.real), np.ptp(path.imag), 1e-6)
    path *= float(rng.uniform(low, high)) / span  # the path's length scales with its span
    path -= path.mean()  # bilinear splatting keeps the centroid: the kernel's is its centre
    reach = max(np.abs(path.real).max(), np.abs(path.imag).max())
    limit = (size - 1) / 2 - 1  # a splat reaches one pixel past the point
    if reach > limit:
        path *= limit / reach
        reach = limit
    half = max(1, int(np.ceil(reach)))
    k = 2 * half + 1
    x, y = path.real + half, path.imag + half
    x0, y0 = np.clip(np.floor(x).astype(int), 0, k - 2), np.clip(np.floor(y).astype(int), 0, k - 2)
    fx, fy = x - x0, y - y0
    kernel = np.zeros((k, k))
    for dy, dx, w in ((0, 0, (1 - fy) * (1 - fx)), (0, 1, (1 - fy) * fx), (1, 0, fy * (1 - fx)), (1, 1, fy * fx)):
        np.add.at(kernel, (y0 + dy, x0 + dx), w)
    return (kernel / kernel.sum()).astype(np.float32)


def motion_blur(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """``image`` (HxW or HxWxC float in [0, 1]) convolved with ``kernel``: float32, same shape.

    A true convolution (OpenCV's filter2D correlates, so the kernel is flipped). Borders are
    mirrored (``cba|abc``): a stand-in for the scene outside the frame that a real camera would
    blur in, which is why the synthetic deblurring protocol leaves a border out of its scores.
    """
    image = to_float(image)
    kernel = np.asarray(kernel, np.float32)
    if kernel.ndim != 2 or kernel.shape[0] != kernel.shape[1] or kernel.shape[0] % 2 == 0:
        raise ValueError(f"a blur kernel is an odd square, got shape {kernel.shape}")
    out = cv2.filter2D(image, cv2.CV_32F, np.ascontiguousarray(kernel[::-1, ::-1]), borderType=cv2.BORDER_REFLECT)
    return out.reshape(image.shape)
