"""Datasets (shapes, ranges, seeding, workers), paired layouts and the benchmark registry."""

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from semanir.data import (
    BENCHMARKS,
    ImageError,
    PairedFolderDataset,
    TestDataset,
    TrainDataset,
    get_benchmark,
    get_protocol,
    list_benchmarks,
    write_image,
)
from semanir.data.datasets import sr_patch
from semanir.data.degradations import bicubic_downscale
from semanir.data.io import quantize
from semanir.errors import UsageError
from tests.data_support import benchmark_dir, natural_image


@pytest.fixture
def clean_folder(tmp_path):
    folder = tmp_path / "clean"
    write_image(folder / "a.png", natural_image(70, 80, seed=1))
    write_image(folder / "b.png", natural_image(64, 66, channels=1, seed=2))  # a gray one in the mix
    return folder


@pytest.mark.parametrize(
    "task,level,channels",
    [
        ("denoise", 25, 3),
        ("denoise", 50, 1),
        ("jpeg", 10, 1),
        ("jpeg", "blind", 3),
        ("sr", 2, 3),
        ("demosaic", None, 3),
    ],
)
def test_train_items_have_the_right_shapes_types_and_ranges(clean_folder, task, level, channels):
    p = get_protocol(task, level, channels)
    ds = TrainDataset(clean_folder, p, patch_size=24, repeat=3)
    assert len(ds) == 6
    for i in range(len(ds)):
        x, y = ds[i]
        assert x.dtype == y.dtype == torch.float32
        assert x.shape == (channels, 24, 24) and y.shape == (channels, 24 * p.scale, 24 * p.scale)
        assert 0 <= y.min() and y.max() <= 1
        if task == "denoise":
            assert torch.isfinite(x).all() and not torch.equal(x, y)
        else:
            assert 0 <= x.min() and x.max() <= 1


def test_train_items_are_a_function_of_seed_and_index(clean_folder):
    ds = TrainDataset(clean_folder, get_protocol("denoise", 25), patch_size=16)
    n = len(ds)
    first = [ds[i * n][0] for i in range(3)]  # the same image, three global indices
    assert not torch.equal(first[0], first[1])  # each index is a new patch, noise and flip
    torch.manual_seed(123)  # torch's global RNG plays no part
    again = [ds[i * n][0] for i in range(3)]
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    other = TrainDataset(clean_folder, get_protocol("denoise", 25), patch_size=16, seed=1)
    assert not torch.equal(other[0][0], first[0])


def test_train_target_is_a_flipped_or_rotated_crop_of_the_image(clean_folder):
    from semanir.data import read_image

    img = read_image(clean_folder / "a.png").pixels
    ds = TrainDataset([clean_folder / "a.png"], get_protocol("jpeg", 40), patch_size=12)
    variants = [np.rot90(v, k) for v in (img, img[:, ::-1]) for k in range(4)]
    for i in range(5):
        target = ds[i][1].permute(1, 2, 0).numpy()
        assert any(
            np.array_equal(target, v[r : r + 12, c : c + 12])
            for v in variants
            for r in range(v.shape[0] - 11)
            for c in range(v.shape[1] - 11)
        )


