"""torch Datasets: clean images degraded on the fly (training), paired files, and fixed test sets.

Every item is a CHW float32 tensor in [0, 1] (AWGN inputs are unclipped and may leave [0, 1]).

Randomness (crops, flips, noise draws) is a pure function of (`seed`, item index): item ``i``
uses ``np.random.default_rng([seed, i])``. Indices may run past ``len(dataset)`` (the training
loop numbers items globally over iterations and ranks; the image is ``i % len``), so every epoch
and every rank draws anew, yet a run resumed at iteration ``t`` sees exactly the items the
uninterrupted run saw, whatever the number of DataLoader workers.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from ..errors import UsageError
from .degradations import bicubic_downscale, camera_noise, image_seed
from .io import IMAGE_EXTENSIONS, ImageError, list_images, quantize, read_image, to_float
from .protocols import Protocol

PathList = str | os.PathLike | Sequence[str | os.PathLike]


def _paths(source: PathList) -> list[Path]:
    if isinstance(source, (str, os.PathLike)):
        return list_images(source)
    paths = [Path(p) for p in source]
    if not paths:
        raise ImageError("no image files given")
    return paths


def to_chw(img: np.ndarray) -> torch.Tensor:
    """An HxWxC (or HxW) array -> a CxHxW float32 tensor: the inverse of ``evaluation.to_hwc``."""
    if img.ndim == 2:
        img = img[..., None]
    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1), dtype=np.float32))


def flip_rotate(img: np.ndarray, mode: int) -> np.ndarray:
    """One of the 8 flips/rotations of the square's symmetry group (mode 0 = identity)."""
    if mode & 4:
        img = img.transpose(1, 0, *range(2, img.ndim))
    if mode & 2:
        img = img[::-1]
    if mode & 1:
        img = img[:, ::-1]
    return img


class _Seeded:
    """Per-item numpy Generator from (seed, index) (see the module docstring)."""

    seed: int

    def _rng(self, index: int) -> np.random.Generator:
        return np.random.default_rng([int(self.seed), int(index)])


class _Images:
    """Image loading with an optional in-memory cache (kept as 8/16-bit integers, 4x less memory)."""

    def __init__(self, paths: list[Path], cache: bool):
        self.paths = paths
        self._cache = [self._read_compact(p) for p in paths] if cache else None

    @staticmethod
    def _read_compact(path: Path) -> np.ndarray:
        f = read_image(path)
        return quantize(f.pixels, f.bit_depth)

    def __len__(self) -> int:
        return len(self.paths)

    def raw(self, i: int) -> np.ndarray:
        """The stored array: integers when cached (convert crops with to_float), else float32."""
        return self._cache[i] if self._cache is not None else read_image(self.paths[i]).pixels


def _pixel_count(path: Path) -> int:
    from PIL import Image  # the header only: no pixels are decoded

    with Image.open(path) as img:
        return img.width * img.height


def sr_patch(hr: np.ndarray, top: int, left: int, size: int, scale: int) -> tuple[np.ndarray, np.ndarray]:
    """An aligned (LR, HR) training pair: LR pixels [top, top+size) x [left, left+size) of the
    whole image's MATLAB-bicubic LR, and the HR pixels they come from.

    The paper makes LR images from whole HR images before training; downscaling a bare HR patch
    would instead fold its border back into the kernel. The antialiased kernel reaches
    1.5 * scale + 0.5 HR pixels past an LR pixel's footprint, so downscaling the patch with 2 LR
    pixels of context gives bit for bit the crop of the whole-image LR, at the cost of a patch.
    """
    margin = 2
    h, w = hr.shape[0] // scale, hr.shape[1] // scale
    y0, x0 = max(0, top - margin), max(0, left - margin)
    y1, x1 = min(h, top + size + margin), min(w, left + size + margin)
    lr = bicubic_downscale(to_float(hr[y0 * scale : y1 * scale, x0 * scale : x1 * scale]), scale)
    lr = lr[top - y0 : top - y0 + size, left - x0 : left - x0 + size]
    return lr, hr[top * scale : (top + size) * scale, left * scale : (left + size) * scale]


SAMPLING = ("image", "pixels")


