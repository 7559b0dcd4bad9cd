"""``semanir restore``: image files in, restored image files out.

Inputs are files, folders (their images, not recursive) and glob patterns. Outputs keep each
input's bit depth and alpha plane, are written atomically, and never replace an input.
"""

from __future__ import annotations

import glob
import tempfile
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .data.io import IMAGE_EXTENSIONS, ImageError, ImageFile, list_images, quantize, read_image, to_float, write_image
from .errors import UsageError
from .inference import Fp32Fallback, check_tiling, model_geometry, pick_device, pick_dtype, restore_tensor, restore_views
from .tasks import get_task


def collect_inputs(specs: list[str]) -> list[Path]:
    """Expand files, folders and globs, in order, without duplicates."""
    found: list[Path] = []
    for spec in specs:
        path = Path(spec)
        if glob.has_magic(spec) or path.is_dir():
            found += list_images(spec)
        elif path.is_file():
            found.append(path)
        else:
            raise ImageError(f"{spec}: no such file, folder or matching pattern")
    unique = list(dict.fromkeys(p.resolve() for p in found))
    return [Path(p) for p in unique]


def plan_outputs(inputs: list[Path], out_dir: Path, fmt: str = "png") -> dict[Path, Path]:
    """Output path per input: ``<stem>.<fmt>``, never one path for two inputs.

    Inputs that would share a name are told apart deterministically: the same stem with other
    extensions gets ``<stem>_<ext>``; the same name in other folders gets its parent folders' names in
    front (``d1_a``, ``d2_a``), one more folder at a time until the names differ. Names are compared
    case-insensitively, as many disks store them. Raises UsageError, before anything is restored, for
    inputs that still cannot be told apart.
    """
    if fmt not in ("png", "tif"):
        raise UsageError(f"output format must be png or tif, got {fmt!r}")
    extensions: dict[str, set[str]] = {}
    for p in inputs:
        extensions.setdefault(p.stem.casefold(), set()).add(p.suffix.casefold())
    bases = {
        p: p.stem if len(extensions[p.stem.casefold()]) == 1 else f"{p.stem}_{p.suffix.lstrip('.').lower()}"
        for p in inputs
    }
    folders = dict.fromkeys(inputs, 0)  # parent folder names in front of each base name
    while True:
        names = {p: "_".join([*p.parent.parts[len(p.parent.parts) - folders[p] :], bases[p]]) for p in inputs}
        groups: dict[str, list[Path]] = {}
        for p in inputs:
            groups.setdefault(names[p].casefold(), []).append(p)
        clashes = [group for group in groups.values() if len(group) > 1]
        if not clashes:
            break
        for group in clashes:
            # parts[0] is the root ("/"): not a folder name to put in front.
            deeper = [p for p in group if folders[p] < len(p.parent.parts) - 1]
            if not deeper:
                a, b = group[:2]
                raise UsageError(
                    f"{a} and {b} would both be written as {out_dir / names[a]}.{fmt}; "
                    "restore them into separate output folders"
                )
            for p in deeper:
                folders[p] += 1
    plan = {}
    for p in inputs:
        out = (out_dir / f"{names[p]}.{fmt}").resolve()
        if out in inputs:
            raise UsageError(f"{out} would overwrite an input; choose another output folder")
        plan[p] = out
    return plan


def check_writable(out_dir: Path) -> None:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        # An anonymous file: concurrent checks of one folder cannot remove each other's probe,
        # and a killed check leaves nothing behind.
        with tempfile.TemporaryFile(dir=out_dir):
            pass
    except OSError as err:
        raise UsageError(f"cannot write to output folder {out_dir}: {err.strerror or err}") from None


@contextmanager
def output_folder(out_dir: Path):
    """Make ``out_dir`` and check it is writable; the folders this made are removed again if they are
    still empty when the block ends, so a run that wrote nothing (or failed) leaves nothing behind."""
    made = [folder for folder in [*reversed(out_dir.parents), out_dir] if not folder.exists()]
    try:
        check_writable(out_dir)
        yield out_dir
    finally:
        for folder in reversed(made):
            try:
                folder.rmdir()
            except OSError:  # not empty: something was written, or another run shares it
                break


