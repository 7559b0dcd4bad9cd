"""``semanir bench``: attention implementations, a model, SemanIR against its peers."""

from __future__ import annotations

import argparse

from ..errors import UsageError
from .common import positive, size_hw


def add_parser(sub) -> None:
    from ..benchmarking.attention import DEFAULT_IMPLS, IMPLS

    bench = sub.add_parser("bench", help="benchmarks: attention implementations, a model, SemanIR vs its peers")
    what = bench.add_subparsers(dest="what", required=True)
    p = what.add_parser("attention", help="time and peak memory of every attention implementation (Table 1)")
    p.add_argument("--device", choices=["cpu", "cuda"], help="default: cuda if available, else cpu")
    p.add_argument("--n", type=positive, nargs="+", help="tokens per window (default: 512..8192 at k=512)")
    p.add_argument("--k", type=positive, nargs="+", help="dictionary sizes (default: 32..512 at N=8192)")
    p.add_argument("--impl", nargs="+", choices=IMPLS, default=list(DEFAULT_IMPLS),
                   help="implementations to run ('dictionary' times the top-k construction)")  # fmt: skip
    p.add_argument("--backward", action="store_true", help="also time forward+backward")
    p.add_argument("--repeats", type=positive, default=3)
    p.add_argument("--windows", type=positive, default=4)
    p.add_argument("--heads", type=positive, default=6)
    p.add_argument("--head-dim", type=positive, default=30)
    p.add_argument("--dtype", choices=["float32", "float16", "bfloat16"], default="float32")
    p.add_argument("--max-gib", type=float, help="skip runs estimated above this (default: 60%% of free memory)")
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    p.add_argument("--chart", metavar="PNG", help="also draw time and memory against N and k (charts extra)")
    p.set_defaults(func=_run_attention)
    p = what.add_parser("model", help="parameters, MACs, latency and peak memory of a registered model")
    p.add_argument("name")
    p.add_argument("--size", type=size_hw, help="latency input HxW (default: the paper's MAC size)")
    p.add_argument("--k", type=positive, help="top-k at inference (default: the model's, 512)")
    p.add_argument("--impl", help="attention implementation (default: auto)")
    p.add_argument("--device", choices=["cpu", "cuda"])
    p.add_argument("--repeats", type=positive, default=3)
    p.set_defaults(func=_run_model)
    p = what.add_parser("peers", help="SemanIR vs SwinIR, HAT (x4 SR) and Restormer (denoising), Table 3")
    p.add_argument("--device", choices=["cpu", "cuda"])
    p.add_argument("--sr-size", type=size_hw, help="LR input for the latency of the SR models (default 128x128)")
    p.add_argument("--denoise-size", type=size_hw, help="input for the denoising models' latency (default 256x256)")
    p.add_argument("--precision", choices=["fp32", "tf32", "bf16"], default="fp32",
                   help="every model in fp32, fp32 with TF32 matmuls, or bf16 autocast (default fp32)")  # fmt: skip
    p.add_argument("--repeats", type=positive, default=2)
    p.add_argument("--chart", metavar="PNG", help="also draw latency against parameters (charts extra)")
    p.set_defaults(func=_run_peers)


def _bench_header(device, args: argparse.Namespace) -> str:
    import datetime

    from ..benchmarking.measure import Versions, device_description

    v = Versions.collect()
    return (
        f"# semanir {args.command_line}"
        + f"\n# device: {device.type}, {device_description(device)}; date {datetime.date.today()}"
        + f"\n# torch {v.torch}, triton {v.triton or '-'}, numba {v.numba or '-'}, spandrel {v.spandrel or '-'}"
    )


def _write_json(path: str | None, payload: dict) -> None:
    if path:
        import json
        from pathlib import Path

        Path(path).write_text(json.dumps(payload, indent=2) + "\n")
        print(f"wrote {path}")