class TrainDataset(_Seeded, Dataset):
    """Clean images -> (degraded input, clean target) patches, made fresh for every item.

    `patch_size` is the *input* size: SR targets are `patch_size * scale` pixels, and SR inputs
    are crops of the whole image's LR (see :func:`sr_patch`). Other degradations are applied to
    the clean patch. Each image appears `repeat` times per epoch (one random patch each time).

    `sample_by="pixels"` draws each item's image with probability proportional to its pixel count,
    so that a folder of small images (BSDS's 0.15 MP) does not outweigh one of large ones.
    `clip_fraction` of the items (denoising) have their input clipped to [0, 1] and rounded to 8
    bits, as in a real noisy file; the rest keep the paper's unclipped noise. `camera_fraction` of
    them (RGB denoising) get their noise as a camera adds it instead (see :func:`camera_noise`),
    with the noise-free pipeline's image as the target.
    """

    def __init__(
        self,
        images: PathList,
        protocol: Protocol,
        patch_size: int = 64,
        augment: bool = True,
        cache: bool = False,
        seed: int = 0,
        repeat: int = 1,
        sample_by: str = "image",
        clip_fraction: float = 0.0,
        camera_fraction: float = 0.0,
    ):
        if protocol.paired:
            raise ValueError(f"{protocol.task} is paired data: use PairedFolderDataset")
        if sample_by not in SAMPLING:
            raise UsageError(f"data.train.sample_by must be one of {', '.join(SAMPLING)}, got {sample_by!r}")
        if not 0.0 <= clip_fraction <= 1.0 or (clip_fraction and not protocol.spec.clips_inputs):
            raise UsageError(f"data.train.clip_fraction is a fraction in [0, 1] of denoising inputs, got {clip_fraction} for {protocol.task}")
        rgb_denoising = (protocol.task, protocol.channels) == ("denoise", 3)
        if not 0.0 <= camera_fraction <= 1.0 or (camera_fraction and not rgb_denoising):
            raise UsageError(
                f"data.train.camera_fraction is a fraction in [0, 1] of RGB denoising inputs, "
                f"got {camera_fraction} for {protocol.name}"
            )
        self.camera_fraction = float(camera_fraction)
        self.protocol, self.patch_size, self.augment = protocol, patch_size, augment
        self.seed, self.repeat, self.clip_fraction = seed, repeat, float(clip_fraction)
        self.images = _Images(_paths(images), cache)
        self._cumulative_pixels = None
        if sample_by == "pixels":
            self._cumulative_pixels = np.cumsum([_pixel_count(p) for p in self.images.paths], dtype=np.float64)

    def __len__(self) -> int:
        return len(self.images) * self.repeat

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        rng = self._rng(index)
        if self._cumulative_pixels is None:
            i = index % len(self.images)
        else:
            i = int(np.searchsorted(self._cumulative_pixels, rng.random() * self._cumulative_pixels[-1], side="right"))
        raw = self.images.raw(i)
        p, s = self.patch_size, self.protocol.scale
        h, w = raw.shape[0] // s, raw.shape[1] // s  # the crop grid: LR pixels for SR
        if h < p or w < p:
            size = f"{p * s}x{p * s}"
            raise ImageError(
                f"{self.images.paths[i]}: {raw.shape[0]}x{raw.shape[1]} is smaller than the {size} training patch"
            )
        y, x = int(rng.integers(0, h - p + 1)), int(rng.integers(0, w - p + 1))
        mode = int(rng.integers(8)) if self.augment else 0
        if s > 1:  # SR: the LR is made from the whole image, then cropped, as MATLAB makes test sets
            lr, hr = sr_patch(raw, y, x, p, s)
            clean = self.protocol.to_channels(to_float(flip_rotate(hr, mode)))
            degraded = self.protocol.to_channels(flip_rotate(lr, mode))
        else:
            clean = self.protocol.to_channels(to_float(flip_rotate(raw[y : y + p, x : x + p], mode)))
            if self.camera_fraction and rng.random() < self.camera_fraction:
                degraded, clean = camera_noise(clean, self._sigma_range(), rng)
                return to_chw(degraded), to_chw(clean)
            degraded = self.protocol.degrade(clean, rng)
            if self.clip_fraction and rng.random() < self.clip_fraction:
                degraded = to_float(quantize(degraded))  # quantize clips
        return to_chw(degraded), to_chw(clean)

    def _sigma_range(self) -> tuple[float, float]:
        if self.protocol.level == "blind":
            return self.protocol.blind_range or self.protocol.spec.blind_range
        return float(self.protocol.level), float(self.protocol.level)


class TestDataset(Dataset):
    """A benchmark set under a protocol: (input, target, name), the same on every run.

    Each image's degradation is seeded with :func:`image_seed` (`base_seed`, file stem), so the
    noise of an image does not depend on the order, the subset or the number of workers.
    """

    __test__ = False  # not a pytest test class, despite the name

    def __init__(self, images: PathList, protocol: Protocol, base_seed: int = 0, cache: bool = False):
        if protocol.paired:
            raise ValueError(f"{protocol.task} is paired data: use PairedFolderDataset")
        self.protocol, self.base_seed = protocol, base_seed
        self.images = _Images(_paths(images), cache)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, str]:
        name = self.images.paths[index].stem
        clean = self.protocol.prepare_clean(to_float(self.images.raw(index)))
        degraded = self.protocol.degrade(clean, image_seed(self.base_seed, name))
        return to_chw(degraded), to_chw(clean), name


