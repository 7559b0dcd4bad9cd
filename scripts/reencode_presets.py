"""Rewrite shipped presets in another storage (``semanir.weights.save_weights``), keeping every
metadata entry: how the presets shipped in fp16 became int8 (2026-12-07).

    python scripts/reencode_presets.py int8 [PRESET ...]   # default: every shipped preset
"""

from __future__ import annotations

import sys

from semanir.pretrained import list_presets, preset_path
from semanir.weights import RETIRED_MODEL_OPTIONS, STORAGES, decoded_metadata, model_from_weights, read_weights, save_weights

IDENTITY = ("semanir_format", "model_name", "model_config")  # save_weights writes these itself


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in STORAGES:
        raise SystemExit(f"usage: reencode_presets.py {{{','.join(STORAGES)}}} [PRESET ...]")
    storage, names = argv[0], argv[1:] or list_presets()
    for name in names:
        path = preset_path(name)
        before = path.stat().st_size
        model, _ = model_from_weights(path)
        _, raw = read_weights(path)
        kept = {k: v for k, v in raw.items() if k not in (*IDENTITY, "storage")}
        save_weights(model, path, storage=storage, **kept)
        before_meta, after_meta = decoded_metadata(raw), decoded_metadata(read_weights(path)[1])
        config = {k: v for k, v in before_meta["model_config"].items() if k not in RETIRED_MODEL_OPTIONS}
        # Files written before some options retired are rewritten without them (the same model).
        assert (after_meta["model_name"], after_meta["model_config"]) == (before_meta["model_name"], config), name
        print(f"{name}: {before / 2**20:.1f} -> {path.stat().st_size / 2**20:.1f} MiB ({storage})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
