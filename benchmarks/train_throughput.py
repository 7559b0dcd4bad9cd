"""Training throughput of one config's model with each attention implementation.

    python benchmarks/train_throughput.py docs/training-records/shipped_denoise_color_gpu.yaml --device cuda --batches 16 32

For each implementation: the forward agreement with ``mask`` (same weights, fp32, no autocast),
then timed AdamW steps on random patches (L1 loss, the config's random top-k cycled, bf16 autocast
on CUDA), with iterations/s, megapixels/s (of input patches: ``patch_size`` is the input's size, an
SR model's targets are ``scale`` times larger) and peak memory. No data loading: this is the ceiling
the data pipeline has to keep up with. Used to pick the implementation and batch of a GPU slice.
"""

from __future__ import annotations

import argparse
import time

import torch

from semanir import create_model
from semanir.attention import resolve_implementation
from semanir.config import load_config
from semanir.inference import model_geometry


def _model(cfg: dict, impl: str, device: torch.device) -> torch.nn.Module:
    kwargs = {k: v for k, v in cfg["model"].items() if k not in ("name", "attn_impl")}
    return create_model(cfg["model"]["name"], **kwargs, attn_impl=impl).to(device)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(cfg, impl, batch, state, probe, reference, device, steps, warmup):
    model = _model(cfg, impl, device)
    model.load_state_dict(state)
    with torch.no_grad():
        out = model.eval()(probe, topk=model.topk)
    rel_err = float((out - reference).norm() / reference.norm())
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    ks = cfg["train"]["topk_choices"] or [model.topk]
    patch = cfg["data"]["train"]["patch_size"]
    scale = model_geometry(model).scale  # SR: the target is the input patch times the scale
    for i in range(warmup + steps):
        if i == warmup:
            _sync(device)
            start = time.perf_counter()
        clean = torch.rand(batch, cfg["data"]["train"]["channels"], patch * scale, patch * scale, device=device)
        degraded = torch.nn.functional.avg_pool2d(clean, scale) if scale > 1 else clean
        degraded = degraded + 0.1 * torch.randn_like(degraded)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            loss = (model(degraded, topk=ks[i % len(ks)]).float() - clean).abs().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    _sync(device)
    rate = steps / (time.perf_counter() - start)
    peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else float("nan")
    return {"rate": rate, "mpx": rate * batch * patch * patch / 1e6, "peak": peak, "err": rel_err}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("config", help="training config (file or shipped name)")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--impls", nargs="+", default=["flash", "triton", "mask", "gather"])
    ap.add_argument("--batches", type=int, nargs="+", help="batch sizes (default: the config's)")
    ap.add_argument("--steps", type=int, default=10, help="timed steps per row")
    ap.add_argument("--warmup", type=int, default=4, help="untimed steps first (compilation, caches)")
    args = ap.parse_args(argv)
    cfg = load_config(args.config)
    device = torch.device(args.device)
    torch.manual_seed(0)
    reference_model = _model(cfg, "mask", device).eval()
    state = reference_model.state_dict()
    probe = torch.rand(2, cfg["data"]["train"]["channels"], 64, 64, device=device)
    with torch.no_grad():
        reference = reference_model(probe, topk=reference_model.topk)
    print(f"{cfg['model']['name']} ({args.config}), patch {cfg['data']['train']['patch_size']}, device {device}, "
          f"torch {torch.__version__}")  # fmt: skip
    print("| impl | batch | it/s | Mpx/s | peak GiB | fp32 forward rel. err vs mask |")
    print("|---|---|---|---|---|---|")
    for impl in args.impls:
        for batch in args.batches or [cfg["data"]["train"]["batch_size"]]:
            try:
                resolve_implementation(impl, device)
                r = measure(cfg, impl, batch, state, probe, reference, device, args.steps, args.warmup)
            except Exception as err:  # noqa: BLE001 - one row per implementation, whatever broke
                print(f"| {impl} | {batch} | failed: {type(err).__name__}: {str(err).splitlines()[0][:120]} | | | |")
                continue
            print(f"| {impl} | {batch} | {r['rate']:.2f} | {r['mpx']:.2f} | {r['peak']:.1f} | {r['err']:.2e} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
