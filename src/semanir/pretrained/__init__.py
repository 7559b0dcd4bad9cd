"""Weights shipped inside the package, one safetensors file per preset.

A preset's name is its file name; the file's metadata says its task, model and training.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from ..errors import UsageError

DEFAULT_PRESET = "denoise"


def _folder() -> Path:
    return Path(str(resources.files(__name__)))


def list_presets() -> list[str]:
    return sorted(p.stem for p in _folder().glob("*.safetensors"))


def preset_path(name: str) -> Path:
    path = _folder() / f"{name}.safetensors"
    if not path.is_file():
        available = ", ".join(list_presets()) or "none"
        raise UsageError(f"no shipped weights for {name!r} (shipped presets: {available}); pass --weights FILE")
    return path
