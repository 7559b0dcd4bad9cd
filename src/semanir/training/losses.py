"""The losses of App. A.4: L1, Charbonnier (deblurring), smooth L1 + VGG perceptual (weather),
plus MSE, the loss PSNR measures, for fine-tuning a trained model towards that metric."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..config import ConfigError


class CharbonnierLoss(nn.Module):
    """mean(sqrt((x - y)^2 + eps^2)), Restormer's deblurring loss."""

    def __init__(self, eps: float = 1e-3):
        super().__init__()
        self.eps = eps

    def forward(self, pred, target):
        return torch.sqrt((pred - target) ** 2 + self.eps**2).mean()


# torchvision's VGG16 `features` up to relu3_3, the layers TransWeather's perceptual loss reads.
_VGG16_LAYOUT = [64, 64, "M", 128, 128, "M", 256, 256, 256]
_VGG_TAPS = (3, 8, 15)  # relu1_2, relu2_2, relu3_3 in torchvision's numbering
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


def vgg16_features() -> nn.Sequential:
    layers: list[nn.Module] = []
    chans = 3
    for item in _VGG16_LAYOUT:
        if item == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(chans, item, 3, padding=1), nn.ReLU(inplace=False)]
            chans = item
    return nn.Sequential(*layers)


class PerceptualLoss(nn.Module):
    """MSE between VGG16 feature maps; the ImageNet weights come from a file the user provides
    (torchvision's ``vgg16-397923af.pth``), since nothing is downloaded at run time."""

    def __init__(self, weights_path: str | Path | None):
        super().__init__()
        from ..weights import read_weights

        if not weights_path:
            raise ConfigError(
                "the perceptual loss needs VGG16 ImageNet weights: set train.perceptual_weights "
                "to torchvision's vgg16-397923af.pth"
            )
        state, _ = read_weights(weights_path)
        features = {k.removeprefix("features."): v for k, v in state.items() if k.startswith("features.")}
        self.features = vgg16_features()
        own = self.features.state_dict()
        try:
            self.features.load_state_dict({k: features[k] for k in own})
        except KeyError as err:
            raise ConfigError(f"{weights_path}: not a torchvision VGG16 state dict (no {err.args[0]})") from None
        self.features.requires_grad_(False).eval()
        self.register_buffer("mean", torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def _taps(self, x):
        x = (x - self.mean) / self.std
        out = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in _VGG_TAPS:
                out.append(x)
        return out

    def forward(self, pred, target):
        return sum(F.mse_loss(a, b) for a, b in zip(self._taps(pred), self._taps(target))) / len(_VGG_TAPS)


class SmoothL1Perceptual(nn.Module):
    def __init__(self, weights_path, perceptual_weight: float):
        super().__init__()
        self.perceptual = PerceptualLoss(weights_path)
        self.weight = perceptual_weight

    def forward(self, pred, target):
        return F.smooth_l1_loss(pred, target) + self.weight * self.perceptual(pred, target)


def build_loss(train_cfg: dict) -> nn.Module:
    name = train_cfg["loss"]
    if name == "l1":
        return nn.L1Loss()
    if name == "charbonnier":
        return CharbonnierLoss()
    if name == "mse":
        return nn.MSELoss()
    if name == "smooth_l1+perceptual":
        return SmoothL1Perceptual(train_cfg["perceptual_weights"], train_cfg["perceptual_weight"])
    raise ConfigError(f"unknown loss {name!r}; choose l1, charbonnier, mse or smooth_l1+perceptual")
