"""Random camera-shake kernels, the synthetic level of the deblur task, and its benchmark script."""

import json
import sys

import numpy as np
import pytest

from semanir.cli import main
from semanir.data.degradations import image_seed
from semanir.data.io import quantize, write_image
from semanir.data.motion_blur import KERNEL_SIZE, motion_blur, random_motion_kernel
from semanir.data.protocols import get_protocol
from semanir.tasks.deblur import TRAIN_SHARP_SHARE, TRAIN_SLIGHT_SHARE, synthetic_blur
from tests.data_support import natural_image

KERNELS = [random_motion_kernel(np.random.default_rng(seed)) for seed in range(40)]


def test_kernels_are_normalised_nonnegative_odd_squares():
    for k in KERNELS:
        assert k.dtype == np.float32 and k.ndim == 2 and k.shape[0] == k.shape[1]
        assert k.shape[0] % 2 == 1 and 3 <= k.shape[0] <= KERNEL_SIZE
        assert k.min() >= 0 and k.sum() == pytest.approx(1.0, abs=1e-5)
        # centred on its centroid: a blurred image is not shifted against the sharp one
        ys, xs = np.mgrid[: k.shape[0], : k.shape[1]]
        centre = (k.shape[0] - 1) / 2
        assert (k * xs).sum() == pytest.approx(centre, abs=1e-3) and (k * ys).sum() == pytest.approx(centre, abs=1e-3)


def test_kernels_are_deterministic_in_the_seed_and_differ_across_seeds():
    again = random_motion_kernel(np.random.default_rng(3))
    assert again.tobytes() == KERNELS[3].tobytes()
    assert random_motion_kernel(3).tobytes() == again.tobytes()  # an int seeds the same Generator
    assert len({k.tobytes() for k in KERNELS}) == len(KERNELS)


def test_kernels_vary_in_extent_from_slight_to_strong():
    sizes = [k.shape[0] for k in KERNELS]
    assert min(sizes) <= 7 and max(sizes) >= 25
    assert len(set(sizes)) >= 6


def test_blurring_keeps_a_constant_image_and_a_delta_kernel_is_the_identity():
    flat = np.full((20, 24, 3), 0.37, np.float32)
    for k in KERNELS[:5]:
        np.testing.assert_allclose(motion_blur(flat, k), flat, atol=1e-6)
    img = natural_image(30, 34)
    delta = np.zeros((5, 5), np.float32)
    delta[2, 2] = 1
    np.testing.assert_array_equal(motion_blur(img, delta), img)
    assert motion_blur(img[..., :1], KERNELS[0]).shape == (30, 34, 1)


def test_blurring_is_a_convolution_not_a_correlation():
    img = np.zeros((9, 9), np.float32)
    img[4, 4] = 1
    k = np.zeros((3, 3), np.float32)
    k[0, 2] = 1  # weight up and to the right: a point spreads to up-right
    assert motion_blur(img, k)[3, 5] == 1


def test_synthetic_protocol_is_unpaired_deterministic_and_8_bit():
    p = get_protocol("deblur", "synthetic")
    assert not p.paired and p.crop_border == KERNEL_SIZE // 2 and p.name == "deblur_synthetic_rgb"
    assert get_protocol("deblur").paired  # GoPro / HIDE files stay the default
    clean = natural_image(40, 44)
    a, b = p.degrade(clean, 5), p.degrade(clean, 5)
    assert a.tobytes() == b.tobytes() and a.shape == clean.shape and a.dtype == np.float32
    assert a.tobytes() != p.degrade(clean, 6).tobytes()
    np.testing.assert_array_equal(a, quantize(a) / np.float32(255))  # on the 8-bit grid
    assert a.tobytes() == synthetic_blur(clean, 5)[0].tobytes()  # what the benchmark script uses
    with pytest.raises(ValueError, match=r"deblur level must be one of \(None, 'synthetic'\)"):
        get_protocol("deblur", "gopro")


def test_test_kernels_are_never_the_training_kernels_of_the_same_seed():
    clean = natural_image(16, 16)
    for seed in range(5):
        test_kernel = synthetic_blur(clean, seed)[1]  # an int: a test image's seed
        train_kernels = [synthetic_blur(clean, np.random.default_rng(seed))[1],  # the same value as a Generator
                         synthetic_blur(clean, np.random.default_rng([seed, seed]))[1]]  # TrainDataset's (seed, index)
        assert all(test_kernel.tobytes() != k.tobytes() for k in train_kernels)


def test_training_sees_more_slight_blurs_than_the_tests():
    # Training kernels: a TRAIN_SLIGHT_SHARE of them span at most SLIGHT_EXTENT[1] px, on top of
    # the uniform spans the tests keep (a slight one spans at most 4 px, so it is at most 7 across);
    # a TRAIN_SHARP_SHARE of them are no blur at all (1 x 1).
    clean = natural_image(8, 8)
    n = 300
    train = [synthetic_blur(clean, np.random.default_rng([7, i]))[1].shape[0] for i in range(n)]
    test = [synthetic_blur(clean, i)[1].shape[0] for i in range(n)]
    small = lambda sizes: sum(s <= 7 for s in sizes) / n  # noqa: E731
    uniform_small = small(test)
    assert 0.05 < uniform_small < 0.25
    expected = TRAIN_SHARP_SHARE + TRAIN_SLIGHT_SHARE + (1 - TRAIN_SHARP_SHARE - TRAIN_SLIGHT_SHARE) * uniform_small
    assert abs(small(train) - expected) < 0.06
    assert abs(train.count(1) / n - TRAIN_SHARP_SHARE) < 0.04 and 1 not in test


def _photos(folder, names):
    folder.mkdir()
    for i, name in enumerate(names):
        write_image(folder / f"{name}.png", natural_image(72, 72, seed=i))
    return folder


def test_benchmark_deconvolution_with_the_true_kernel_beats_the_blurred_input(tmp_path, capsys):
    sys.path.insert(0, "benchmarks")
    try:
        import deblur_synthetic
    finally:
        sys.path.remove("benchmarks")
    names = ["a", "e"]  # kernels of 19 and 23 pixels across under image_seed(0, name)
    assert [synthetic_blur(natural_image(8, 8), image_seed(0, n))[1].shape[0] for n in names] == [19, 23]
    data = _photos(tmp_path / "photos", names)
    assert deblur_synthetic.main(["--data", str(data), "--crop", "0", "--out", str(tmp_path / "r")]) == 0
    report = json.loads((tmp_path / "r.json").read_text())
    blurred = {r["name"]: r["psnr"] for r in report["images"]["blurred input"]}
    for label, rows in report["images"].items():
        if label != "blurred input":
            assert all(r["psnr"] > blurred[r["name"]] + 0.5 for r in rows), label
    assert "| blurred input" in capsys.readouterr().out
    assert "Versions:" in (tmp_path / "r.md").read_text()


def test_semanir_test_runs_the_synthetic_level(tmp_path, capsys):
    data = _photos(tmp_path / "photos", ["a", "b"])
    args = ["test", "--model", "identity", "--task", "deblur", "--level", "synthetic", "--data", str(data), "--json"]
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["protocol"] == "deblur_synthetic_rgb" and [r["name"] for r in report["images"]] == ["a", "b"]
    assert 15 < report["mean"]["psnr"] < 60
