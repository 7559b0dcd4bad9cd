"""Denoising: additive white Gaussian noise, unclipped (the paper's protocol), at a sigma or drawn
from a blind range; inputs whose noise was clipped to [0, 1] are restored in two passes."""

from __future__ import annotations

import math

import torch

from ..data.degradations import add_blind_gaussian_noise, add_gaussian_noise
from .base import Task
from .registry import register

NOISE_LEVELS = (15, 25, 50, 75)
# One model for all levels: sigma uniform in [0, 75] (FFDNet/KAIR's blind range, covering the
# paper's 15..75).
BLIND_SIGMA_RANGE = (0.0, 75.0)

# Clipped noise (any 8-bit noisy file): a value at 0 or 1 says only that clean + noise fell beyond
# that bound, and a model trained on unclipped noise reads it as a pixel value, biased inward: on
# dark or bright areas clipping costs it 2-4 dB. A second pass undoes most of that: each clipped value
# becomes its expectation given the first pass's result and the noise sigma fitted to the input
# near its bound (a censored Gaussian), and the model then sees the noise it was trained on
# (benchmarks/denoise.md, "Clipped inputs: a second pass").
MIN_CLIPPED_SHARE = 1e-3  # fewer values at the bounds than this: the second pass is not worth its time
# Fitted sigma under this: too little noise for the second pass to pay for its time (on the tests'
# crop it gains 0.02 dB on the clean image, whose fit is 1.9, and 0.13 at sigma 3).
MIN_SIGMA = 2.5 / 255
SIGMA_SEARCH = (0.2 / 255, 150 / 255)  # the range the fitted sigma may take
SIGMA_FIT_VALUES = 1 << 20  # values the fit reads at most (every n-th of a larger image): plenty for one number
# Each bound's own sigma is fitted to the values whose first result lies within NEAR_BOUND of the
# image's sigmas of it, given MIN_BOUND_VALUES of them: with a camera-like noise (sigma 10 at 0 and
# 35 at 1) that gains 0.06 dB over one sigma on the astronaut image, and nothing on AWGN
# (benchmarks/probes/signal_dependent_noise.py).
NEAR_BOUND = 3.0
MIN_BOUND_VALUES = 1000


def clipped_share(noisy: torch.Tensor) -> float:
    """The share of ``noisy``'s values at exactly 0 or 1; 0 where any value lies beyond them (noise
    that was not clipped)."""
    if not noisy.numel() or bool((noisy < 0).any() or (noisy > 1).any()):
        return 0.0
    return float(((noisy == 0) | (noisy == 1)).float().mean())


