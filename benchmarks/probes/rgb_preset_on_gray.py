"""What a gray file got before a gray twin shipped: an RGB preset on the gray image given as three
equal channels (what ``semanir restore`` does with a gray file when no twin ships), scored by the
gray protocol on the same degraded inputs as ``semanir test --channels 1``.

    python benchmarks/probes/rgb_preset_on_gray.py ../shared/data/benchmarks Set12 denoise 25
"""

from __future__ import annotations

import sys

import numpy as np
import torch

from semanir.data.io import quantize
from semanir.data.protocols import get_protocol
from semanir.evaluation import benchmark_dataset
from semanir.metrics import psnr
from semanir.pretrained import get_preset
from semanir.restoration import Restorer
from semanir.weights import model_from_weights

torch.set_num_threads(1)
root, set_name, preset, level = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
rgb = get_preset(preset)
protocol = get_protocol(rgb.task, level, 1)
model, meta = model_from_weights(rgb.path)
restorer = Restorer(model, meta["task"], tile=0)
scores = []
for degraded, clean, name in benchmark_dataset(root, set_name, protocol):
    out = restorer.restore_array(degraded[0].numpy())  # HxW gray in, three equal channels inside
    scores.append(psnr(quantize(out), quantize(clean[0].numpy())))
    print(f"{name}: {scores[-1]:.2f}", flush=True)
print(f"{preset} (RGB) on {set_name} in gray, level {level}: {np.mean(scores):.2f} dB over {len(scores)} images")
