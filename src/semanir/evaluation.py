"""Scoring a model on a benchmark folder under a task protocol, as the paper's tables do."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from .data.protocols import Protocol
from .inference import Fp32Fallback, restore_tensor, restore_views
from .tasks import get_task


@dataclass
class EvaluationResult:
    protocol: str
    rows: list[dict] = field(default_factory=list)  # name, psnr, ssim per image

    @property
    def mean(self) -> dict[str, float]:
        if not self.rows:
            return {"psnr": float("nan"), "ssim": float("nan")}
        return {key: float(np.mean([r[key] for r in self.rows])) for key in ("psnr", "ssim")}

    def to_json(self) -> dict:
        return {"protocol": self.protocol, "images": self.rows, "mean": self.mean}

    def table(self, title: str = "") -> str:
        width = max([len(r["name"]) for r in self.rows] + [5])
        lines = [title] if title else []
        lines.append(f"{'image':<{width}}  {'PSNR':>8}  {'SSIM':>7}")
        lines += [f"{r['name']:<{width}}  {r['psnr']:>8.2f}  {r['ssim']:>7.4f}" for r in self.rows]
        mean = self.mean
        lines.append(f"{'mean':<{width}}  {mean['psnr']:>8.2f}  {mean['ssim']:>7.4f}")
        return "\n".join(lines)


class ResultsFile:
    """The ``--json`` file of ``semanir test``, rewritten atomically after every image and marked
    complete or not, so that an interrupted run keeps what it measured and running the same command
    again goes on from there. ``settings`` (JSON values) must match for earlier rows to be reused."""

    def __init__(self, path: str | Path, header: dict, settings: dict):
        self.path, self.header = Path(path), header
        self.settings = json.loads(json.dumps(settings))  # as it reads back: lists, not tuples

    def measured(self) -> tuple[dict[str, dict], str | None]:
        """Earlier rows by image name, and why an existing file is not reused (None if it is)."""
        if not self.path.is_file():
            return {}, None
        try:
            old = json.loads(self.path.read_text())
            rows = {r["name"]: r for r in old["images"]} if old.get("settings") == self.settings else None
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return {}, f"{self.path} is not a results file of semanir test; measuring every image"
        if rows is None:
            return {}, f"{self.path} holds results measured with other settings; measuring every image"
        return rows, None

    def write(self, result: EvaluationResult, total: int) -> None:
        from .fileio import atomic_write

        done = len(result.rows)
        payload = {**self.header, **result.to_json(), "complete": done == total, "measured": done, "total": total,
                   "settings": self.settings}  # fmt: skip
        text = json.dumps(payload, indent=2) + "\n"
        atomic_write(self.path, lambda f: f.write(text.encode()))


def to_hwc(t: torch.Tensor) -> np.ndarray:
    return t.detach().float().cpu().numpy().transpose(1, 2, 0)


def evaluate(
    restore: Callable[[torch.Tensor], torch.Tensor],
    dataset,
    protocol: Protocol,
    limit: int | None = None,
    save_dir: str | Path | None = None,
    on_image: Callable[[dict], None] | None = None,
    quantize_output: bool = True,
    measured: dict[str, dict] | None = None,
) -> EvaluationResult:
    """``restore`` maps a (1, C, h, w) input in [0, 1] to the restored (1, C, H, W) image.

    Outputs are rounded to 8 bits before scoring, as saved results are; ``quantize_output=False``
    scores the raw floats (the degraded-input baseline: unclipped noise gives 20 log10(255/sigma)).
    ``measured``: rows of an earlier run by image name, taken as they are instead of restoring again.
    ``save_dir`` gets each restored image as ``NAME.png`` and, in ``compare/NAME.png``, a side-by-side
    crop of the degraded input, the restored image and the ground truth with their PSNRs.
    """
    from .data.io import write_image

    result = EvaluationResult(protocol.name)
    count = len(dataset) if limit is None else min(limit, len(dataset))
    for i in range(count):
        inp, target, name = dataset[i]
        if measured and name in measured:
            row = measured[name]
        else:
            out = restore(inp.unsqueeze(0))[0]
            row = {"name": name, **protocol.evaluate(to_hwc(out), to_hwc(target), quantize_output)}
            if save_dir is not None:
                write_image(Path(save_dir) / f"{name}.png", np.clip(to_hwc(out), 0, 1))
                # A folder of its own: scripts that score every PNG of save_dir see only the results.
                picture = _comparison(inp, out, target, protocol, row["psnr"])
                write_image(Path(save_dir) / "compare" / f"{name}.png", picture)
        result.rows.append(row)
        if on_image:
            on_image(row)
    return result


def _comparison(inp: torch.Tensor, out: torch.Tensor, target: torch.Tensor, protocol: Protocol, psnr: float):
    from .pictures import comparison

    degraded = np.clip(to_hwc(identity_restorer(protocol)(inp.unsqueeze(0))[0]), 0, 1)  # SR: bicubic
    clean = to_hwc(target)
    return comparison(degraded, np.clip(to_hwc(out), 0, 1), clean, protocol.psnr(degraded, clean), psnr)


def benchmark_dataset(data: str | Path, set_name: str | None, protocol: Protocol, seed: int = 0):
    """The images ``semanir test`` scores: the benchmark ``set_name`` under the root ``data``, or the
    folder ``data`` itself (paired protocols: its ``input/`` and ``target/`` folders)."""
    from .data.benchmarks import get_benchmark
    from .data.datasets import PairedFolderDataset, TestDataset

    if set_name:
        bench = get_benchmark(set_name)
        if bench.paired:
            return PairedFolderDataset(bench.pairs(data))
        return TestDataset(bench.images(data), protocol, base_seed=seed)
    data = Path(data)
    if protocol.paired:
        return PairedFolderDataset.from_folders(data / "input", data / "target")
    return TestDataset(data, protocol, base_seed=seed)


def model_restorer(
    model: nn.Module, device, dtype=torch.float32, tile=None, overlap=None, topk=None, self_ensemble=False, task=None
):
    """``restore`` for :func:`evaluate`; the model stays fp32, a lower ``dtype`` runs under autocast.
    ``task`` (a name) restores as the task does (denoising runs clipped inputs twice) and may have
    its own self-ensemble views (demosaicking turns the mosaic)."""
    model = model.to(device).eval()
    run = dict(tile=tile, overlap=overlap, topk=topk, device=device, dtype=dtype, fallback=Fp32Fallback())
    spec = get_task(task) if task else None

    def one_pass(x: torch.Tensor) -> torch.Tensor:
        view = spec.ensemble_views(to_hwc(x[0])) if spec and self_ensemble else None
        if view is None:
            return restore_tensor(model, x, self_ensemble=self_ensemble, **run)
        return restore_views(model, view, self_ensemble=True, **run)

    return (lambda x: spec.restore(one_pass, x)) if spec else one_pass


def identity_restorer(protocol: Protocol):
    """The degraded input itself (bicubic-upscaled for SR): the baseline row of every table."""
    from .data.datasets import to_chw

    def baseline(x: torch.Tensor) -> torch.Tensor:
        out = protocol.spec.baseline(protocol, to_hwc(x[0]))
        return to_chw(out).unsqueeze(0)

    return baseline