@dataclass
class Restorer:
    """A model with its run settings; ``task`` (a task's name) adapts inputs (a 1-channel CFA for
    demosaicking).

    The model stays fp32; a ``dtype`` below fp32 runs it under autocast (``inference.run_model``).
    """

    model: nn.Module
    task: str | None = None
    tile: int | None = None
    overlap: int | None = None
    topk: int | None = None
    device: torch.device = torch.device("cpu")
    dtype: torch.dtype = torch.float32
    bayer_pattern: str = "RGGB"
    self_ensemble: bool = False
    gray: Restorer | None = None  # restores the gray inputs instead (see with_gray_model)
    keep_mild: bool = True  # return files the task would only make worse unchanged (restore_image)

    def __post_init__(self):
        self.model = self.model.to(self.device).eval()
        self.fallback = Fp32Fallback()  # one overflow warning per Restorer, however many files
        self._task = get_task(self.task) if self.task else None
        self.in_chans = self.model.in_chans
        geometry = model_geometry(self.model)
        self.scale = geometry.scale
        if self.tile:  # refuse a tiling that cannot work before any image is read
            check_tiling(self.tile, self.overlap, geometry.granule)

    def _prepare(self, pixels: np.ndarray, name: str) -> tuple[np.ndarray, bool]:
        """HWC input in the model's channel count; True when the result must go back to gray."""
        gray = pixels.ndim == 2
        if gray:
            pixels = pixels[..., None]
        if self.in_chans == 3 and gray:
            return np.repeat(pixels, 3, axis=2), True
        if self.in_chans == 1 and not gray:
            raise ImageError(f"{name}: this model restores 1-channel (gray) images, the input is RGB")
        return pixels, False

    def with_gray_model(self, model: nn.Module) -> Restorer:
        """This restorer, with ``model`` (1-channel, same task and scale, e.g. the ``denoise_gray``
        preset beside ``denoise``) restoring the gray inputs, which the RGB model would see as
        three equal channels."""
        self.gray = replace(self, model=model, gray=None)
        return self

    def restore_array(self, pixels: np.ndarray, name: str = "image", progress=None) -> np.ndarray:
        if self.gray is not None and pixels.ndim == 2:
            return self.gray.restore_array(pixels, name, progress)
        run = dict(tile=self.tile, overlap=self.overlap, topk=self.topk, device=self.device, dtype=self.dtype,
                   fallback=self.fallback)  # fmt: skip
        view = self._task and self._task.raw_views(pixels, self.bayer_pattern)
        if view:  # an input the model takes only once the task adapts it (a Bayer mosaic)
            out = restore_views(self.model, view, self.self_ensemble, progress, **run)
            return np.clip(out[0].numpy().transpose(1, 2, 0), 0.0, 1.0)
        hwc, back_to_gray = self._prepare(pixels, name)
        x = torch.from_numpy(np.ascontiguousarray(hwc.transpose(2, 0, 1))).unsqueeze(0)
        out = self._passes(x, progress, run)[0].numpy().transpose(1, 2, 0)
        if back_to_gray or out.shape[2] == 1:
            out = out.mean(axis=2)
        return np.clip(out, 0.0, 1.0)

    def _passes(self, x: torch.Tensor, progress, run: dict) -> torch.Tensor:
        """The model's result on ``x`` as the task restores (denoising runs clipped inputs twice),
        with ``progress`` counted over all passes."""
        passes, done = (self._task.passes(x) if self._task else 1), 0

        def one_pass(inp: torch.Tensor) -> torch.Tensor:
            nonlocal done
            step = progress and (lambda tile, tiles: progress(done * tiles + tile, passes * tiles))
            out = restore_tensor(self.model, inp, progress=step, self_ensemble=self.self_ensemble, **run)
            done += 1
            return out

        out = self._task.restore(one_pass, x, passes) if self._task else one_pass(x)
        if progress and done < passes:  # the task needed fewer passes than it might have
            progress(1, 1)
        return out

    def restore_with_alpha(self, pixels, alpha, name: str = "image", progress=None):
        """``restore_array`` with an alpha plane carried through untouched (resized for SR)."""
        out = self.restore_array(pixels, name, progress)
        if alpha is not None and self.scale != 1:
            import cv2

            h, w = out.shape[:2]
            alpha = np.clip(cv2.resize(alpha, (w, h), interpolation=cv2.INTER_CUBIC), 0, 1)
        return out, alpha

    def restore_image(self, image: ImageFile, name: str = "image", progress=None):
        """(pixels, alpha, note) of a decoded file: ``restore_with_alpha``'s, or, for a file the
        task would only make worse (a JPEG of quality 90 or more), the input unchanged and a note
        that says why; ``keep_mild=False`` restores every file."""
        reason = self.keep_mild and self._task and self._task.leave_as_is(image)
        if reason:
            return image.pixels, image.alpha, f"left as it is: {reason}"
        return *self.restore_with_alpha(image.pixels, image.alpha, name, progress), None

    def restore_file(self, src: Path, dst: Path, progress=None) -> Path:
        image = read_image(src)
        out, alpha, note = self.restore_image(image, src.name, progress)
        if note:
            warnings.warn(f"{src.name}: {note}", stacklevel=2)
        return write_image(dst, out, bit_depth=image.bit_depth, alpha=alpha)

    def restore(self, image):
        """Restore one image and return it in the form it came in.

        ``image``: a numpy array (HxW, or HxWxC with 1-4 channels, RGB(A) order; uint8, uint16 or
        float in [0, 1]), a PIL image, or a float tensor in [0, 1] of shape (C, H, W) or (B, C, H, W).
        An alpha channel is carried through; SR returns the upscaled size.
        """
        if isinstance(image, torch.Tensor):
            return self._restore_tensor_input(image)
        if type(image).__module__.startswith("PIL."):
            from PIL import Image

            mode = "RGBA" if image.mode in ("P", "PA", "CMYK", "YCbCr", "LAB", "HSV") else image.mode
            return Image.fromarray(self.restore(np.asarray(image.convert(mode))))
        if not isinstance(image, np.ndarray):
            raise UsageError(f"restore takes a numpy array, a PIL image or a torch tensor, got {type(image).__name__}")
        channels = 1 if image.ndim == 2 else image.shape[-1] if image.ndim == 3 else 0
        if channels not in (1, 2, 3, 4):
            raise UsageError(f"expected an HxW or HxWxC image with 1-4 channels, got shape {image.shape}")
        pixels = to_float(image)
        color = pixels if image.ndim == 2 else pixels[..., : 3 if channels >= 3 else 1]
        alpha = pixels[..., -1] if channels in (2, 4) else None
        out, alpha = self.restore_with_alpha(color[..., 0] if color.ndim == 3 and color.shape[2] == 1 else color, alpha)
        if image.ndim == 3 and out.ndim == 2:
            out = out[..., None]
        if alpha is not None:
            out = np.concatenate([out if out.ndim == 3 else out[..., None], alpha[..., None]], axis=2)
        if image.dtype in (np.uint8, np.uint16):
            return quantize(out, 8 if image.dtype == np.uint8 else 16)
        return out.astype(np.float32)

    def _restore_tensor_input(self, image: torch.Tensor) -> torch.Tensor:
        if image.dim() not in (3, 4) or not image.is_floating_point():
            raise UsageError(f"a tensor to restore is float (C, H, W) or (B, C, H, W) in [0, 1], got {image.dtype} {tuple(image.shape)}")
        batch = image if image.dim() == 4 else image[None]
        outs = [
            torch.from_numpy(np.ascontiguousarray(self.restore(x.detach().float().cpu().permute(1, 2, 0).numpy())))
            for x in batch
        ]  # fmt: skip
        out = torch.stack(outs).permute(0, 3, 1, 2).to(image.device, image.dtype)
        return out if image.dim() == 4 else out[0]


