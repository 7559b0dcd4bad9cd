"""Training and validation datasets from the ``data`` section of a config."""

from __future__ import annotations

from pathlib import Path

from ..config import ConfigError
from ..data.benchmarks import get_benchmark
from ..data.datasets import PairedFolderDataset, TestDataset, TrainDataset
from ..data.io import list_images
from ..data.protocols import get_protocol


def _roots(value) -> list[str]:
    if not value:
        raise ConfigError("data.train.root is not set: give the folder(s) of training images, e.g. data.train.root=/data/photos")
    return [value] if isinstance(value, str) else list(value)


def _pairs(root: str, set_name: str | None):
    """Paired files: a registered set's layout, or ``input/`` + ``target/`` under ``root``."""
    if set_name:
        return get_benchmark(set_name).pairs(root)
    return PairedFolderDataset.from_folders(Path(root) / "input", Path(root) / "target").pairs


def build_datasets(cfg: dict):
    task = cfg["task"]
    d, v = cfg["data"]["train"], cfg["data"]["val"]
    protocol = get_protocol(task, d["level"], d["channels"])
    seed = int(cfg["train"]["seed"])
    if protocol.paired:
        pairs = [p for root in _roots(d["root"]) for p in _pairs(root, d.get("set"))]
        train = PairedFolderDataset(pairs, patch_size=d["patch_size"], augment=True, seed=seed)
    else:
        images = [p for root in _roots(d["root"]) for p in list_images(root)]
        train = TrainDataset(
            images, protocol, patch_size=d["patch_size"], augment=True, cache=d["cache"], seed=seed,
            sample_by=d["sample_by"], clip_fraction=float(d["clip_fraction"]),
            camera_fraction=float(d["camera_fraction"]),
        )  # fmt: skip
    if not v["root"]:
        return train, None, protocol
    val_protocol = get_protocol(task, v["level"], d["channels"])
    if val_protocol.paired:
        val = PairedFolderDataset(_pairs(v["root"], v.get("set")))
    else:
        val = TestDataset(list_images(v["root"]), val_protocol)
    return train, val, val_protocol
