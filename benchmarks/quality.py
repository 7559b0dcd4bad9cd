"""Quality of the shipped weights against the degraded input and classic baselines, in one run.

    python benchmarks/quality.py --data ../shared/data/benchmarks [--tasks denoise,jpeg] [--sets CBSD68] [--levels 25] [--limit N]
    python benchmarks/quality.py --data ../shared/data/benchmarks --weights runs/x/weights/final.safetensors  # a candidate

For every shipped preset, on the benchmark sets of its task (App. A.5 protocols, via
``semanir.evaluation``), prints PSNR / SSIM of: the degraded input itself; the classic method
run here (OpenCV non-local means and (C)BM3D for denoising, Malvar and OpenCV VNG for demosaicking,
bicubic for SR); our model; and, for reference only, figures printed in the paper or the
literature (full size, trained on DIV2K-scale data, so not what our small weights, trained mostly
on a CPU, aim at).
CBM3D comes from the ``bm3d`` package (non-commercial licence): ``pip install bm3d``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from semanir.data.benchmarks import get_benchmark
from semanir.data.datasets import TestDataset, to_chw
from semanir.data.degradations import bayer_mosaic
from semanir.data.io import ImageError, quantize
from semanir.data.protocols import get_protocol
from semanir.evaluation import evaluate, identity_restorer, model_restorer, to_hwc
from semanir.pretrained import list_presets, preset_path
from semanir.tasks.demosaic import DEMOSAIC_PATTERN
from semanir.weights import model_from_weights, total_iterations

# (task, channels) -> [(set, levels)]; an SR preset is measured at its own scale.
SETS = {
    ("denoise", 3): [("CBSD68", (15, 25, 50)), ("Kodak24_500crop", (15, 25, 50)), ("McMaster", (15, 25, 50))],
    ("denoise", 1): [("Set12", (15, 25, 50)), ("BSD68", (15, 25, 50))],
    ("jpeg", 3): [("LIVE1", (10, 20, 30, 40))],
    ("jpeg", 1): [("classic5", (10, 20, 30, 40)), ("LIVE1", (10, 20, 30, 40))],
    ("sr", 3): [("Set5", (2, 3, 4)), ("Set14", (2, 3, 4))],
    ("demosaic", 3): [("McMaster", (None,)), ("Kodak24_500crop", (None,))],
}

# Printed figures, for reference. Paper = SemanIR's own tables (the dagger one-model-for-all-levels
# rows for blind denoising and JPEG, with the other one-model-for-all-QF methods of Table 4 and
# its JPEG row, which checks our JPEG protocol); CBM3D from the DnCNN/FFDNet papers' tables; for
# x4 SR, bicubic (checks our protocol), SRCNN (57K parameters) and SwinIR-light (0.9M, the light
# model closest in size to our preset) as the SwinIR paper's Table 3 prints them.
REFERENCE = {
    ("CBSD68", "denoise", 15): {"CBM3D (literature)": 33.52, "SemanIR (paper, Table 7 †)": 34.42},
    ("CBSD68", "denoise", 25): {"CBM3D (literature)": 30.71, "SemanIR (paper, Table 7 †)": 31.78},
    ("CBSD68", "denoise", 50): {"CBM3D (literature)": 27.38, "SemanIR (paper, Table 7 †)": 28.57},
    ("McMaster", "denoise", 15): {"CBM3D (literature)": 34.06, "SemanIR (paper, Table 7 †)": 35.65},
    ("McMaster", "denoise", 25): {"CBM3D (literature)": 31.66, "SemanIR (paper, Table 7 †)": 33.40},
    ("McMaster", "denoise", 50): {"CBM3D (literature)": 28.51, "SemanIR (paper, Table 7 †)": 30.34},
    ("LIVE1", "jpeg", 10): {"JPEG input (paper, Table 4)": 25.69, "QGAC (Table 4 †)": 27.62, "FBCNN (Table 4 †)": 27.77,
                           "DRUNet (Table 4 †)": 27.47, "SemanIR (paper, Table 4 †)": 28.19},
    ("LIVE1", "jpeg", 20): {"JPEG input (paper, Table 4)": 28.06, "QGAC (Table 4 †)": 29.88, "FBCNN (Table 4 †)": 30.11,
                           "DRUNet (Table 4 †)": 30.29, "SemanIR (paper, Table 4 †)": 30.53},
    ("LIVE1", "jpeg", 30): {"JPEG input (paper, Table 4)": 29.37, "QGAC (Table 4 †)": 31.17, "FBCNN (Table 4 †)": 31.43,
                           "DRUNet (Table 4 †)": 31.64, "SemanIR (paper, Table 4 †)": 31.89},
    ("LIVE1", "jpeg", 40): {"JPEG input (paper, Table 4)": 30.28, "QGAC (Table 4 †)": 32.05, "FBCNN (Table 4 †)": 32.34,
                           "DRUNet (Table 4 †)": 32.56, "SemanIR (paper, Table 4 †)": 32.81},
    # Gray JPEG (the paper tables color only; Fig. 3d plots gray): (set, task, level, 1 channel).
    ("classic5", "jpeg", 10, 1): {"JPEG input (literature)": 27.82, "DnCNN-3 (literature)": 29.40, "SwinIR (literature)": 30.27},
    ("classic5", "jpeg", 20, 1): {"JPEG input (literature)": 30.12, "DnCNN-3 (literature)": 31.63, "SwinIR (literature)": 32.52},
    ("classic5", "jpeg", 30, 1): {"JPEG input (literature)": 31.48, "DnCNN-3 (literature)": 32.91, "SwinIR (literature)": 33.73},
    ("classic5", "jpeg", 40, 1): {"JPEG input (literature)": 32.43, "DnCNN-3 (literature)": 33.77, "SwinIR (literature)": 34.52},
    ("LIVE1", "jpeg", 10, 1): {"JPEG input (literature)": 27.77, "DnCNN-3 (literature)": 29.19, "SwinIR (literature)": 29.86},
    ("LIVE1", "jpeg", 20, 1): {"JPEG input (literature)": 30.07, "DnCNN-3 (literature)": 31.59, "SwinIR (literature)": 32.25},
    ("LIVE1", "jpeg", 30, 1): {"JPEG input (literature)": 31.41, "DnCNN-3 (literature)": 32.98, "SwinIR (literature)": 33.69},
    ("LIVE1", "jpeg", 40, 1): {"JPEG input (literature)": 32.35, "DnCNN-3 (literature)": 33.96, "SwinIR (literature)": 34.67},
    ("Set12", "denoise", 15): {"BM3D (literature)": 32.37, "SemanIR (paper, Table 7 †)": 33.47},
    ("Set12", "denoise", 25): {"BM3D (literature)": 29.97, "SemanIR (paper, Table 7 †)": 31.16},
    ("Set12", "denoise", 50): {"BM3D (literature)": 26.72, "SemanIR (paper, Table 7 †)": 28.12},
    ("BSD68", "denoise", 15): {"BM3D (literature)": 31.07, "SemanIR (paper, Table 7 †)": 31.95},
    ("BSD68", "denoise", 25): {"BM3D (literature)": 28.57, "SemanIR (paper, Table 7 †)": 29.49},
    ("BSD68", "denoise", 50): {"BM3D (literature)": 25.62, "SemanIR (paper, Table 7 †)": 26.54},
    ("Set5", "sr", 2): {"bicubic (literature)": 33.66, "SwinIR-light (literature)": 38.14, "SemanIR-S (paper, Table 10)": 38.57},
    ("Set14", "sr", 2): {"bicubic (literature)": 30.24, "SwinIR-light (literature)": 33.86, "SemanIR-S (paper, Table 10)": 34.99},
    ("Set5", "sr", 3): {"bicubic (literature)": 30.39, "SwinIR-light (literature)": 34.62},
    ("Set14", "sr", 3): {"bicubic (literature)": 27.55, "SwinIR-light (literature)": 30.54},
    ("Set5", "sr", 4): {"bicubic (literature)": 28.42, "SRCNN (literature)": 30.48, "SwinIR-light (literature)": 32.44,
                        "SemanIR-S (paper, Table 10)": 33.02},
    ("Set14", "sr", 4): {"bicubic (literature)": 26.00, "SRCNN (literature)": 27.49, "SwinIR-light (literature)": 28.77,
                         "SemanIR-S (paper, Table 10)": 29.29},
    ("McMaster", "demosaic", None): {"Matlab (paper, Table 9)": 34.43, "MMNet (Table 9)": 37.09,
                                    "DeepJoint (Table 9)": 39.14, "SemanIR (paper, Table 9)": 40.68},
}

BASELINE_NAME = {"denoise": "noisy input", "jpeg": "JPEG input", "sr": "bicubic", "demosaic": "Malvar (MATLAB demosaic)"}
# OpenCV NLM strength h = this * sigma (0-255 scale): tuned on 4 training photos (not test sets);
# of 0.6/0.8/1.0/1.2, 1.0 was best at sigma 15 and 25 and within 0.03 dB of the best at 50.
NLM_H_PER_SIGMA = 1.0


def u8_to_batch(img: np.ndarray) -> torch.Tensor:
    """An 8-bit HxWx3 result of an OpenCV method -> the 1x3xHxW [0, 1] tensor `evaluate` expects."""
    return to_chw(img / np.float32(255)).unsqueeze(0)


def nlm_restorer(sigma: float):
    import cv2

    h = NLM_H_PER_SIGMA * sigma

    def run(x: torch.Tensor) -> torch.Tensor:
        u8 = quantize(to_hwc(x[0]))
        if u8.shape[2] == 1:
            return u8_to_batch(cv2.fastNlMeansDenoising(np.ascontiguousarray(u8[..., 0]), None, h, 7, 21)[..., None])
        out = cv2.fastNlMeansDenoisingColored(np.ascontiguousarray(u8[..., ::-1]), None, h, h, 7, 21)[..., ::-1]
        return u8_to_batch(out)

    return run


def cbm3d_restorer(sigma: float):
    """CBM3D on RGB, BM3D on a gray image (the ``bm3d`` package)."""
    import bm3d

    def run(x: torch.Tensor) -> torch.Tensor:
        noisy = to_hwc(x[0]).astype(np.float64)
        out = bm3d.bm3d_rgb(noisy, sigma / 255.0) if noisy.shape[2] == 3 else bm3d.bm3d(noisy[..., 0], sigma / 255.0)
        return to_chw(np.atleast_3d(out).astype(np.float32)).unsqueeze(0)

    return run


def vng_demosaic_restorer():
    """OpenCV's variable-number-of-gradients demosaic, from the CFA under the protocol's input.

    MATLAB's demosaic keeps every measured sample, so re-mosaicking its output gives back the CFA
    exactly. OpenCV names Bayer layouts by the second row, so an RGGB sensor is its "BayerBG".
    """
    import cv2

    code = {"RGGB": cv2.COLOR_BayerBG2RGB_VNG}[DEMOSAIC_PATTERN]

    def run(x: torch.Tensor) -> torch.Tensor:
        cfa = quantize(bayer_mosaic(to_hwc(x[0]), DEMOSAIC_PATTERN))
        out = cv2.cvtColor(cfa, code)
        return u8_to_batch(out)

    return run


def classic_methods(task: str, level, use_bm3d: bool):
    methods = {}
    if task == "demosaic":
        methods["OpenCV VNG demosaic"] = vng_demosaic_restorer()
    if task == "denoise":
        methods[f"OpenCV NLM (h={NLM_H_PER_SIGMA:g} sigma)"] = nlm_restorer(level)
        if use_bm3d:
            try:
                import bm3d  # noqa: F401

                methods["(C)BM3D (bm3d package, this run)"] = cbm3d_restorer(level)
            except ImportError:
                print("note: bm3d is not installed (pip install bm3d); CBM3D skipped", file=sys.stderr)
    return methods


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="folder holding the benchmark sets")
    ap.add_argument("--tasks", default="denoise,jpeg,sr,demosaic")
    ap.add_argument("--limit", type=int, help="first N images of each set")
    ap.add_argument("--sets", help="only these sets, comma-separated (default: all of the task's)")
    ap.add_argument("--levels", help="only these levels, comma-separated (e.g. 25)")
    ap.add_argument("--no-bm3d", action="store_true", help="skip CBM3D (slow: ~10 s per image)")
    ap.add_argument("--bm3d-levels", default="25", help="noise levels at which to run CBM3D (default 25)")
    ap.add_argument("--json", help="write all results to this file")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--weights", action="append", help="measure this weights file instead of the shipped presets (repeatable)")
    ap.add_argument("--self-ensemble", action="store_true", help="add a row for the x8 self-ensemble (8x the time)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    wanted = set(args.tasks.split(","))
    bm3d_levels = {int(v) for v in args.bm3d_levels.split(",")}
    only_sets = set(args.sets.split(",")) if args.sets else None
    only_levels = {int(v) for v in args.levels.split(",")} if args.levels else None
    results = []
    sources = [(Path(w).parent.parent.name or w, Path(w)) for w in args.weights] if args.weights else [
        (preset, preset_path(preset)) for preset in list_presets()]  # fmt: skip
    for preset, path in sources:
        model, meta = model_from_weights(path)
        task, channels, scale = meta.get("task"), model.in_chans, model.geometry().scale
        if task not in wanted or (task, channels) not in SETS:
            continue
        training = meta.get("training", {})
        params = sum(p.numel() for p in model.parameters())
        print(f"\n## preset {preset}: {meta['model_name']}, {params / 1e6:.2f}M parameters, k={model.topk}, "
              f"{total_iterations(training)} iterations in all")  # fmt: skip
        ours = model_restorer(model, torch.device("cpu"))
        ours_x8 = None
        if args.self_ensemble:
            ours_x8 = model_restorer(model, torch.device("cpu"), self_ensemble=True, task=task)
        print("\n| set | level | method | PSNR | SSIM | seconds |\n|---|---|---|---|---|---|")
        for set_name, levels in SETS[(task, channels)]:
            if only_sets and set_name not in only_sets:
                continue
            levels = [lv for lv in levels if (not only_levels or lv in only_levels) and get_protocol(task, lv, channels).scale == scale]
            try:
                images = get_benchmark(set_name).images(args.data)
            except ImageError as err:
                print(f"| {set_name} | | skipped: {err} | | | |")
                continue
            for level in levels:
                protocol = get_protocol(task, level, channels)
                dataset = TestDataset(images, protocol)
                methods = {f"{BASELINE_NAME[task]}": (identity_restorer(protocol), False)}
                for name, fn in classic_methods(task, level, not args.no_bm3d and level in bm3d_levels).items():
                    methods[name] = (fn, True)
                methods[f"ours ({preset})"] = (ours, True)
                if ours_x8 is not None:
                    methods[f"ours ({preset}), x8 self-ensemble"] = (ours_x8, True)
                for name, (fn, quantized) in methods.items():
                    start = time.perf_counter()
                    res = evaluate(fn, dataset, protocol, args.limit, quantize_output=quantized)
                    secs = time.perf_counter() - start
                    m = res.mean
                    print(f"| {set_name} | {level or '-'} | {name} | {m['psnr']:.2f} | {m['ssim']:.4f} | {secs:.0f} |", flush=True)
                    results.append({"preset": preset, "set": set_name, "level": level, "method": name, **m,
                                    "images": len(res.rows), "seconds": secs})  # fmt: skip
                gray_key = (set_name, task, level, 1)
                key = gray_key if channels == 1 and gray_key in REFERENCE else (set_name, task, level)
                for name, value in REFERENCE.get(key, {}).items():
                    print(f"| {set_name} | {level or '-'} | {name} | {value:.2f} | | |")
    if not results:
        print("no shipped preset matched --tasks; nothing measured", file=sys.stderr)
        return 1
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
