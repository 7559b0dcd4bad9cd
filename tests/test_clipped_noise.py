"""Denoising of clipped noise (an 8-bit noisy file): the censored-Gaussian sigma fit and the
truncated means of the second pass against scipy, and when that pass runs."""

import numpy as np
import pytest
import torch
from scipy.optimize import minimize_scalar
from scipy.stats import norm, truncnorm

from semanir.restoration import Restorer
from semanir.tasks import denoise as denoise_task
from semanir.tasks import get_task
from semanir.tasks.denoise import (
    MIN_BOUND_VALUES,
    MIN_CLIPPED_SHARE,
    bound_sigmas,
    censored_sigma,
    clipped_share,
    expected_unclipped,
)
from tests.conftest import tiny_model

SIGMA = 30 / 255


def _dark_and_bright(seed=0) -> torch.Tensor:
    """(3, 48, 64) clean image: a ramp from black to white, so that clipping bites at both ends."""
    ramp = torch.linspace(0, 1, 64).expand(3, 48, 64)
    return (ramp + 0.02 * torch.randn(3, 48, 64, generator=torch.Generator().manual_seed(seed))).clamp(0, 1)


def _clipped_noise(clean: torch.Tensor, sigma=SIGMA, seed=1) -> torch.Tensor:
    return (clean + sigma * torch.randn(clean.shape, generator=torch.Generator().manual_seed(seed))).clamp(0, 1)


def test_censored_sigma_is_scipys_maximum_likelihood_and_near_the_truth():
    clean = _dark_and_bright()
    noisy = _clipped_noise(clean)
    y, x = noisy.double().numpy().ravel(), clean.double().numpy().ravel()
    low, high = y <= 0, y >= 1
    inside = ~(low | high)
    assert low.mean() > 0.04 and high.mean() > 0.04

    def nll(log_sigma):
        s = np.exp(log_sigma)
        return -(norm.logpdf(y[inside], x[inside], s).sum() + norm.logcdf(-x[low] / s).sum()
                 + norm.logcdf((x[high] - 1) / s).sum())  # fmt: skip

    reference = np.exp(minimize_scalar(nll, bounds=(np.log(0.5 / 255), np.log(100 / 255)), method="bounded",
                                       options={"xatol": 1e-10}).x)  # fmt: skip
    fitted = censored_sigma(noisy, clean)
    assert fitted == pytest.approx(reference, rel=1e-5)
    # Near the truth (29.85 for 30), where the spread of the values inside the bounds alone is not
    # (28.43): what the censored terms are for.
    assert abs(fitted - SIGMA) < 0.01 * SIGMA < 0.04 * SIGMA < abs(np.std((y - x)[inside]) - SIGMA)


def test_expected_unclipped_is_the_truncated_gaussian_mean():
    estimate = torch.tensor([0.0, 0.05, 0.3, 0.9, 0.5, 0.97, 1.0, 0.2])
    noisy = torch.tensor([0.0, 0.0, 0.0, 0.4, 1.0, 1.0, 1.0, 0.25])
    low, high = SIGMA, 2 * SIGMA
    out = expected_unclipped(noisy, estimate, low, high).double().numpy()
    x = estimate.double().numpy()
    for i in range(len(x)):
        if noisy[i] == 0:  # clean + noise <= 0
            want = truncnorm.mean(-np.inf, (0 - x[i]) / low, loc=x[i], scale=low)
        elif noisy[i] == 1:  # clean + noise >= 1
            want = truncnorm.mean((1 - x[i]) / high, np.inf, loc=x[i], scale=high)
        else:  # inside the bounds: the value as it is
            want = noisy[i].item()
        assert out[i] == pytest.approx(want, abs=1e-6), i


