"""Optimizer, learning-rate schedule, EMA of the weights and mixed precision of a training run."""

from __future__ import annotations

import torch

from ..registry import create_model
from ..config import ConfigError


def learning_rate(cfg_train: dict, iteration: int) -> float:
    """Base lr, halved (``gamma``) at each milestone passed, with an optional linear warm-up."""
    base = cfg_train["optimizer"]["lr"]
    lr = base * cfg_train["gamma"] ** sum(iteration >= m for m in cfg_train["milestones"])
    warm = cfg_train["warmup_iterations"]
    return lr * min(1.0, (iteration + 1) / warm) if warm else lr


class EMA:
    """Exponential moving average of the weights (kept in fp32 beside the model)."""

    def __init__(self, model: torch.nn.Module, decay: float):
        self.decay = decay
        self.model = create_model(model.model_name, **model.config).to(next(model.parameters()).device)
        self.model.load_state_dict(model.state_dict())
        self.model.requires_grad_(False).eval()

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        for e, p in zip(self.model.parameters(), model.parameters()):
            e.lerp_(p.detach(), 1.0 - self.decay)


def build_optimizer(params, cfg_opt: dict) -> torch.optim.Optimizer:
    kind = cfg_opt["type"].lower()
    kwargs = dict(lr=cfg_opt["lr"], betas=tuple(cfg_opt["betas"]), weight_decay=cfg_opt["weight_decay"])
    if kind == "adamw":
        return torch.optim.AdamW(params, **kwargs)
    if kind == "adam":
        return torch.optim.Adam(params, **kwargs)
    raise ConfigError(f"unknown optimizer {cfg_opt['type']!r}; choose adamw or adam")


def amp_dtype(setting: str, device: torch.device) -> torch.dtype | None:
    if device.type != "cuda" or setting == "off":
        return None
    if setting == "auto":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return {"bf16": torch.bfloat16, "fp16": torch.float16}[setting]