def _fit_sample(values: torch.Tensor) -> torch.Tensor:
    """Every n-th of ``values``, flattened, so that at most SIGMA_FIT_VALUES remain."""
    return values.flatten()[:: -(-values.numel() // SIGMA_FIT_VALUES)]


def censored_sigma(noisy: torch.Tensor, estimate: torch.Tensor) -> float:
    """Maximum-likelihood sigma of Gaussian noise clipped to [0, 1], around ``estimate`` (the clean
    image's): values inside the bounds are estimate + noise, values at a bound say the noise pushed
    the estimate beyond it. A golden-section search over log sigma."""
    y, x = _fit_sample(noisy).double(), _fit_sample(estimate).double().clamp(0, 1)
    low, high = y <= 0, y >= 1
    inside = ~(low | high)
    count, squares = int(inside.sum()), float(((y - x)[inside] ** 2).sum())
    below, above = -x[low], x[high] - 1  # clean + noise <= 0  <=>  noise <= -x

    def nll(log_sigma: float) -> float:
        s = math.exp(log_sigma)
        censored = torch.special.log_ndtr(below / s).sum() + torch.special.log_ndtr(above / s).sum()
        return squares / (2 * s * s) + count * log_sigma - float(censored)

    a, b = math.log(SIGMA_SEARCH[0]), math.log(SIGMA_SEARCH[1])
    ratio = (math.sqrt(5) - 1) / 2
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc, fd = nll(c), nll(d)
    for _ in range(48):  # the bracket shrinks to 1e-10 of its width
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - ratio * (b - a)
            fc = nll(c)
        else:
            a, c, fc = c, d, fd
            d = a + ratio * (b - a)
            fd = nll(d)
    return math.exp((a + b) / 2)


def expected_unclipped(
    noisy: torch.Tensor, estimate: torch.Tensor, low_sigma: float, high_sigma: float
) -> torch.Tensor:
    """``noisy`` with each value at a bound replaced by the mean of estimate + noise beyond that bound
    (the mean of a truncated Gaussian, of sigma ``low_sigma`` at 0 and ``high_sigma`` at 1): what the
    unclipped input most likely held there."""

    def inverse_mills(t: torch.Tensor) -> torch.Tensor:  # E[z | z >= t] for a standard normal z
        return torch.exp(-0.5 * t * t - 0.5 * math.log(2 * math.pi) - torch.special.log_ndtr(-t))

    out = noisy.clone()
    low, high = noisy <= 0, noisy >= 1  # only these change: a few percent of a large image
    x = estimate[low].clamp(0, 1).to(noisy.dtype)
    out[low] = x - low_sigma * inverse_mills(x / low_sigma)
    x = estimate[high].clamp(0, 1).to(noisy.dtype)
    out[high] = x + high_sigma * inverse_mills((1 - x) / high_sigma)
    return out


def bound_sigmas(noisy: torch.Tensor, estimate: torch.Tensor, overall: float) -> tuple[float, float]:
    """The noise sigma at 0 and at 1: a camera's noise grows with the signal, so each is fitted to
    the values whose estimate lies within a few ``overall`` sigmas (the whole image's fit) of that
    bound, where clipping happens; ``overall`` where too few lie there."""
    y, x = _fit_sample(noisy), _fit_sample(estimate)
    fits = []
    for near in (x <= NEAR_BOUND * overall, x >= 1 - NEAR_BOUND * overall):
        fits.append(censored_sigma(y[near], x[near]) if int(near.sum()) >= MIN_BOUND_VALUES else overall)
    return fits[0], fits[1]


def unclipped_guess(noisy: torch.Tensor, estimate: torch.Tensor) -> torch.Tensor | None:
    """The second pass's input for one clipped image given the first pass's ``estimate``: each
    clipped value put back at its expected unclipped value; None where the noise is too weak for
    that to pay."""
    overall = censored_sigma(noisy, estimate)
    if overall < MIN_SIGMA:
        return None
    return expected_unclipped(noisy, estimate, *bound_sigmas(noisy, estimate, overall))


class Denoise(Task):
    name = "denoise"
    description = "clean + AWGN sigma 15/25/50/75, unclipped; scored on RGB (color) or the gray image"
    title = "noise"
    level_name = "sigma"
    levels = NOISE_LEVELS
    default_level = 25
    table_levels = NOISE_LEVELS[:3]
    blind_range = BLIND_SIGMA_RANGE
    range_bounds = (0.0, 255.0)
    gray = True
    clips_inputs = True
    default_preset = "denoise"

    def passes(self, degraded):
        return 2 if clipped_share(degraded) >= MIN_CLIPPED_SHARE else 1

    def restore(self, run, degraded, passes=None):
        first = run(degraded)
        if (passes or self.passes(degraded)) == 1:
            return first
        guesses = [unclipped_guess(noisy, estimate) for noisy, estimate in zip(degraded, first)]
        if all(guess is None for guess in guesses):
            return first
        return run(torch.stack([noisy if guess is None else guess for noisy, guess in zip(degraded, guesses)]))

    def degrade(self, protocol, clean, seed):
        if protocol.level == "blind":
            return add_blind_gaussian_noise(clean, protocol.blind_range or self.blind_range, seed)[0]
        return add_gaussian_noise(clean, float(protocol.level), seed)


register(Denoise())
