"""Small generated images for pipeline tests (the suite never needs downloaded data)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from semanir.data.io import write_image


def make_images(folder: Path, count: int = 5, size=(48, 56), channels: int = 3, seed: int = 0) -> Path:
    """Smooth random textures (sums of sinusoids plus fine noise): learnable, unlike white noise."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(count):
        h, w = size[0] + 4 * i, size[1]
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        planes = []
        for _ in range(channels):
            fy, fx, phase = rng.uniform(0.05, 0.4, 2).tolist() + [rng.uniform(0, 6)]
            planes.append(0.5 + 0.35 * np.sin(fy * yy + fx * xx + phase))
        img = np.stack(planes, -1) + rng.normal(0, 0.02, (h, w, channels))
        write_image(folder / f"img{i}.png", np.clip(img, 0, 1).squeeze())
    return folder


def run_cli(args: list[str], cwd: Path, **popen) -> subprocess.Popen:
    """``python -m semanir ARGS`` in a single-threaded subprocess (deterministic CPU arithmetic)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    if env.get("PYTHONPATH"):  # `PYTHONPATH=src pytest`: the child runs in cwd, where src is elsewhere
        env["PYTHONPATH"] = os.pathsep.join(str(Path(p).resolve()) for p in env["PYTHONPATH"].split(os.pathsep) if p)
    return subprocess.Popen([sys.executable, "-m", "semanir", *args], cwd=cwd, env=env, text=True, **popen)


def stale_temporary(folder: Path, name: str, age_s: float = 3600) -> Path:
    """A temporary named as atomic_write names them, as a writer killed ``age_s`` seconds ago left it."""
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
    os.close(fd)
    then = time.time() - age_s
    os.utime(tmp, (then, then))
    return Path(tmp)
