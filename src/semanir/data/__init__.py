"""Data layer: image I/O, the paper's degradations and protocols, datasets and benchmark sets.

Images are numpy float32 arrays, HxWx3 RGB or HxW gray, with values in [0, 1]; datasets return
CHW float32 tensors. Metrics live in :mod:`semanir.metrics`.
"""

from .benchmarks import BENCHMARKS, Benchmark, get_benchmark, list_benchmarks
from .datasets import PairedFolderDataset, PairedLayout, TestDataset, TrainDataset
from .degradations import (
    add_blind_gaussian_noise,
    add_gaussian_noise,
    bayer_mosaic,
    bicubic_downscale,
    bicubic_upscale,
    demosaic_malvar,
    image_seed,
    jpeg_compress,
    jpeg_compress_blind,
    pad_to_rggb,
    to_gray_y,
)
from .io import ImageError, ImageFile, list_images, quantize, read_image, to_float, write_image
from .motion_blur import motion_blur, random_motion_kernel
from .protocols import TASKS, Protocol, get_protocol, resize_like_transweather
from .resize import imresize, modcrop

__all__ = [
    "BENCHMARKS", "Benchmark", "ImageError", "ImageFile", "PairedFolderDataset", "PairedLayout",
    "Protocol", "TASKS", "TestDataset", "TrainDataset", "add_blind_gaussian_noise", "add_gaussian_noise",
    "bayer_mosaic", "bicubic_downscale", "bicubic_upscale", "demosaic_malvar", "get_benchmark",
    "get_protocol", "image_seed", "imresize", "jpeg_compress", "jpeg_compress_blind", "list_benchmarks",
    "list_images", "modcrop", "motion_blur", "pad_to_rggb", "quantize", "random_motion_kernel", "read_image",
    "resize_like_transweather", "to_float", "to_gray_y", "write_image",
]  # fmt: skip
