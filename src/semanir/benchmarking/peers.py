"""``semanir bench peers``: SemanIR against the models of the paper's Table 3, in one process and
one run, with the architecture implementations of spandrel (SwinIR, HAT) and spandrel-extra-arches
(Restormer), built at the paper's published configurations with random weights.

GRL-B is left out: spandrel only builds GRL from a checkpoint's state dict (window and stripe sizes
"cannot be deduced"), and Table 3 lists GRL only for denoising at a different setting.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from .. import create_model
from .measure import peak_memory_bytes, precision
from .model import ModelFigures, input_for, paper_size, profile
from .torchvision_standin import install as install_torchvision_standin


@dataclass(frozen=True)
class Peer:
    name: str
    task: str  # "sr" (x4, 128x128 LR in Table 3) or "denoise" (256x256)
    build: Callable[[], nn.Module]
    paper_params_m: float
    paper_gmacs: float
    paper_ms: float  # Table 3's runtime (Urban100, the authors' GPU): for reference only


def _spandrel(module: str, cls: str, **kwargs) -> Callable[[], nn.Module]:
    def build() -> nn.Module:
        return getattr(importlib.import_module(module), cls)(**kwargs)

    return build


_SR_COMMON = dict(
    upscale=4, in_chans=3, img_size=64, img_range=1.0, depths=[6] * 6, embed_dim=180, num_heads=[6] * 6,
    mlp_ratio=2, upsampler="pixelshuffle", resi_connection="1conv",
)  # fmt: skip

# Table 3 of the paper (x4 SR on Urban100; denoising sigma=50).
PEERS = (
    Peer("SwinIR x4", "sr", _spandrel("spandrel.architectures.SwinIR", "SwinIR", window_size=8, **_SR_COMMON),
         11.90, 215.32, 152.24),
    Peer("HAT x4", "sr", _spandrel("spandrel.architectures.HAT", "HAT", window_size=16, compress_ratio=3,
         squeeze_factor=30, conv_scale=0.01, overlap_ratio=0.5, **_SR_COMMON), 20.77, 416.90, 368.61),
    Peer("SemanIR-S x4", "sr", lambda: create_model("semanir_s_sr_x4"), 12.02, 290.20, 211.94),
    Peer("Restormer", "denoise", _spandrel("spandrel_extra_arches.architectures.Restormer", "Restormer"),
         26.10, 154.88, 210.44),
    Peer("SemanIR U-shape", "denoise", lambda: create_model("semanir_unet_color"), 25.85, 135.26, 240.05),
)  # fmt: skip


def check_extra() -> None:
    """Fail in one line when the optional bench extra is missing."""
    install_torchvision_standin()
    for package in ("spandrel", "spandrel_extra_arches"):
        if importlib.util.find_spec(package) is None:
            raise ImportError(
                f"'semanir bench peers' needs {package!r}: pip install --no-deps spandrel spandrel-extra-arches "
                "(their other requirements, einops and safetensors, come with semanir[bench])"
            )


def run(
    device: torch.device, repeats: int, sizes: dict[str, tuple[int, int]] | None = None, precision_name: str = "fp32"
) -> list[tuple[Peer, ModelFigures]]:
    """Profile every peer; MACs at the paper's input size, latency at ``sizes[task]`` (default: the same),
    every model in the same ``precision_name`` (see ``measure.precision``)."""
    check_extra()
    results, models = [], []
    for peer in PEERS:  # every timing first (see attention.run), memory afterwards
        torch.manual_seed(0)
        model = peer.build()
        size = paper_size(peer.task)
        latency_size = (sizes or {}).get(peer.task, size)
        with precision(device, precision_name):
            figures = profile(peer.name, model, 3, size, latency_size, device, repeats, measure_memory=False)
        results.append((peer, figures))
        models.append(model)
    for (peer, figures), model in zip(results, models):
        x = input_for(figures, 3, device)

        def forward(model=model, x=x):
            with torch.no_grad(), precision(device, precision_name):
                return model(x)

        peak = peak_memory_bytes(forward, device)
        figures.peak_mb = None if peak is None else peak / 2**20
    return results


def as_table(results: list[tuple[Peer, ModelFigures]]) -> tuple[list[str], list[list[str]]]:
    headers = ["task", "model", "params M", "paper M", "GMACs", "paper G", "latency ms", "vs SemanIR", "peak MiB",
               "paper ms", "attention"]  # fmt: skip
    ours = {p.task: f.latency_ms for p, f in results if p.name.startswith("SemanIR")}
    rows = []
    for peer, fig in results:
        size = "x".join(map(str, fig.latency_size))
        rows.append([
            f"{peer.task} @{size}", peer.name, f"{fig.params / 1e6:.2f}", f"{peer.paper_params_m:.2f}",
            f"{fig.gmacs:.1f}", f"{peer.paper_gmacs:.1f}", f"{fig.latency_ms:.0f}",
            f"{fig.latency_ms / ours[peer.task]:.2f}x" if peer.task in ours else "-",
            "-" if fig.peak_mb is None else f"{fig.peak_mb:.0f}", f"{peer.paper_ms:.0f}", fig.attention or "-",
        ])  # fmt: skip
    return headers, rows
