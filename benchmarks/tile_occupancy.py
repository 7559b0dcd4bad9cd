"""How many (BLOCK_M x BLOCK_N) tiles of a window's N x N dictionary mask hold no selected key,
in the tokens' own order and after reordering them: the work `flash` could skip (issue 29).

    python benchmarks/tile_occupancy.py examples/astronaut_noisy.png --preset denoise --k 64 128
    python benchmarks/tile_occupancy.py examples/astronaut_lr_x4.png --preset sr --k 64 256 512

Runs a shipped model on the image on the CPU and records the dictionary of every stage. Orders:
``raster`` (the window's row-major tokens), ``pc1`` (sorted by the first principal component of the
stage's tokens, per window) and ``clusters`` (tokens grouped by k-means on the tokens, N / BLOCK_N
clusters, per window). A reordering changes nothing in the result: queries and keys are permuted
together and the mask with them. Counts only: no timing, this runs anywhere.
"""

from __future__ import annotations

import argparse
import contextlib

import cv2
import numpy as np
import torch

from semanir.models import layers
from semanir.pretrained import preset_path
from semanir.weights import model_from_weights


@contextlib.contextmanager
def recorded_dictionaries(seen: list):
    """Record (tokens, index) of every stage's dictionary while the block runs."""
    build = layers.build_key_semantic_dictionary

    def recording(tokens, k, include_self=False):
        index = build(tokens, k, include_self)
        seen.append((tokens.float(), index))
        return index

    layers.build_key_semantic_dictionary = recording
    try:
        yield seen
    finally:
        layers.build_key_semantic_dictionary = build


def _pc1_order(tokens: torch.Tensor) -> torch.Tensor:
    centred = tokens - tokens.mean(1, keepdim=True)
    _, _, v = torch.pca_lowrank(centred, q=1, center=False)
    return (centred @ v[..., :1]).squeeze(-1).argsort(dim=1)


def _cluster_order(tokens: torch.Tensor, clusters: int, steps: int = 8) -> torch.Tensor:
    """Per window, tokens grouped by Lloyd's k-means (seeded by the pc1 order's quantiles)."""
    b, n, _ = tokens.shape
    seeds = _pc1_order(tokens)[:, torch.linspace(0, n - 1, clusters).long()]
    centres = torch.gather(tokens, 1, seeds[..., None].expand(-1, -1, tokens.shape[-1]))
    for _ in range(steps):
        label = torch.cdist(tokens, centres).argmin(-1)
        onehot = torch.nn.functional.one_hot(label, clusters).float()
        centres = (onehot.transpose(1, 2) @ tokens) / onehot.sum(1)[..., None].clamp(min=1)
    return (label * n + torch.arange(n)).argsort(dim=1)


def empty_tile_share(index: torch.Tensor, order: torch.Tensor, block_m: int, block_n: int) -> float:
    """Share of (block_m x block_n) tiles with no dictionary entry once tokens follow ``order``."""
    b, n, _ = index.shape
    rank = order.argsort(dim=1)  # token -> its new position
    rows = rank[:, :, None].expand_as(index)
    cols = torch.gather(rank, 1, index.reshape(b, -1)).view_as(index)
    tiles_m, tiles_n = -(-n // block_m), -(-n // block_n)
    hit = torch.zeros(b, tiles_m, tiles_n, dtype=torch.bool)
    hit.view(b, -1).scatter_(1, ((rows // block_m) * tiles_n + cols // block_n).reshape(b, -1), True)
    return 1.0 - hit.float().mean().item()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("image")
    ap.add_argument("--preset", default="denoise")
    ap.add_argument("--k", type=int, nargs="+", default=[64, 128])
    ap.add_argument("--block", type=int, nargs=2, default=[128, 64], metavar=("M", "N"))
    args = ap.parse_args(argv)
    model, _ = model_from_weights(preset_path(args.preset))
    model.eval()
    img = cv2.imread(args.image, cv2.IMREAD_UNCHANGED)
    x = torch.from_numpy(np.ascontiguousarray(img[..., ::-1] if img.ndim == 3 else img[..., None])).float() / 255
    x = x.permute(2, 0, 1)[None][:, : model.in_chans]
    print(f"# {args.preset} on {args.image} ({x.shape[-2]}x{x.shape[-1]}), tiles {args.block[0]}x{args.block[1]}; "
          f"share of tiles with no selected key")  # fmt: skip
    print("| k | stage | windows x N | raster | pc1 | clusters |")
    print("|---:|---:|---|---:|---:|---:|")
    for k in args.k:
        seen = []
        with torch.no_grad(), recorded_dictionaries(seen):
            model(x, topk=k)
        for stage, (tokens, index) in enumerate(seen):
            n = tokens.shape[1]
            if n < 2 * args.block[1]:
                continue
            raster = torch.arange(n).expand(tokens.shape[0], n)
            shares = [
                empty_tile_share(index, order, *args.block)
                for order in (raster, _pc1_order(tokens), _cluster_order(tokens, max(1, n // args.block[1])))
            ]
            print(f"| {index.shape[-1]} | {stage} | {tokens.shape[0]} x {n} | " + " | ".join(f"{s:.2f}" for s in shares) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