def test_each_bound_gets_the_noise_sigma_near_it():
    """A camera's noise grows with the signal: dark, mid and bright bands with sigma 10, 25 and 40
    (8-bit units). Each bound's fit finds its own band's sigma, which the whole image's does not."""
    bands = torch.tensor([0.05, 0.5, 0.95]).repeat_interleave(32).expand(3, 48, 96)
    sigma = torch.tensor([10, 25, 40]).repeat_interleave(32).expand(3, 48, 96) / 255
    noisy = (bands + sigma * torch.randn(bands.shape, generator=torch.Generator().manual_seed(3))).clamp(0, 1)
    overall = censored_sigma(noisy, bands)
    low, high = bound_sigmas(noisy, bands, overall)
    assert low == pytest.approx(10 / 255, rel=0.05) and high == pytest.approx(40 / 255, rel=0.05)
    assert 15 / 255 < overall < 35 / 255
    # Too few values near a bound to fit (8, under MIN_BOUND_VALUES): the whole image's sigma there.
    estimate = torch.full((3, 48, 96), 0.5)
    estimate[0, :2, :4] = 0.0
    noisy = (estimate + SIGMA * torch.randn(estimate.shape, generator=torch.Generator().manual_seed(4))).clamp(0, 1)
    overall = censored_sigma(noisy, estimate)
    assert 8 < MIN_BOUND_VALUES and bound_sigmas(noisy, estimate, overall) == (overall, overall)


def test_only_clipped_noisy_inputs_get_a_second_pass():
    denoise, clean = get_task("denoise"), _dark_and_bright()[None]
    unclipped = clean + SIGMA * torch.randn(clean.shape, generator=torch.Generator().manual_seed(2))
    clipped = unclipped.clamp(0, 1)
    inside = clean.clamp(0.1, 0.9)  # no value at a bound
    assert clipped_share(clipped) > MIN_CLIPPED_SHARE and clipped_share(unclipped) == 0.0
    calls = []

    def oracle(x):  # a perfect denoiser: its first result is the clean image
        calls.append(x)
        return clean.clone() if len(calls) == 1 else x

    for image, passes in ((unclipped, 1), (inside, 1), (clipped, 2), (clean, 1)):
        calls.clear()
        denoise.restore(oracle, image)
        # clean: its values at the bounds are not noise (sigma fits ~0), so one pass is all it gets.
        assert len(calls) == passes, (passes, denoise.passes(image))
    # The oracle's second input is the clipped noise with the clipped values put back where the
    # noise most likely took them: beyond the bounds, and on average where the unclipped noise was.
    calls.clear()
    denoise.restore(oracle, clipped)
    second = calls[1]
    at_bounds = (clipped == 0) | (clipped == 1)
    assert ((second[clipped == 0] < 0).all() and (second[clipped == 1] > 1).all())
    assert torch.equal(second[~at_bounds], clipped[~at_bounds])
    for bound in (0, 1):
        clipped_here = clipped == bound
        assert (second - unclipped)[clipped_here].mean().abs() < 0.01 < (clipped - unclipped)[clipped_here].mean().abs()


def test_a_restorer_counts_progress_over_both_passes(monkeypatch):
    scans = []
    monkeypatch.setattr(denoise_task, "clipped_share", lambda x: scans.append(x) or clipped_share(x))
    model = tiny_model("semanir_unet_color", dims=(8, 16), num_heads=(1, 1), encoder_depths=(1, 1),
                       decoder_depths=(1, 1), window_size=4)  # fmt: skip
    restorer = Restorer(model, task="denoise", tile=32, overlap=8)
    clipped = _clipped_noise(_dark_and_bright()).permute(1, 2, 0).numpy()
    calls = []
    with torch.no_grad():
        restorer.restore_array(clipped, progress=lambda done, total: calls.append((done, total)))
    done, totals = [c[0] for c in calls], {c[1] for c in calls}
    assert len(totals) == 1 and done == list(range(1, totals.pop() + 1)) and len(done) % 2 == 0
    assert len(scans) == 1  # the pass count is worked out once, for the progress and the passes