def _run_attention(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from ..benchmarking import attention as bench
    from ..benchmarking.measure import Versions, format_table, parse_device

    device = parse_device(args.device)
    if args.chart:
        from ..benchmarking.charts import check_matplotlib

        check_matplotlib()  # before minutes of measuring, not after
    shape = bench.Shape(args.windows, args.heads, args.head_dim, args.dtype)
    grid = bench.default_grid(args.n, args.k)
    limit = None if args.max_gib is None else int(args.max_gib * 2**30)
    print(_bench_header(device, args))
    print(f"# {shape.windows} windows x {shape.heads} heads x head dim {shape.head_dim}, {shape.dtype}; "
          f"median of {args.repeats} after a warm-up; peak = extra memory of one call")  # fmt: skip
    rows = bench.run(device, grid, args.impl, args.backward, args.repeats, shape, limit)
    print(format_table(*bench.as_table(rows)))
    _write_json(args.json, {"device": device.type, "versions": asdict(Versions.collect()), **bench.as_json(rows, shape)})
    if args.chart:
        from ..benchmarking.charts import attention_chart

        attention_chart(bench.as_json(rows, shape)["results"], args.chart,
                        f"{device.type}, {shape.windows} windows x {shape.heads} heads x head dim {shape.head_dim}, "
                        f"{shape.dtype}, median of {args.repeats}")  # fmt: skip
        print(f"wrote {args.chart}")
    return 0


def _run_model(args: argparse.Namespace) -> int:
    from .. import create_model, model_entry
    from ..benchmarking.measure import format_table, parse_device
    from ..benchmarking.model import paper_size, profile

    device = parse_device(args.device)
    entry = model_entry(args.name)
    overrides = {"attn_impl": args.impl} if args.impl else {}
    model = create_model(args.name, **overrides)
    if args.k is not None:
        model.set_topk(args.k)
    mac_size = paper_size("sr" if "sr" in entry.tags else "denoise")
    size = args.size or mac_size
    print(_bench_header(device, args))
    fig = profile(args.name, model, model.in_chans, mac_size, size, device, args.repeats)
    headers = ["model", "params", "GMACs @" + "x".join(map(str, mac_size)), "k", "latency ms @" + "x".join(map(str, size)),
               "peak MiB", "attention"]  # fmt: skip
    row = [args.name, f"{fig.params:,}", f"{fig.gmacs:.1f}", str(model.topk), f"{fig.latency_ms:.0f}",
           "-" if fig.peak_mb is None else f"{fig.peak_mb:.0f}", fig.attention or "-"]  # fmt: skip
    print(format_table(headers, [row]))
    return 0


def _run_peers(args: argparse.Namespace) -> int:
    from ..benchmarking import peers
    from ..benchmarking.measure import format_table, parse_device

    device = parse_device(args.device)
    if args.chart:
        from ..benchmarking.charts import check_matplotlib

        check_matplotlib()
    try:
        peers.check_extra()
    except ImportError as err:
        raise UsageError(str(err)) from None
    print(_bench_header(device, args))
    sizes = {task: size for task, size in (("sr", args.sr_size), ("denoise", args.denoise_size)) if size}
    print(f"# MACs at the paper's sizes (SR x4: 128x128 LR, denoising: 256x256); latency median of {args.repeats} "
          f"after a warm-up, random weights, every model in {args.precision}; 'paper ms' is Table 3's GPU runtime, "
          "for reference only")  # fmt: skip
    results = peers.run(device, args.repeats, sizes, args.precision)
    print(format_table(*peers.as_table(results)))
    if args.chart:
        from ..benchmarking.charts import peers_chart

        entries = [{"task": peer.task, "model": peer.name, "params_m": fig.params / 1e6, "gmacs": fig.gmacs,
                    "latency_ms": fig.latency_ms, "latency_size": fig.latency_size} for peer, fig in results]  # fmt: skip
        peers_chart(entries, args.chart, f"{device.type}, every model in {args.precision}, random weights, "
                                         f"median of {args.repeats}")  # fmt: skip
        print(f"wrote {args.chart}")
    return 0
