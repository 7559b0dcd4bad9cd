"""Weights shipped inside the package, one safetensors file per preset.

A preset's name is its file name; the file's metadata says its task, model and training, so the
file is the whole registration: ``--task`` finds a preset by name, or by task, channels and scale.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from ..errors import UsageError

DEFAULT_PRESET = "denoise"


@dataclass(frozen=True)
class Preset:
    name: str
    task: str
    channels: int  # 3 (RGB) or 1 (gray)
    scale: int  # output size over input size
    path: Path
    level: object = None  # the level it was trained at: a blind (low, high) range, a level or None

    @property
    def label(self) -> str:
        """What it restores, in words, from its task and metadata: ``noise (gray), sigma 0-50``."""
        from ..tasks import get_task

        task = get_task(self.task)
        what = (task.title or task.name) + (" (gray)" if self.channels == 1 else "")
        return ", ".join(filter(None, [what, task.describe_level(self.level)]))


def _folder() -> Path:
    return Path(str(resources.files(__name__)))


def list_presets() -> list[str]:
    return sorted(p.stem for p in _folder().glob("*.safetensors"))


@cache
def _preset(name: str, path: Path, mtime: float) -> Preset:
    from safetensors import safe_open

    from ..weights import decoded_metadata

    with safe_open(str(path), framework="pt") as f:
        meta = decoded_metadata(dict(f.metadata() or {}))
    config = meta.get("model_config") or {}
    channels, scale = int(config.get("in_chans", 3)), int(config.get("upscale", 1))
    return Preset(name, meta.get("task", ""), channels, scale, path, meta.get("level"))


def get_preset(name: str) -> Preset:
    path = preset_path(name)
    return _preset(name, path, path.stat().st_mtime)


def shipped_presets() -> list[Preset]:
    return [get_preset(name) for name in list_presets()]


def preset_path(name: str) -> Path:
    path = _folder() / f"{name}.safetensors"
    if not path.is_file():
        available = ", ".join(list_presets()) or "none"
        raise UsageError(f"no shipped weights for {name!r} (shipped presets: {available}); pass --weights FILE")
    return path


def find_preset(name: str, channels: int | None = None, scale: int | None = None) -> Preset:
    """The preset shipped for task ``name`` that takes ``channels`` and upscales by ``scale`` (None:
    as the task's default preset does), or the preset called ``name`` (``denoise_gray``, ``sr_x2``)."""
    from ..tasks import get_task, list_tasks

    if name not in list_tasks():
        if name not in list_presets():
            raise UsageError(f"{name!r} is neither a task ({', '.join(list_tasks())}) nor a shipped preset ({', '.join(list_presets())})")
        preset = get_preset(name)
        if scale is not None and scale != preset.scale:
            raise UsageError(f"preset {name} upscales x{preset.scale}, not x{scale}")
        return preset
    default = get_task(name).default_preset
    shipped = shipped_presets()
    default_preset = next((p for p in shipped if p.name == default), None)
    wanted_scale = scale if scale is not None else (default_preset.scale if default_preset else 1)
    matches = [p for p in shipped if p.task == name and p.scale == wanted_scale]
    if channels is not None:
        matches = [p for p in matches if p.channels == channels] or matches  # a color model also takes gray
    matches.sort(key=lambda p: (p.name != default, p.name))
    if not matches:
        have = ", ".join(f"x{s}" for s in sorted({p.scale for p in shipped if p.task == name}))
        what = f"{name} x{wanted_scale}" if wanted_scale != 1 else name
        raise UsageError(f"no shipped weights for {what}" + (f" (shipped: {have})" if have else "") + "; pass --weights FILE")
    return matches[0]


def gray_twin(preset: Preset) -> Preset | None:
    """The 1-channel preset of an RGB preset's task and scale (``denoise_gray`` for ``denoise``),
    which restores gray images better than the RGB model on three equal channels."""
    if preset.channels != 3:
        return None
    twins = [p for p in shipped_presets() if (p.task, p.scale, p.channels) == (preset.task, preset.scale, 1)]
    return twins[0] if twins else None


def task_of(name: str) -> str:
    """The task a ``--task`` value names: a task, or a preset's task."""
    from ..tasks import list_tasks

    return name if name in list_tasks() else find_preset(name).task


def resolve_weights(weights: str | Path) -> Path:
    """A shipped preset's file, or a weights file's path; one line when it is neither."""
    if str(weights) in list_presets() and not Path(weights).is_file():
        return preset_path(str(weights))
    if Path(weights).is_file():
        return Path(weights)
    raise UsageError(f"{str(weights)!r} is neither a shipped preset ({', '.join(list_presets()) or 'none'}) nor a weights file")
