"""Model weights on disk: safetensors with the model's name and config as metadata (so a file
alone rebuilds its model), and ``.pth`` files read with ``weights_only=True`` only."""

from __future__ import annotations

import json
import pickle
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .fileio import atomic_write
from .errors import UsageError, first_line
from .registry import create_model

FORMAT_VERSION = "1"
_PTH_CONTAINER_KEYS = ("params_ema", "params", "state_dict", "model", "ema")


class WeightsError(UsageError):
    """A weights file that cannot be read or does not fit the model; the message is one line."""


def without_runtime_choices(model_config: dict) -> dict:
    """A model config less attn_impl: the implementation is a choice of the machine that runs the
    weights, not of the one that trained them (a file trained with "triton" must run on a CPU)."""
    return {k: v for k, v in model_config.items() if k != "attn_impl"}


# Keys older files stored that no model takes: "arch" (the registered class knows its own) and the
# model-side random top-k (the trainer owns it now).
RETIRED_MODEL_OPTIONS = ("arch", "topk_choices", "topk_seed")


def decoded_metadata(raw: dict[str, str]) -> dict[str, Any]:
    """A weights file's metadata with its JSON values decoded."""
    return {k: _decode(v) for k, v in raw.items()}


def total_iterations(training: dict) -> int:
    """Iterations over every run behind a weights file: a run started from other weights
    (``train.init_weights``) records their training summary under ``init_weights``."""
    total = 0
    while training:
        total += int(training.get("iterations", 0))
        training = (training.get("init_weights") or {}).get("training") or {}
    return total


def model_metadata(model: nn.Module, **extra: Any) -> dict[str, str]:
    meta = {
        "semanir_format": FORMAT_VERSION,
        "model_name": getattr(model, "model_name", type(model).__name__),
        "model_config": json.dumps(without_runtime_choices(getattr(model, "config", {}))),
    }
    for key, value in extra.items():
        meta[key] = value if isinstance(value, str) else json.dumps(value)
    return meta


def carried_metadata(meta: dict[str, Any]) -> dict[str, Any]:
    """A weights file's own entries (task, training, ...) without those :func:`save_weights` writes
    itself: what a copy of the weights in another storage passes on."""
    return {k: v for k, v in meta.items() if k not in ("semanir_format", "model_name", "model_config", "storage")}


STORAGES = ("fp32", "fp16", "int8")
INT8_SCALE = ".int8_scale"  # the key suffix of an int8 tensor's per-output-channel scales
_INT8_MIN_SIZE = 1024  # smaller tensors (biases, norms, position tables) stay fp16


