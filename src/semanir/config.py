"""Run configurations: YAML files (shipped ones by name), dotted ``key=value`` overrides, and the
defaults every training run starts from."""

from __future__ import annotations

import copy
import re
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from .errors import UsageError, checked_like


class _Loader(yaml.SafeLoader):
    """SafeLoader that reads ``1e-4`` as a float, as YAML 1.2 does; PyYAML's 1.1 rules want a dot
    (``1.0e-4``) and would hand the optimizer the string "1e-4"."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)

# The paper's random top-k set for windows of N = 1024 (Sec. 3.3): the trainer draws one per iteration.
PAPER_TOPK_CHOICES = (64, 128, 192, 256, 384, 512)

# Every key a training config may set, with its default (App. A.4 where the paper says).
DEFAULTS: dict[str, Any] = {
    "name": None,
    "task": None,  # denoise | jpeg | sr | demosaic | deblur | weather
    "output_dir": None,  # default: runs/<name>
    "model": {"name": None},  # plus any create_model override
    "data": {
        "train": {
            "root": None,  # folder(s) of clean images, or paired-set root for deblur/weather
            "level": None,  # sigma / QF / scale; a [low, high] pair is a blind range
            "channels": 3,
            "patch_size": 64,
            "batch_size": 16,  # total over all ranks
            "workers": 2,
            "cache": True,
            "set": None,  # paired tasks: a registered set's layout under root (default: input/ + target/)
            "sample_by": "image",  # image (each image equally often) | pixels (by its pixel count)
            "clip_fraction": 0.0,  # denoise: share of inputs clipped and rounded to 8 bits, as real files are
            "camera_fraction": 0.0,  # RGB denoise: share of inputs noised as a camera does (before demosaicking)
        },
        "val": {"root": None, "level": None, "limit": None, "set": None},
    },
    "train": {
        "iterations": 1_000_000,
        # Start a new run from these weights (a .safetensors file or a shipped preset's name) with a
        # fresh optimizer: fine-tuning. Ignored when the run resumes from its own checkpoint.
        "init_weights": None,
        "loss": "l1",  # l1 | charbonnier | mse | smooth_l1+perceptual
        "perceptual_weights": None,  # torchvision-layout VGG16 .pth, for the perceptual loss
        "perceptual_weight": 0.04,
        "optimizer": {"type": "adamw", "lr": 2.0e-4, "weight_decay": 0.0, "betas": [0.9, 0.99]},
        "milestones": [500_000, 800_000, 900_000, 950_000],  # learning rate halves at each
        "gamma": 0.5,
        "warmup_iterations": 0,
        "grad_clip": 0.0,  # max gradient norm; 0 disables
        "ema_decay": 0.0,  # 0 disables the EMA copy
        "topk_choices": list(PAPER_TOPK_CHOICES),  # k of each iteration, drawn by the trainer; null: the model's topk
        "seed": 0,
        "amp": "auto",  # auto | bf16 | fp16 | off (GPU only; the CPU trains in fp32)
        "checkpoint_every": 5000,
        "val_every": 5000,
        "log_every": 100,
        "max_bad_steps": 20,  # consecutive non-finite losses before giving up
        "device": "auto",
        # Collective timeout of a multi-process run, in minutes: the other ranks wait at a barrier
        # while rank 0 validates, longer than NCCL's default 10 min allows. Default:
        # $SEMANIR_DIST_TIMEOUT_MINUTES, else 120.
        "dist_timeout_minutes": None,
    },
}


class ConfigError(UsageError):
    pass


def shipped_configs() -> list[str]:
    root = resources.files("semanir") / "configs"
    return sorted(p.name.removesuffix(".yaml") for p in root.iterdir() if p.name.endswith(".yaml") and not p.name.startswith("_"))


def _read_yaml(source: str | Path, seen: tuple = ()) -> dict:
    """The mapping in ``source``; a ``base: NAME`` key first loads that config under it."""
    data = _read_one(source)
    base = data.pop("base", None)
    if base is None:
        return data
    base = _locate_base(str(base), source)
    if _identity(base) in (*seen, _identity(source)):
        raise ConfigError(f"config {str(source)!r} inherits from itself through {str(base)!r}")
    return _deep_update(_read_yaml(base, (*seen, _identity(source))), data)


def _locate_base(base: str, source: str | Path) -> str | Path:
    """A file's ``base: NAME`` is NAME.yaml beside it when there is one (a folder of configs that
    build on each other, such as the training records in docs/training-records/), else a file
    path or a config shipped in the package."""
    if Path(source).is_file():
        sibling = Path(source).parent / f"{base}.yaml"
        if sibling.is_file():
            return sibling
    return base


def _identity(source: str | Path) -> str:
    return str(Path(source).resolve()) if Path(source).is_file() else str(source)


def _deep_update(base: dict, update: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in update.items():
        out[key] = _deep_update(out[key], value) if isinstance(out.get(key), dict) and isinstance(value, dict) else value
    return out


def _read_one(source: str | Path) -> dict:
    path = Path(source)
    if path.is_file():
        text = path.read_text()
    else:
        shipped = resources.files("semanir") / "configs" / f"{source}.yaml"
        if not shipped.is_file():
            raise ConfigError(f"no config file {source!r} and no shipped config of that name (shipped: {', '.join(shipped_configs())})")
        text = shipped.read_text()
    try:
        data = yaml.load(text, Loader=_Loader) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{source}: invalid YAML ({str(err).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: a config must be a mapping at the top level")
    return data


def merge(base: dict, update: dict, path: str = "") -> dict:
    """Deep-merge ``update`` into a copy of ``base``; keys unknown to ``base`` are errors,
    except under ``model`` (create_model validates those)."""
    out = copy.deepcopy(base)
    for key, value in update.items():
        where = f"{path}{key}"
        if key not in out and not path.startswith("model"):
            raise ConfigError(f"unknown config key {where!r}")
        if isinstance(out.get(key), dict) and isinstance(value, dict):
            out[key] = merge(out[key], value, where + ".")
        else:
            out[key] = copy.deepcopy(value)
    return out


def parse_override(text: str) -> dict:
    """``train.iterations=100`` -> {"train": {"iterations": 100}} (values parsed as YAML)."""
    if "=" not in text:
        raise ConfigError(f"override {text!r} is not of the form key.sub=value")
    key, raw = text.split("=", 1)
    try:
        value = yaml.load(raw, Loader=_Loader)
    except yaml.YAMLError:
        value = raw
    nested: dict = {}
    cursor = nested
    parts = key.strip().split(".")
    for part in parts[:-1]:
        cursor = cursor.setdefault(part, {})
    cursor[parts[-1]] = value
    return nested


def _check_types(cfg: dict, defaults: dict, path: str = "") -> None:
    """Every value of the type of its default, so that a bad override (train.iterations=abc) is
    refused here by its key, not later by int() without one. Model options: create_model checks."""
    for key, default in defaults.items():
        where = f"{path}{key}"
        if isinstance(default, dict):
            if not isinstance(cfg[key], dict):
                raise ConfigError(f"{where} must be a mapping of keys, got {cfg[key]!r}")
            _check_types(cfg[key], default, where + ".")
        else:
            cfg[key] = checked_like(where, cfg[key], default, ConfigError)


def load_config(source: str | Path, overrides: list[str] = ()) -> dict:
    """Defaults <- the YAML file (or shipped config name) <- overrides; checked and resolved."""
    cfg = merge(DEFAULTS, _read_yaml(source))
    for text in overrides:
        cfg = merge(cfg, parse_override(text))
    _check_types(cfg, DEFAULTS)
    if not cfg["model"].get("name"):
        raise ConfigError("the config must name a model (model.name)")
    if not cfg["task"]:
        raise ConfigError("the config must name a task (task: denoise | jpeg | sr | demosaic | deblur | weather)")
    cfg["name"] = cfg["name"] or Path(str(source)).stem
    cfg["output_dir"] = cfg["output_dir"] or str(Path("runs") / cfg["name"])
    return cfg


def dump_config(cfg: dict) -> str:
    return yaml.safe_dump(cfg, sort_keys=False)
