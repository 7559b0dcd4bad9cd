"""Rewrite weights files in another storage (``semanir.weights.save_weights``), keeping every
metadata entry: how the presets shipped in fp16 became int8 (2026-12-07), and how a GPU run's
weights come back through a device's 16 MiB-per-file limit (fp16: 13 MiB for 6.93M parameters).

    python scripts/reencode_presets.py int8                      # every shipped preset, in place
    python scripts/reencode_presets.py fp16 runs/R/weights/final.safetensors --out $OUT
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from semanir.pretrained import list_presets, resolve_weights
from semanir.weights import (
    RETIRED_MODEL_OPTIONS,
    STORAGES,
    carried_metadata,
    decoded_metadata,
    model_from_weights,
    read_weights,
    save_weights,
)


def reencode(source: Path, target: Path, storage: str) -> None:
    model, _ = model_from_weights(source)
    _, raw = read_weights(source)
    save_weights(model, target, storage=storage, **carried_metadata(raw))
    before, after = decoded_metadata(raw), decoded_metadata(read_weights(target)[1])
    config = {k: v for k, v in before["model_config"].items() if k not in RETIRED_MODEL_OPTIONS}
    # Files written before some options retired are rewritten without them (the same model).
    assert (after["model_name"], after["model_config"]) == (before["model_name"], config), source


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("storage", choices=STORAGES)
    ap.add_argument("weights", nargs="*", help="preset names or files (default: every shipped preset)")
    ap.add_argument("--out", type=Path, help="write copies into this folder instead of rewriting in place")
    args = ap.parse_args(argv)
    for name in args.weights or list_presets():
        source = resolve_weights(name)
        target = args.out / source.name if args.out else source
        before = source.stat().st_size
        reencode(source, target, args.storage)
        print(f"{name}: {before / 2**20:.1f} MiB -> {target} {target.stat().st_size / 2**20:.1f} MiB ({args.storage})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