def check_task_scale(model: nn.Module, meta: dict, task: str, scale: int | None = None) -> None:
    """Refuse weights whose output size does not fit the task before any image is read: SR weights
    on a same-size task (or the reverse) would otherwise fail, or write, only after a whole image."""
    get_task(task).check_model_scale(model_geometry(model).scale, meta.get("model_name", "these weights"), scale)


def load_model(weights: str | Path, model: str | None = None, impl: str | None = None, k: int | None = None):
    """(model, metadata) from a weights file, with ``semanir restore``'s --model, --impl and --k."""
    from .weights import model_from_weights

    net, meta = model_from_weights(weights, model, **({"attn_impl": impl} if impl else {}))
    if k is not None:
        net.set_topk(k)
    return net, meta


def load(
    weights: str | Path | None = None,
    *,
    task: str | None = None,
    scale: int | None = None,
    model: str | None = None,
    device: str | torch.device = "auto",
    precision: str = "auto",
    k: int | None = None,
    impl: str | None = None,
    tile: int | None = None,
    overlap: int | None = None,
    self_ensemble: bool = False,
    bayer_pattern: str = "RGGB",
    keep_mild: bool = True,
) -> Restorer:
    """A shipped preset or a weights file, ready to ``.restore(image)``; the options are ``semanir
    restore``'s.

    ``weights``: a preset's name (``"denoise"``, ``"sr_x2"``; ``semanir.list_presets()``) or a file.
    Without it, ``task`` and ``scale`` pick the preset (``load(task="sr", scale=2)``; default
    ``denoise``). With it, ``task`` runs the weights as that task (default: the one stored with
    them), refused before any image if their scale does not fit. An RGB preset with a gray twin
    (``jpeg`` and ``jpeg_gray``) restores gray images with the twin. ``keep_mild=False``
    restores even the files a task leaves as they are (JPEGs of quality 90 or more).
    """
    from .pretrained import DEFAULT_PRESET, find_preset, get_preset, gray_twin, resolve_weights, task_of

    task = task or ("sr" if scale else None)  # a scale alone asks for super-resolution
    if weights is None:
        preset = find_preset(task or DEFAULT_PRESET, None, scale)
    else:
        path = resolve_weights(weights)
        preset = get_preset(str(weights)) if path != Path(weights) else None
    net, meta = load_model(preset.path if preset else path, model, impl, k)
    run_task = task_of(task) if task else meta.get("task")
    if task:
        check_task_scale(net, meta, run_task, scale)
    dev = pick_device(str(device))
    restorer = Restorer(net, run_task, tile, overlap, None, dev, pick_dtype(dev, precision), bayer_pattern, self_ensemble,
                        keep_mild=keep_mild)  # fmt: skip
    # A preset's gray twin, unless ``model`` names one architecture for the weights.
    twin = gray_twin(preset) if preset and model is None else None
    return restorer.with_gray_model(load_model(twin.path, model, impl, k)[0]) if twin else restorer


__all__ = ["IMAGE_EXTENSIONS", "Restorer", "check_task_scale", "load", "load_model", "check_writable", "collect_inputs", "output_folder", "plan_outputs"]