# --- paired files ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PairedLayout:
    """Where a paired release keeps inputs and targets, relative to the set's folder.

    Files pair up by stem after removing `input_suffix` / `target_suffix` (RainDrop's ``_rain`` /
    ``_clean``); with `with_sequence`, also by the folder two levels up (GoPro's per-sequence
    ``<seq>/blur`` and ``<seq>/sharp``). `extra_targets_ok` allows targets without an input
    (HIDE's ``GT`` folder also holds the training targets).
    """

    description: str  # e.g. "Restormer's input/ + target/", for error messages
    input_glob: str
    target_glob: str
    input_suffix: str = ""
    target_suffix: str = ""
    with_sequence: bool = False
    extra_targets_ok: bool = False

    def _key(self, path: Path, suffix: str) -> str:
        stem = path.stem[: -len(suffix)] if suffix and path.stem.endswith(suffix) else path.stem
        return f"{path.parent.parent.name}/{stem}" if self.with_sequence else stem

    def pairs(self, root: str | os.PathLike) -> list[tuple[Path, Path, str]]:
        """Matched (input, target, key) triples under `root`, sorted by key; one-line errors."""
        root = Path(root)
        found = {}
        for role, pattern, suffix in (
            ("input", self.input_glob, self.input_suffix),
            ("target", self.target_glob, self.target_suffix),
        ):
            files = sorted(
                p for p in root.glob(pattern) if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
            )
            if not files:
                raise ImageError(f"{root}: no {role} images at {pattern!r}; expected {self.description}")
            keys = {}
            for p in files:
                k = self._key(p, suffix)
                if k in keys:
                    raise ImageError(f"{root}: {role} files {keys[k].name} and {p.name} both pair as {k!r}")
                keys[k] = p
            found[role] = keys
        inputs, targets = found["input"], found["target"]
        lonely = sorted(set(inputs) - set(targets))
        orphans = [] if self.extra_targets_ok else sorted(set(targets) - set(inputs))
        if lonely or orphans:
            parts = [f"{len(lonely)} inputs without a target (e.g. {lonely[0]!r})"] if lonely else []
            parts += [f"{len(orphans)} targets without an input (e.g. {orphans[0]!r})"] if orphans else []
            raise ImageError(f"{root}: pairs do not match: {', '.join(parts)}; expected {self.description}")
        return [(inputs[k], targets[k], k) for k in sorted(inputs)]


class PairedFolderDataset(_Seeded, Dataset):
    """(input, target, name) from matched files; random aligned patches when `patch_size` is set.

    Build it from folders with :meth:`from_folders`, or from a benchmark's layout with
    :meth:`Benchmark.pairs <semanir.data.benchmarks.Benchmark.pairs>`. An optional `prepare` callable is applied to both
    images (e.g. :func:`resize_like_transweather` for the weather test sets).
    """

    def __init__(
        self,
        pairs: Sequence[tuple[str | os.PathLike, str | os.PathLike, str]],
        patch_size: int | None = None,
        augment: bool = False,
        seed: int = 0,
        prepare=None,
    ):
        if not pairs:
            raise ImageError("no image pairs given")
        self.pairs = [(Path(a), Path(b), str(k)) for a, b, k in pairs]
        self.patch_size, self.augment, self.seed, self.prepare = patch_size, augment, seed, prepare

    @classmethod
    def from_folders(cls, input_dir, target_dir, input_suffix: str = "", target_suffix: str = "", **kwargs):
        """Pair the images of two flat folders by file stem."""
        input_dir, target_dir = Path(input_dir), Path(target_dir)
        for role, folder in (("input", input_dir), ("target", target_dir)):
            if not folder.is_dir():
                raise ImageError(
                    f"{folder}: no such {role} folder; expected matching files in {input_dir} and {target_dir}"
                )
        root = Path(os.path.commonpath([input_dir.resolve(), target_dir.resolve()]))
        layout = PairedLayout(
            f"matching file names in {input_dir} and {target_dir}",
            str(input_dir.resolve().relative_to(root) / "*"),
            str(target_dir.resolve().relative_to(root) / "*"),
            input_suffix,
            target_suffix,
        )
        return cls(layout.pairs(root), **kwargs)

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, str]:
        in_path, target_path, name = self.pairs[index % len(self.pairs)]
        a, b = read_image(in_path).pixels, read_image(target_path).pixels
        if self.prepare is not None:
            a, b = self.prepare(a), self.prepare(b)
        if a.shape != b.shape:
            raise ImageError(f"{in_path.name}: input {a.shape} and target {b.shape} differ in shape")
        if self.patch_size is not None:
            rng = self._rng(index)
            p, (h, w) = self.patch_size, a.shape[:2]
            if h < p or w < p:
                raise ImageError(f"{in_path}: {h}x{w} is smaller than the {p}x{p} training patch")
            y, x = int(rng.integers(0, h - p + 1)), int(rng.integers(0, w - p + 1))
            a, b = a[y : y + p, x : x + p], b[y : y + p, x : x + p]
            if self.augment:
                mode = int(rng.integers(8))
                a, b = flip_rotate(a, mode), flip_rotate(b, mode)
        return to_chw(a), to_chw(b), name
