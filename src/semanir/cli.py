"""The ``semanir`` command line. Every failure the user can cause ends in one line and exit code 2."""

from __future__ import annotations

import argparse
import sys


class UsageError(Exception):
    """A failure caused by the user's input: reported as one line, never as a traceback."""


def _cmd_models(args: argparse.Namespace) -> int:
    from . import create_model, list_models, model_entry

    names = list_models(args.pattern)
    if not names:
        raise UsageError(f"no registered model matches {args.pattern!r}")
    print(f"| {'model':<20} | {'parameters':>12} | {'paper':>8} | description")
    print(f"|{'-' * 22}|{'-' * 14}|{'-' * 10}|------------")
    for name in names:
        entry = model_entry(name)
        params = sum(p.numel() for p in create_model(name).parameters())
        paper = f"{entry.paper_params_m:.2f}M" if entry.paper_params_m else "-"
        print(f"| {name:<20} | {params:>12,} | {paper:>8} | {entry.description}")
    return 0


def _bench_header(device, args: argparse.Namespace) -> str:
    import datetime

    from .benchmarking.measure import Versions, device_description

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


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _size(text: str) -> tuple[int, int]:
    try:
        h, w = (int(p) for p in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must look like 128x128, got {text!r}") from None
    if h < 1 or w < 1:
        raise argparse.ArgumentTypeError(f"size must be positive, got {text!r}")
    return h, w


def _cmd_bench_attention(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from .benchmarking import attention as bench
    from .benchmarking.measure import Versions, format_table, parse_device

    device = parse_device(args.device)
    shape = bench.Shape(args.windows, args.heads, args.head_dim, args.dtype)
    grid = bench.default_grid(args.n, args.k)
    limit = None if args.max_gib is None else int(args.max_gib * 2**30)
    print(_bench_header(device, args))
    print(f"# {shape.windows} windows x {shape.heads} heads x head dim {shape.head_dim}, {shape.dtype}; "
          f"median of {args.repeats} after a warm-up; peak = extra memory of one call")  # fmt: skip
    rows = bench.run(device, grid, args.impl, args.backward, args.repeats, shape, limit)
    print(format_table(*bench.as_table(rows)))
    _write_json(args.json, {"device": device.type, "versions": asdict(Versions.collect()), **bench.as_json(rows, shape)})
    return 0


def _cmd_bench_model(args: argparse.Namespace) -> int:
    from . import create_model, model_entry
    from .benchmarking.measure import format_table, parse_device
    from .benchmarking.model import paper_size, profile

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


def _cmd_bench_peers(args: argparse.Namespace) -> int:
    from .benchmarking import peers
    from .benchmarking.measure import format_table, parse_device

    device = parse_device(args.device)
    try:
        peers.check_extra()
    except ImportError as err:
        raise UsageError(str(err)) from None
    print(_bench_header(device, args))
    sizes = {task: size for task, size in (("sr", args.sr_size), ("denoise", args.denoise_size)) if size}
    print(f"# MACs at the paper's sizes (SR x4: 128x128 LR, denoising: 256x256); latency median of {args.repeats} "
          "after a warm-up, random weights; 'paper ms' is Table 3's GPU runtime, for reference only")  # fmt: skip
    print(format_table(*peers.as_table(peers.run(device, args.repeats, sizes))))
    return 0


def _add_bench(sub) -> None:
    from .benchmarking.attention import IMPLS

    bench = sub.add_parser("bench", help="benchmarks: attention implementations, a model, SemanIR vs its peers")
    what = bench.add_subparsers(dest="what", required=True)
    p = what.add_parser("attention", help="time and peak memory of every attention implementation (Table 1)")
    p.add_argument("--device", choices=["cpu", "cuda"], help="default: cuda if available, else cpu")
    p.add_argument("--n", type=_positive, nargs="+", help="tokens per window (default: 512..8192 at k=512)")
    p.add_argument("--k", type=_positive, nargs="+", help="dictionary sizes (default: 32..512 at N=8192)")
    p.add_argument("--impl", nargs="+", choices=IMPLS, default=list(IMPLS[:5]) + ["dictionary"],
                   help="implementations to run ('dictionary' times the top-k construction)")  # fmt: skip
    p.add_argument("--backward", action="store_true", help="also time forward+backward")
    p.add_argument("--repeats", type=_positive, default=3)
    p.add_argument("--windows", type=_positive, default=4)
    p.add_argument("--heads", type=_positive, default=6)
    p.add_argument("--head-dim", type=_positive, default=30)
    p.add_argument("--dtype", choices=["float32", "float16", "bfloat16"], default="float32")
    p.add_argument("--max-gib", type=float, help="skip runs estimated above this (default: 60%% of free memory)")
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    p.set_defaults(func=_cmd_bench_attention)
    p = what.add_parser("model", help="parameters, MACs, latency and peak memory of a registered model")
    p.add_argument("name")
    p.add_argument("--size", type=_size, help="latency input HxW (default: the paper's MAC size)")
    p.add_argument("--k", type=_positive, help="top-k at inference (default: the model's, 512)")
    p.add_argument("--impl", help="attention implementation (default: auto)")
    p.add_argument("--device", choices=["cpu", "cuda"])
    p.add_argument("--repeats", type=_positive, default=3)
    p.set_defaults(func=_cmd_bench_model)
    p = what.add_parser("peers", help="SemanIR vs SwinIR, HAT (x4 SR) and Restormer (denoising), Table 3")
    p.add_argument("--device", choices=["cpu", "cuda"])
    p.add_argument("--sr-size", type=_size, help="LR input for the latency of the SR models (default 128x128)")
    p.add_argument("--denoise-size", type=_size, help="input for the denoising models' latency (default 256x256)")
    p.add_argument("--repeats", type=_positive, default=2)
    p.set_defaults(func=_cmd_bench_peers)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="semanir", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("models", help="list the registered models with their parameter counts")
    p.add_argument("pattern", nargs="?", default="*", help="glob on model names, e.g. 'semanir_s_*'")
    p.set_defaults(func=_cmd_models)
    _add_bench(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.command_line = " ".join(sys.argv[1:] if argv is None else argv)
    try:
        return args.func(args)
    except (UsageError, ValueError, ImportError, RuntimeError, OSError) as err:
        print(f"semanir: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("semanir: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
