"""Probe (issue 30): does the shipped denoiser reach farther at inference with larger windows?

    python benchmarks/probes/window_at_inference.py --data data_prep/val_structured --limit 8

The U-shape was trained with 16x16 windows (N = 256, k = 64). Its position bias is continuous
(GRL/SwinV2: an MLP of log-spaced offsets normalised by the nominal window), so a stage can run a
larger window untrained: offsets past the nominal window are extrapolated (``nominal 16``), or the
normalisation is scaled so they stay in the trained range (``nominal 32``). Scores sigma 25,
unclipped, RGB PSNR of the 8-bit output, same noise as benchmarks/structured_val.py.
"""

from __future__ import annotations

import argparse

import numpy as np

import semanir
from semanir.data.io import list_images, read_image, to_float
from semanir.data.protocols import get_protocol
from benchmarks.structured_val import noisy_input

VARIANTS = {  # name: (window per level, nominal window or None to keep 16, k)
    "trained: w16 k64": ((16, 16, 16, 16), None, 64),
    "w32 all levels, nominal 16, k256": ((32, 32, 32, 32), None, 256),
    "w32 all levels, nominal 32, k256": ((32, 32, 32, 32), 32, 256),
    "w32 all levels, nominal 16, k128": ((32, 32, 32, 32), None, 128),
    "w32 at levels 3-4 only, nominal 16, k64/256": ((16, 16, 32, 32), None, None),
}


def configure(model, windows, nominal, k):
    for level, window in enumerate(windows):
        for stage in (model.encoder[level], model.decoder[level], *([model.final] if level == 0 else [])):
            stage.window_size = window
            for layer in stage.layers:
                layer.attn.position_bias.nominal_window = nominal or 16
    model.set_topk(k or 64)
    if k is None:  # k scaled with the window's N: 64 at N = 256, 256 at N = 1024
        forwards = {}
        for level, window in enumerate(windows):
            for stage in (model.encoder[level], model.decoder[level]):
                forwards[stage] = stage.forward
                stage.forward = (lambda f, kk: (lambda x, _k: f(x, kk)))(stage.forward, 64 * (window // 16) ** 2)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--weights", default="denoise")
    ap.add_argument("--limit", type=int, default=8)
    args = ap.parse_args()
    paths = list_images(args.data)[: args.limit]
    protocol = get_protocol("denoise", 25)
    print(f"{len(paths)} crops of {args.data}, sigma 25 unclipped, weights {args.weights}")
    print("| variant | PSNR |\n|---|---:|")
    for name, (windows, nominal, k) in VARIANTS.items():
        restorer = semanir.load(args.weights, device="cpu")
        configure(restorer.model, windows, nominal, k)
        scores = []
        for path in paths:
            clean = to_float(read_image(path).pixels)
            out = restorer.restore_array(noisy_input(clean, 25.0, path.stem, "unclipped"), path.name)
            scores.append(protocol.evaluate(out, clean)["psnr"])
        print(f"| {name} | {np.mean(scores):.3f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
