"""Models by name, like timm: ``create_model(name, **overrides)`` and ``list_models()``."""

from __future__ import annotations

import difflib
import fnmatch
import inspect
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from .errors import UsageError, checked_like


@dataclass(frozen=True)
class ModelEntry:
    name: str
    cls: type[nn.Module]
    defaults: dict[str, Any]
    description: str
    paper_params_m: float | None = None
    tags: tuple[str, ...] = field(default_factory=tuple)


class UnknownOption(UsageError, TypeError):
    """An option the model does not have (a TypeError, as an unexpected keyword argument is)."""


_REGISTRY: dict[str, ModelEntry] = {}


def register_model(name: str, cls: type[nn.Module], description: str, paper_params_m=None, tags=(), **defaults):
    if name in _REGISTRY:
        raise ValueError(f"model {name!r} is already registered")
    _REGISTRY[name] = ModelEntry(name, cls, dict(defaults), description, paper_params_m, tuple(tags))


def list_models(pattern: str = "*") -> list[str]:
    return sorted(n for n in _REGISTRY if fnmatch.fnmatch(n, pattern))


def model_entry(name: str) -> ModelEntry:
    if name not in _REGISTRY:
        close = difflib.get_close_matches(name, _REGISTRY, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else f"; known models: {', '.join(list_models())}"
        raise UsageError(f"unknown model {name!r}{hint}")
    return _REGISTRY[name]


def model_options(name: str) -> list[str]:
    return [p for p in inspect.signature(model_entry(name).cls).parameters]


def create_model(name: str, **overrides: Any) -> nn.Module:
    """Build a registered model; ``overrides`` replace any constructor argument (sizes, attn_impl, topk...)."""
    entry = model_entry(name)
    options = model_options(name)
    unknown = sorted(set(overrides) - set(options))
    if unknown:
        raise UnknownOption(f"{name} has no option {', '.join(map(repr, unknown))}; options: {', '.join(options)}")
    # Options come from configs and the command line: refuse a wrong type by its name.
    signature = inspect.signature(entry.cls).parameters
    defaults = {**{n: p.default for n, p in signature.items()}, **entry.defaults}
    overrides = {k: v if v is None else checked_like(f"{name} option {k}", v, defaults[k]) for k, v in overrides.items()}
    model = entry.cls(**{**entry.defaults, **overrides})
    model.model_name = name
    return model
