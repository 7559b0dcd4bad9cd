"""Shifted windows at inference: the shipped denoiser with its fixed window grid, with every
stage's grid offset half a window, and the average of the two outputs.

Measured on the first COUNT images of CBSD68 at sigma 25 with `semanir test`'s protocol (seed 0,
8-bit RGB PSNR/SSIM, fp32, the shipped `denoise` file); the figures (31.64 / 31.60 / 31.69 dB on
6 images, 2026-12-04, 2-core AMD EPYC CPU, torch 2.13.0+cpu) are in benchmarks/denoise.md, where
this script was pasted first. Run from the repository root with the package importable:

    OMP_NUM_THREADS=2 PYTHONPATH=src python benchmarks/probes/shifted_windows_denoise.py ../shared/data/benchmarks 6

The code below the docstring is as it was run (as probe.py), unchanged.
"""
# OMP_NUM_THREADS=2 python probe.py ../shared/data/benchmarks 6
import sys, torch
from semanir.data.benchmarks import get_benchmark
from semanir.data.datasets import TestDataset
from semanir.data.protocols import get_protocol
from semanir.evaluation import evaluate
from semanir.inference import restore_tensor
from semanir.pretrained import preset_path
from semanir.weights import model_from_weights

data, count = sys.argv[1], int(sys.argv[2])
protocol = get_protocol("denoise", 25, 3)
dataset = TestDataset(get_benchmark("CBSD68").images(data), protocol, base_seed=0)
model = model_from_weights(preset_path("denoise"))[0].eval()
stages = list(model.iter_stages())

def run(shifted):
    def restore(x):
        for stage in stages:
            stage.shift = shifted
        return restore_tensor(model, x, device=torch.device("cpu"))
    return restore

both = lambda x: (run(False)(x) + run(True)(x)) / 2
for label, restore in (("fixed grid", run(False)), ("all stages offset", run(True)), ("average", both)):
    print(label, evaluate(restore, dataset, protocol, count).mean)