def test_dataloader_workers_draw_different_patches_and_do_not_change_the_items(clean_folder):
    ds = TrainDataset([clean_folder / "a.png"], get_protocol("denoise", 15), patch_size=16, repeat=4)

    def run(workers):
        loader = DataLoader(ds, batch_size=1, num_workers=workers)
        return [x for x, _ in loader]

    first = run(2)
    # a Generator made once and copied into each forked worker would give workers 0 and 1 the same draws
    assert len({x.numpy().tobytes() for x in first}) == 4
    assert all(torch.equal(a, b) for a, b in zip(first, run(0), strict=True))


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_sr_patches_are_crops_of_the_whole_image_lr(scale):
    hr = quantize(natural_image(61, 74, seed=scale))
    full = bicubic_downscale(hr / np.float32(255), scale)
    h, w = full.shape[:2]
    for top, left in [(0, 0), (h - 6, w - 6), (3, 5), (0, w - 6), (h // 2, 0)]:
        lr, hr_patch = sr_patch(hr, top, left, 6, scale)
        np.testing.assert_array_equal(lr, full[top : top + 6, left : left + 6])
        np.testing.assert_array_equal(
            hr_patch, hr[top * scale : (top + 6) * scale, left * scale : (left + 6) * scale]
        )
    # a bare downscaled patch is *not* the same: its borders fold back into the kernel
    assert not np.array_equal(bicubic_downscale(hr_patch / np.float32(255), scale), lr)


def test_cache_gives_the_same_items(clean_folder):
    p = get_protocol("sr", 3)
    cached, plain = (
        TrainDataset(clean_folder, p, patch_size=8, cache=True),
        TrainDataset(clean_folder, p, patch_size=8),
    )
    for i in range(2):
        a, b = cached[i], plain[i]
        assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_sampling_by_pixels_follows_the_pixel_counts(tmp_path):
    folder = tmp_path / "sizes"
    write_image(folder / "big.png", natural_image(96, 96, seed=1))  # 9216 px
    write_image(folder / "small.png", np.zeros((32, 32, 3), np.float32))  # 1024 px: 1/10 of the pixels
    ds = TrainDataset(folder, get_protocol("denoise", 25), patch_size=16, sample_by="pixels", seed=3)
    blank = [float(ds[i][1].max()) == 0.0 for i in range(400)]
    assert 20 <= sum(blank) <= 60  # 40 expected; by image it would be 200
    assert all(torch.equal(ds[i][0], ds[i][0]) for i in range(3))  # still a function of (seed, index)


def test_clip_fraction_clips_and_rounds_that_share_of_denoising_inputs(clean_folder):
    protocol = get_protocol("denoise", 50)
    plain = TrainDataset(clean_folder, protocol, patch_size=32, seed=0)
    clipped = TrainDataset(clean_folder, protocol, patch_size=32, seed=0, clip_fraction=0.5)
    kinds = []
    for i in range(40):
        (x, target), (x0, target0) = clipped[i], plain[i]
        assert torch.equal(target, target0)
        in_range = bool(x.min() >= 0 and x.max() <= 1)
        on_8_bits = torch.equal(torch.round(x * 255) / 255, x)
        if in_range and on_8_bits:
            kinds.append("clipped")
            assert torch.equal(x, torch.from_numpy(quantize(x0.numpy()).astype(np.float32) / 255))
        else:
            kinds.append("unclipped")
            assert torch.equal(x, x0)
    assert 10 <= kinds.count("clipped") <= 30
    with pytest.raises(UsageError, match="clip_fraction"):
        TrainDataset(clean_folder, get_protocol("jpeg", 20), patch_size=32, clip_fraction=0.5)
    with pytest.raises(UsageError, match="sample_by"):
        TrainDataset(clean_folder, protocol, patch_size=32, sample_by="files")


def test_too_small_images_give_a_clear_error(clean_folder):
    ds = TrainDataset(clean_folder, get_protocol("sr", 4), patch_size=48)
    with pytest.raises(ImageError, match=r"a\.png: 70x80 is smaller than the 192x192 training patch"):
        ds[0]


def test_test_dataset_is_deterministic_and_independent_of_order(clean_folder):
    p = get_protocol("denoise", 50)
    paths = sorted(clean_folder.iterdir())
    both, alone = TestDataset(paths, p), TestDataset(paths[1:], p)
    x, y, name = both[1]
    assert name == "b" and x.shape == y.shape == (3, 64, 66)  # gray file, RGB protocol: replicated
    assert torch.equal(x, alone[0][0]) and torch.equal(x, TestDataset(paths, p)[1][0])
    assert not torch.equal(x, TestDataset(paths, p, base_seed=1)[1][0])


def test_test_dataset_for_sr_returns_lr_and_modcropped_hr(clean_folder):
    x, y, _ = TestDataset(clean_folder, get_protocol("sr", 3))[0]
    assert x.shape == (3, 23, 26) and y.shape == (3, 69, 78)


def test_paired_datasets_refuse_synthetic_protocols(clean_folder):
    with pytest.raises(ValueError, match="paired data: use PairedFolderDataset"):
        TrainDataset(clean_folder, get_protocol("deblur"))


# --- paired layouts ------------------------------------------------------------------------------


def make_pair(input_path, target_path, seed):
    target = natural_image(24, 28, seed=seed)
    write_image(target_path, target)
    write_image(input_path, np.clip(target * 0.5, 0, 1))  # a known, pixel-aligned "degradation"


def test_restormer_layout_and_aligned_random_patches(tmp_path):
    for i in range(3):
        make_pair(tmp_path / "GoPro" / "input" / f"{i}.png", tmp_path / "GoPro" / "target" / f"{i}.png", i)
    pairs = get_benchmark("GoPro").pairs(tmp_path)
    assert [k for _, _, k in pairs] == ["0", "1", "2"]
    ds = PairedFolderDataset(pairs, patch_size=10, augment=True)
    for i in range(len(ds)):
        x, y, name = ds[i]
        assert x.shape == y.shape == (3, 10, 10) and name == str(i)
        assert torch.allclose(x, torch.floor(y * 0.5 * 255 + 0.5) / 255, atol=1e-6)  # the same crop and flip


def test_original_gopro_hide_raindrop_and_snow_layouts(tmp_path):
    for seq in ("GOPR0384_11_00", "GOPR0385_11_01"):  # the same frame names in every sequence
        for frame in ("000001", "000002"):
            make_pair(
                tmp_path / "GOPRO_Large/test" / seq / "blur" / f"{frame}.png",
                tmp_path / "GOPRO_Large/test" / seq / "sharp" / f"{frame}.png",
                0,
            )
    assert len(get_benchmark("GoPro").pairs(tmp_path)) == 4
    make_pair(
        tmp_path / "HIDE_dataset/test/test-close-ups/1fromGOPR0950.png",
        tmp_path / "HIDE_dataset/GT/1fromGOPR0950.png",
        1,
    )
    write_image(
        tmp_path / "HIDE_dataset/GT/train-only.png", natural_image(8, 8)
    )  # GT also holds training targets
    assert [k for _, _, k in get_benchmark("HIDE").pairs(tmp_path)] == ["1fromGOPR0950"]
    make_pair(tmp_path / "RainDrop/test_a/data/0_rain.png", tmp_path / "RainDrop/test_a/gt/0_clean.png", 2)
    assert [k for _, _, k in get_benchmark("RainDrop").pairs(tmp_path)] == ["0"]
    make_pair(tmp_path / "snow100k-l/synthetic/beach.jpg", tmp_path / "snow100k-l/gt/beach.jpg", 3)
    assert len(get_benchmark("Snow100K-L").pairs(tmp_path)) == 1  # folder name matched case-insensitively


def test_paired_errors_name_the_expected_layout(tmp_path):
    with pytest.raises(ImageError, match=r"no Test1 folder .*expected one of: TransWeather's input/ \+ gt/"):
        get_benchmark("Test1").pairs(tmp_path)
    make_pair(tmp_path / "Test1/input/a.png", tmp_path / "Test1/gt/a.png", 0)
    make_pair(tmp_path / "Test1/input/b.png", tmp_path / "Test1/gt/c.png", 0)
    with pytest.raises(
        ImageError,
        match=r"pairs do not match: 1 inputs without a target \(e.g. 'b'\), "
        r"1 targets without an input \(e.g. 'c'\); expected TransWeather's input/ \+ gt/$",
    ):
        get_benchmark("Test1").pairs(tmp_path)
    (tmp_path / "HIDE/blurry").mkdir(parents=True)
    with pytest.raises(
        ImageError,
        match=r"HIDE: no HIDE inputs found; expected one of: Restormer's input/ \+ target/; HIDE_dataset's",
    ):
        get_benchmark("HIDE").pairs(tmp_path)


def test_from_folders(tmp_path):
    make_pair(tmp_path / "in/x.png", tmp_path / "out/x.png", 0)
    ds = PairedFolderDataset.from_folders(tmp_path / "in", tmp_path / "out")
    assert len(ds) == 1 and ds[0][2] == "x"
    with pytest.raises(ImageError, match=r"missing: no such target folder"):
        PairedFolderDataset.from_folders(tmp_path / "in", tmp_path / "missing")


# --- benchmark registry ----------------------------------------------------------------------------


def test_registry_holds_every_set_of_the_paper():
    paper = {"Set5", "Set14", "BSD100", "Urban100", "Manga109", "CBSD68", "BSD68", "Kodak24", "McMaster", "Set12",
             "Classic5", "LIVE1", "BSDS500", "GoPro", "HIDE", "Test1", "Snow100K-L", "RainDrop"}  # fmt: skip
    assert paper <= set(BENCHMARKS)
    assert set(list_benchmarks("deblur")) == {"GoPro", "HIDE"}
    assert get_benchmark("classic5").name == "Classic5"
    assert not get_benchmark("Kodak24_500crop").comparable and get_benchmark("Kodak24").comparable
    assert [p.name for p in get_benchmark("Set5").protocols()] == ["sr_2_rgb", "sr_3_rgb", "sr_4_rgb"]
    assert {p.name for p in get_benchmark("LIVE1").protocols()} >= {"jpeg_10_rgb", "jpeg_40_gray"}


def test_registry_finds_sets_and_names_what_is_missing(tmp_path):
    write_image(tmp_path / "Set5/HR/baby.png", natural_image(12, 12))
    write_image(tmp_path / "Set5/LR_bicubic/X2/babyx2.png", natural_image(6, 6))
    assert [p.name for p in get_benchmark("Set5").images(tmp_path)] == ["baby.png"]
    with pytest.raises(
        ImageError, match=r"no Set14 folder \(looked for Set14\); expected images in Set14/ \(or Set14/HR"
    ):
        get_benchmark("Set14").images(tmp_path)
    (tmp_path / "McMaster").mkdir()
    with pytest.raises(ImageError, match=r"McMaster: no images; expected images in McMaster/"):
        get_benchmark("McMaster").images(tmp_path)
    with pytest.raises(ImageError, match="no such benchmark root folder"):
        get_benchmark("Set5").images(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="unknown benchmark 'Set6'"):
        get_benchmark("Set6")


def test_registry_on_the_real_folder():
    root = benchmark_dir("Set5").parent
    assert len(get_benchmark("Set5").images(root)) == 5
    assert len(get_benchmark("Classic5").images(root)) == 5
    assert len(get_benchmark("Kodak24_500crop").images(root)) == 24


def test_camera_fraction_noises_that_share_as_a_camera_does(clean_folder):
    protocol = get_protocol("denoise", [0, 50])
    plain = TrainDataset(clean_folder, protocol, patch_size=32, seed=0)
    camera = TrainDataset(clean_folder, protocol, patch_size=32, seed=0, camera_fraction=0.5)
    kinds = []
    for i in range(40):
        (x, target), (_, clean) = camera[i], plain[i]
        if torch.equal(target, clean):  # white noise, as without camera_fraction
            kinds.append("white")
        else:  # the noise-free pipeline's image (demosaicked), on the 8-bit grid like a file
            kinds.append("camera")
            assert (target - clean).abs().mean() < 0.05
            assert torch.equal(torch.round(x * 255) / 255, x)
    assert 10 <= kinds.count("camera") <= 30
    with pytest.raises(UsageError, match="camera_fraction"):
        TrainDataset(clean_folder, get_protocol("denoise", 25, 1), patch_size=32, camera_fraction=0.5)
    with pytest.raises(UsageError, match="camera_fraction"):
        TrainDataset(clean_folder, protocol, patch_size=32, camera_fraction=1.5)