def _int8_per_channel(tensor: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric int8 codes and fp32 scales, one scale per output channel (dim 0)."""
    flat = tensor.float().reshape(tensor.shape[0], -1)
    scale = flat.abs().amax(dim=1).clamp_min(torch.finfo(torch.float32).tiny) / 127
    codes = torch.round(flat / scale[:, None]).clamp(-127, 127).to(torch.int8)
    return codes.reshape(tensor.shape), scale


def save_weights(model: nn.Module, path: str | Path, storage: str = "fp32", **metadata: Any) -> Path:
    """Write ``model``'s weights as safetensors, atomically; ``metadata`` values are JSON-encoded.

    ``storage``: "fp32"; "fp16" halves the file; "int8" (the shipped presets) quarters the weight
    matrices and conv kernels: int8 codes with an fp32 scale per output channel, weight-only, the
    rest in fp16. Reading rebuilds fp32 tensors (:func:`read_weights`); on the presets int8 moved
    restored images by about 57 dB PSNR against fp16 (the shipped examples' scores within 0.01 dB).
    """
    from safetensors.torch import save as st_save

    if storage not in STORAGES:
        raise ValueError(f"storage must be one of {STORAGES}, got {storage!r}")
    tensors = {}
    for name, tensor in model.state_dict().items():
        tensor = tensor.detach().cpu()
        if storage != "fp32" and tensor.is_floating_point():
            if storage == "int8" and tensor.dim() >= 2 and tensor.numel() >= _INT8_MIN_SIZE:
                tensor, tensors[name + INT8_SCALE] = _int8_per_channel(tensor)
            else:
                tensor = tensor.half()
        tensors[name] = tensor.contiguous()
    data = st_save(tensors, metadata=model_metadata(model, **metadata, storage=storage))
    return atomic_write(path, lambda f: f.write(data))


def _dequantized(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """An int8-stored state dict as fp32 tensors (every other tensor as it is)."""
    out = {}
    for name, tensor in state.items():
        if name.endswith(INT8_SCALE):
            continue
        scale = state.get(name + INT8_SCALE)
        if scale is not None:
            tensor = tensor.float() * scale.float().reshape(-1, *[1] * (tensor.dim() - 1))
        out[name] = tensor
    return out


def read_weights(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """(state_dict, metadata) of a .safetensors or .pth/.pt file; never unpickles code."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weights file not found: {path}")
    if path.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file, safe_open

        try:
            with safe_open(str(path), framework="pt") as f:
                meta = dict(f.metadata() or {})
            return _dequantized(load_file(str(path))), meta
        except (SafetensorError, OSError, ValueError) as err:
            raise WeightsError(f"{path}: not a readable safetensors file ({first_line(err)})") from None
    try:
        with warnings.catch_warnings():  # the refusal below says all there is to say
            warnings.simplefilter("ignore")
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        # torch's message advises retrying with weights_only=False, which runs whatever code the file
        # holds: it is never passed on.
        if not _starts_like_torch_save(path):
            raise WeightsError(f"{path}: not a PyTorch weights file (neither a zip archive nor a pickle)") from None
        raise WeightsError(
            f"{path}: refused to load, the file holds pickled objects that the safe loader does not accept "
            "(it reads tensors and plain containers only)"
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError) as err:
        raise WeightsError(f"{path}: not a readable PyTorch weights file ({first_line(err)})") from None
    return _unwrap_state_dict(obj, path), {}


def _starts_like_torch_save(path: Path) -> bool:
    """A zip archive (torch.save since 1.6) or a pickle of protocol 2 to 5 (older files, pickle.dump)."""
    with open(path, "rb") as f:
        head = f.read(4)
    return head == b"PK\x03\x04" or (head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"))


def _unwrap_state_dict(obj: Any, path: Path) -> dict[str, torch.Tensor]:
    if isinstance(obj, dict):
        for key in _PTH_CONTAINER_KEYS:  # BasicSR / SwinIR / our own training checkpoints
            if isinstance(obj.get(key), dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise WeightsError(f"{path}: holds no state dict of tensors")
    # DataParallel / DDP prefixes.
    return {k.removeprefix("module."): v for k, v in obj.items()}


def load_state_dict_checked(model: nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
    """Load strictly; on any mismatch name the first offending keys in one line."""
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [f"{k} {tuple(state[k].shape)} vs {tuple(own[k].shape)}" for k in own if k in state and state[k].shape != own[k].shape]
    problems = []
    if shapes:
        problems.append(f"shape mismatch: {_few(shapes)}")
    if missing:
        problems.append(f"missing: {_few(missing)}")
    if unexpected:
        problems.append(f"unexpected: {_few(unexpected)}")
    if problems:
        name = getattr(model, "model_name", type(model).__name__)
        raise WeightsError(f"{source} does not fit {name}: {'; '.join(problems)}")
    model.load_state_dict({k: v.to(own[k].dtype) for k, v in state.items()})


def adapt_to_sibling(model: nn.Module, state: dict[str, torch.Tensor], meta: dict) -> tuple[dict[str, torch.Tensor], list[str]]:
    """Fit a preset's weights to a sibling model as a new run's start (``train.init_weights``).

    Color to gray: the first conv is summed over RGB and the last conv averaged, so the gray model
    starts as exactly the color model run on a gray image (three equal channels, outputs averaged).
    Another SR scale: the upsampler's layers that do not fit start fresh; the body is shared.
    Anything else is left for :func:`load_state_dict_checked` to refuse.
    """
    own = model.state_dict()
    source = meta.get("model_config") or {}
    geometry = model.geometry()
    to_gray = source.get("in_chans") == 3 and geometry.in_chans == 1
    new_scale = source.get("upscale", 1) != geometry.scale
    state, notes = dict(state), []
    for key, mine in own.items():
        theirs = state.get(key)
        if theirs is None or theirs.shape == mine.shape:
            continue
        if to_gray and theirs.dim() == 4 and theirs.shape[1] == 3 and mine.shape[1] == 1 and theirs.shape[0] == mine.shape[0]:
            state[key] = theirs.float().sum(1, keepdim=True)
            notes.append(f"{key} summed over RGB")
        elif to_gray and theirs.shape[0] == 3 and mine.shape[0] == 1 and theirs.shape[1:] == mine.shape[1:]:
            state[key] = theirs.float().mean(0, keepdim=True)
            notes.append(f"{key} averaged over RGB")
        elif new_scale and key.startswith("reconstruct."):
            state[key] = mine
            notes.append(f"{key} starts fresh")
    if new_scale:
        for key in [k for k in state if k.startswith("reconstruct.") and k not in own]:
            del state[key]
        for key in [k for k in own if k.startswith("reconstruct.") and k not in state]:
            state[key] = own[key]
            notes.append(f"{key} starts fresh")
    return state, notes


def model_from_weights(path: str | Path, model_name: str | None = None, **overrides: Any) -> tuple[nn.Module, dict]:
    """Build the model a weights file describes (or ``model_name``) and load the weights into it.

    Returns (model in eval mode, metadata with JSON values decoded).
    """
    state, raw_meta = read_weights(path)
    meta = decoded_metadata(raw_meta)
    name = model_name or meta.get("model_name")
    if not name:
        raise WeightsError(f"{path} does not say which model it belongs to; pass --model NAME")
    # without_runtime_choices also serves files written before attn_impl was left out of them.
    config = without_runtime_choices(meta.get("model_config") or {}) if name == meta.get("model_name") else {}
    for key in RETIRED_MODEL_OPTIONS:
        config.pop(key, None)
    config.update(overrides)
    model = create_model(name, **config)
    load_state_dict_checked(model, state, str(path))
    return model.eval(), meta


def file_identity(path: str | Path) -> list:
    """Path, size and mtime of a weights file: other weights, other results (``semanir test`` keeps
    it with the results it may reuse)."""
    path = Path(path)
    stat = path.stat()
    return [str(path.resolve()), stat.st_size, stat.st_mtime_ns]


def _decode(value: str) -> Any:
    try:
        return json.loads(value)
    except (TypeError, ValueError):
        return value


def _few(items: list[str], limit: int = 3) -> str:
    more = f" (+{len(items) - limit} more)" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more
