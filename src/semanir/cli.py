"""The ``semanir`` command line: models, train, test, restore.

Every failure the user can cause (a UsageError, or the file system saying no) ends in one line on
stderr and exit code 2. Anything else is a bug in semanir: exit code 1, a line that says so, and the
traceback in a log file (or on stderr with --debug).
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import sys
import traceback
from pathlib import Path

from .errors import Interrupted, UsageError


def _level(text: str | None):
    if text is None:
        return None
    return int(text) if text.lstrip("-").isdigit() else text


# --- models -------------------------------------------------------------------------------------


def _cmd_models(args: argparse.Namespace) -> int:
    from . import create_model, list_models, model_entry

    names = list_models(args.pattern)
    if not names:
        raise UsageError(f"no registered model matches {args.pattern!r}")
    width = max(20, *map(len, names))
    print(f"| {'model':<{width}} | {'parameters':>12} | {'paper':>8} | description")
    print(f"|{'-' * (width + 2)}|{'-' * 14}|{'-' * 10}|------------")
    for name in names:
        entry = model_entry(name)
        params = sum(p.numel() for p in create_model(name).parameters())
        paper = f"{entry.paper_params_m:.2f}M" if entry.paper_params_m else "-"
        print(f"| {name:<{width}} | {params:>12,} | {paper:>8} | {entry.description}")
    return 0


# --- train --------------------------------------------------------------------------------------


def _cmd_train(args: argparse.Namespace) -> int:
    from .config import load_config
    from .training.engine import Trainer

    cfg = load_config(args.config, args.overrides)
    resume = "auto" if args.resume is None else ("required" if args.resume == "" else args.resume)
    Trainer(cfg, resume=resume, progress=not args.no_progress).fit()
    return 0


# --- model loading shared by test and restore ---------------------------------------------------


def _load_model(args: argparse.Namespace, task: str | None):
    """(model, metadata) from --weights, or the weights shipped for the task."""
    from .pretrained import DEFAULT_PRESET, preset_path
    from .weights import model_from_weights

    overrides = {}
    if getattr(args, "impl", None):
        overrides["attn_impl"] = args.impl
    weights = args.weights or preset_path(task or DEFAULT_PRESET)
    model, meta = model_from_weights(weights, args.model, **overrides)
    if args.k is not None:
        model.set_topk(args.k)
    return model, meta


def _check_task_scale(model, meta: dict, task: str, scale: int | None = None) -> None:
    """Refuse weights whose output size does not fit the task before any image is read: SR weights
    on a same-size task (or the reverse) would otherwise fail, or write, only after a whole image."""
    from .inference import model_geometry

    got = model_geometry(model).scale
    fits = (got == scale if scale else got > 1) if task == "sr" else got == 1
    if not fits:
        need = "same-size output" if task != "sr" else f"x{scale}" if scale else "an upscaling model"
        raise UsageError(f"{meta.get('model_name', 'these weights')} upscales x{got}; task {task} needs {need}")


def _one_line_for_semanir(format_warning):
    """semanir's own warnings (an fp16 tile redone in fp32) as one line, like its errors; others
    (torch's, a test runner's summary) as ``format_warning`` writes them."""

    def fmt(message, category, filename, lineno, line=None):
        if Path(filename).resolve().is_relative_to(Path(__file__).resolve().parent):
            return f"semanir: warning: {message}\n"
        return format_warning(message, category, filename, lineno, line)

    fmt.semanir = True
    return fmt


def _settings(args: argparse.Namespace):
    import warnings

    from .inference import pick_device, pick_dtype

    if not getattr(warnings.formatwarning, "semanir", False):
        warnings.formatwarning = _one_line_for_semanir(warnings.formatwarning)
    device = pick_device(args.device)
    return device, pick_dtype(device, args.precision)


# --- test ---------------------------------------------------------------------------------------


def _test_dataset(args, protocol):
    from .data.benchmarks import get_benchmark
    from .data.datasets import PairedFolderDataset, TestDataset

    if args.set:
        bench = get_benchmark(args.set)
        if bench.paired:
            return PairedFolderDataset(bench.pairs(args.data))
        return TestDataset(bench.images(args.data), protocol, base_seed=args.seed)
    data = Path(args.data)
    if protocol.paired:
        return PairedFolderDataset.from_folders(data / "input", data / "target")
    return TestDataset(data, protocol, base_seed=args.seed)


def _cmd_test(args: argparse.Namespace) -> int:
    from .data.protocols import get_protocol
    from .evaluation import evaluate, identity_restorer, model_restorer

    protocol = get_protocol(args.task, _level(args.level), args.channels)
    dataset = _test_dataset(args, protocol)
    settings = {"protocol": protocol.name, "data": str(Path(args.data).resolve()), "set": args.set, "seed": args.seed,
                "save": args.save and str(Path(args.save).resolve())}  # fmt: skip
    if args.model == "identity":  # the degraded input itself: the baseline row of every table
        restore, label = identity_restorer(protocol), "degraded input (identity)"
    else:
        model, meta = _load_model(args, args.task)
        if model.in_chans != protocol.channels:
            raise UsageError(f"{meta.get('model_name')} takes {model.in_chans}-channel images; the protocol uses {protocol.channels}")
        _check_task_scale(model, meta, protocol.task, protocol.scale)
        device, dtype = _settings(args)
        restore = model_restorer(
            model, device, dtype, args.tile, args.overlap, self_ensemble=args.self_ensemble, task=protocol.task
        )
        label = f"{meta.get('model_name')} k={model.topk} impl={model.config.get('attn_impl')}"
        if args.self_ensemble:
            label += " x8 self-ensemble"
        settings.update(weights=_file_identity(args.weights, args.task), tile=args.tile, overlap=args.overlap,
                        device=str(device), dtype=str(dtype))  # fmt: skip
    settings["model"] = label
    json_to_stdout = args.json == "-"
    identity = args.model == "identity"
    header = {"model": label, "data": str(args.data), "set": args.set}
    total = len(dataset) if args.limit is None else min(args.limit, len(dataset))
    results, measured = None, {}
    if args.json and not json_to_stdout:
        from .evaluation import ResultsFile

        results = ResultsFile(args.json, header, settings)
        measured, note = results.measured()
        if note:
            print(f"semanir: {note}", file=sys.stderr)
    progress = _TestProgress(protocol.name, total, measured, results)
    try:
        result = evaluate(restore, dataset, protocol, args.limit, args.save, progress.image, not identity, measured)
    except KeyboardInterrupt:
        if results is None:
            raise
        raise Interrupted(f"interrupted after {progress.done} of {total} images; they are in {results.path} (marked "
                          "incomplete), and the same command goes on from there") from None  # fmt: skip
    title = f"{protocol.name} on {args.set or args.data}: {label}"
    if not json_to_stdout:
        print(result.table(title))
    if json_to_stdout:
        print(json.dumps({**header, **result.to_json()}, indent=2))
    elif results is not None:
        results.write(result, total)  # complete also when every image was measured before
    return 0


def _file_identity(weights: str | None, task: str) -> list | None:
    """Path, size and mtime of the weights a test runs: other weights, other results."""
    from .pretrained import preset_path

    path = Path(weights) if weights else preset_path(task)
    stat = path.stat()
    return [str(path.resolve()), stat.st_size, stat.st_mtime_ns]


class _TestProgress:
    """One line per image on stderr (its scores, images done / total, ETA) and the results file
    rewritten after each, so that minutes of scoring are neither silent nor lost to a Ctrl-C."""

    def __init__(self, protocol: str, total: int, measured: dict, results):
        import time

        from .evaluation import EvaluationResult

        self.so_far = EvaluationResult(protocol)
        self.total, self.measured, self.results, self.done, self.new = total, measured, results, 0, 0
        self.clock, self.start = time.monotonic, time.monotonic()

    def image(self, row: dict) -> None:
        self.done += 1
        self.so_far.rows.append(row)
        if self.results is not None:
            self.results.write(self.so_far, self.total)
        if row["name"] in self.measured:
            when = "measured before"
        else:
            self.new += 1
            elapsed = self.clock() - self.start
            when = f"{_clock(elapsed)} elapsed, ETA {_clock(elapsed / self.new * (self.total - self.done))}"
        print(f"semanir: [{self.done}/{self.total}] {row['name']}  PSNR {row['psnr']:.2f}  SSIM {row['ssim']:.4f}  ({when})",
              file=sys.stderr, flush=True)  # fmt: skip


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds + 0.5), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}"


# --- restore ------------------------------------------------------------------------------------


def _cmd_restore(args: argparse.Namespace) -> int:
    from .data.io import ImageError
    from .fileio import remove_stale_temporaries
    from .restoration import Restorer, collect_inputs, output_folder, plan_outputs

    inputs = collect_inputs(args.inputs)
    out_dir = Path(args.output)
    plan = plan_outputs(inputs, out_dir.resolve(), args.format)
    model, meta = _load_model(args, args.task)
    device, dtype = _settings(args)
    task = args.task or meta.get("task")
    if args.task:
        _check_task_scale(model, meta, args.task)
    restorer = Restorer(
        model, task, args.tile, args.overlap, None, device, dtype, args.bayer_pattern, args.self_ensemble
    )
    failures = 0
    with output_folder(out_dir):  # after every refusal above; removed again if nothing is written
        remove_stale_temporaries(out_dir)  # what a killed restore left
        for src, dst in plan.items():
            try:
                restorer.restore_file(src, dst)
                print(f"{src} -> {dst}")
            except ImageError as err:
                failures += 1
                print(f"semanir: error: {err}", file=sys.stderr)
    if failures:
        print(f"semanir: {failures} of {len(plan)} images failed", file=sys.stderr)
        return 2
    return 0


# --- export -------------------------------------------------------------------------------------


def _cmd_export(args: argparse.Namespace) -> int:
    from .export import check_packages, export_onnx
    from .pretrained import list_presets, preset_path
    from .weights import model_from_weights

    check_packages()  # before the minute of tracing, not after
    source = Path(args.weights)
    if not source.suffix and args.weights in list_presets():
        source = preset_path(args.weights)
    elif not source.is_file():
        raise UsageError(f"{args.weights} is neither a shipped preset ({', '.join(list_presets())}) nor a weights file")
    model, meta = model_from_weights(source, args.model)
    info = export_onnx(model, args.output, args.impl, args.k,
                       {"semanir_task": meta.get("task", ""), "semanir_weights": source.name})  # fmt: skip
    print(f"{args.output}: {info['semanir_model']}, k={info['semanir_k']}, attention {info['semanir_attention']}, "
          f"inputs >= {info['semanir_min_size']}x{info['semanir_min_size']}; onnxruntime vs PyTorch max abs "
          f"{info['check_max_abs']:.1e}")  # fmt: skip
    return 0


# --- serve --------------------------------------------------------------------------------------


def _cmd_serve(args: argparse.Namespace) -> int:
    from .pretrained import DEFAULT_PRESET, list_presets, preset_path
    from .restoration import Restorer
    from .serve import check_packages, serve
    from .weights import model_from_weights

    check_packages()  # before anything is loaded
    device, dtype = _settings(args)
    tasks = sorted(list_presets(), key=lambda name: name != DEFAULT_PRESET)  # the page's first choice: the default
    if not tasks:
        raise UsageError("this installation ships no presets to serve")
    # Every preset loads now (a quarter of a second on a CPU), so that weights that do not load, or a
    # --tile that does not fit a model, stop the server before the page opens, not on someone's upload.
    # The tiling is the CLI's: automatic tiles fitted to memory unless --tile/--overlap say otherwise.
    restorers = {}
    for task in tasks:
        model, meta = model_from_weights(preset_path(task))
        restorers[task] = Restorer(model, meta.get("task") or task, args.tile, args.overlap, None, device, dtype)
    serve(args.host, args.port, restorers.__getitem__, tasks, args.keep, int(args.max_upload_mb * 2**20))
    return 0


# --- parser -------------------------------------------------------------------------------------


def _add_model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", help="registered model name (default: the one the weights file names)")
    p.add_argument("--weights", help="weights file (.safetensors, or .pth read with weights_only)")
    p.add_argument("--k", type=_positive, help="top-k at inference (default: the k stored with the weights)")
    p.add_argument("--impl", help="attention implementation (mask, gather, ...)")
    p.add_argument("--tile", type=int, help="tile size in input pixels (default: automatic; 0 disables tiling)")
    p.add_argument("--overlap", type=int, help="tile overlap in input pixels (default: tile/8)")
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:1, ... (default: cuda if present)")
    p.add_argument("--precision", default="auto", help="auto (fp32 on CPU, bf16/fp16 on GPU), fp32, fp16, bf16")
    p.add_argument("--self-ensemble", action="store_true",
                   help="average over the 8 rotations/mirrors of the input (8x the time)")  # fmt: skip


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
    if args.chart:
        from .benchmarking.charts import check_matplotlib

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
        from .benchmarking.charts import attention_chart

        attention_chart(bench.as_json(rows, shape)["results"], args.chart,
                        f"{device.type}, {shape.windows} windows x {shape.heads} heads x head dim {shape.head_dim}, "
                        f"{shape.dtype}, median of {args.repeats}")  # fmt: skip
        print(f"wrote {args.chart}")
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
    if args.chart:
        from .benchmarking.charts import check_matplotlib

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
        from .benchmarking.charts import peers_chart

        entries = [{"task": peer.task, "model": peer.name, "params_m": fig.params / 1e6, "gmacs": fig.gmacs,
                    "latency_ms": fig.latency_ms, "latency_size": fig.latency_size} for peer, fig in results]  # fmt: skip
        peers_chart(entries, args.chart, f"{device.type}, every model in {args.precision}, random weights, "
                                         f"median of {args.repeats}")  # fmt: skip
        print(f"wrote {args.chart}")
    return 0


def _add_bench(sub) -> None:
    from .benchmarking.attention import DEFAULT_IMPLS, IMPLS

    bench = sub.add_parser("bench", help="benchmarks: attention implementations, a model, SemanIR vs its peers")
    what = bench.add_subparsers(dest="what", required=True)
    p = what.add_parser("attention", help="time and peak memory of every attention implementation (Table 1)")
    p.add_argument("--device", choices=["cpu", "cuda"], help="default: cuda if available, else cpu")
    p.add_argument("--n", type=_positive, nargs="+", help="tokens per window (default: 512..8192 at k=512)")
    p.add_argument("--k", type=_positive, nargs="+", help="dictionary sizes (default: 32..512 at N=8192)")
    p.add_argument("--impl", nargs="+", choices=IMPLS, default=list(DEFAULT_IMPLS),
                   help="implementations to run ('dictionary' times the top-k construction)")  # fmt: skip
    p.add_argument("--backward", action="store_true", help="also time forward+backward")
    p.add_argument("--repeats", type=_positive, default=3)
    p.add_argument("--windows", type=_positive, default=4)
    p.add_argument("--heads", type=_positive, default=6)
    p.add_argument("--head-dim", type=_positive, default=30)
    p.add_argument("--dtype", choices=["float32", "float16", "bfloat16"], default="float32")
    p.add_argument("--max-gib", type=float, help="skip runs estimated above this (default: 60%% of free memory)")
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    p.add_argument("--chart", metavar="PNG", help="also draw time and memory against N and k (charts extra)")
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
    p.add_argument("--precision", choices=["fp32", "tf32", "bf16"], default="fp32",
                   help="every model in fp32, fp32 with TF32 matmuls, or bf16 autocast (default fp32)")  # fmt: skip
    p.add_argument("--repeats", type=_positive, default=2)
    p.add_argument("--chart", metavar="PNG", help="also draw latency against parameters (charts extra)")
    p.set_defaults(func=_cmd_bench_peers)


class _Parser(argparse.ArgumentParser):
    """Every (sub)command takes --debug, so that it works before or after the command's name."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # SUPPRESS: a subcommand without the flag must not reset the top level's True.
        self.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                          help="on any error, print the full traceback")  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="semanir", description="SemanIR image restoration (NeurIPS 2024).")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("models", help="list the registered models with their parameter counts")
    p.add_argument("pattern", nargs="?", default="*", help="glob on model names, e.g. 'semanir_s_*'")
    p.set_defaults(func=_cmd_models)

    p = sub.add_parser("train", help="train from a YAML config (resumes the run folder's checkpoint)")
    p.add_argument("config", help="YAML file, or the name of a shipped config")
    p.add_argument("overrides", nargs="*", help="key.sub=value overrides, e.g. train.iterations=1000")
    p.add_argument("--resume", nargs="?", const="", metavar="PATH",
                   help="resume (from PATH, or from the run folder); a key=value after it is an override")  # fmt: skip
    p.add_argument("--no-progress", action="store_true", help="no progress bar (log lines only)")
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("test", help="score a model on a benchmark folder under a task's protocol")
    _add_model_options(p)
    p.add_argument("--task", required=True, help="denoise, jpeg, sr, demosaic, deblur or weather")
    p.add_argument("--level", help="sigma, JPEG quality or SR scale (e.g. 25, 40, 4)")
    p.add_argument("--channels", type=int, default=3, choices=(1, 3), help="3 (RGB) or 1 (gray)")
    p.add_argument("--data", required=True, help="folder of images, or a root holding the --set")
    p.add_argument("--set", help="benchmark name under --data (Set5, CBSD68, ...)")
    p.add_argument("--save", help="folder for the restored images (and compare/: degraded | restored | truth crops)")
    p.add_argument("--json", nargs="?", const="-", help="JSON results to FILE (or to stdout)")
    p.add_argument("--limit", type=int, help="only the first N images")
    p.add_argument("--seed", type=int, default=0, help="base seed of the degradations (default 0)")
    p.set_defaults(func=_cmd_test)

    p = sub.add_parser("restore", help="restore image files (default: the shipped blind color denoiser)")
    p.add_argument("inputs", nargs="+", help="image files, folders or glob patterns")
    p.add_argument("-o", "--output", required=True, help="output folder")
    from .pretrained import list_presets

    shipped = ", ".join(list_presets()) or "none"
    p.add_argument("--task", help=f"use the weights shipped for a task (shipped: {shipped})")
    p.add_argument("--format", default="png", choices=("png", "tif"), help="output format (keeps 16 bits)")
    p.add_argument("--bayer-pattern", default="RGGB", help="CFA layout of 1-channel demosaicking inputs")
    _add_model_options(p)
    p.set_defaults(func=_cmd_restore)

    p = sub.add_parser("export", help="write a model as ONNX (any height and width; onnxruntime, TensorRT, ...)")
    p.add_argument("weights", metavar="WEIGHTS_OR_PRESET", help=f"a shipped preset ({shipped}) or a weights file")
    p.add_argument("-o", "--output", required=True, help="the .onnx file to write")
    p.add_argument("--model", help="registered model name (for weights files that do not name theirs)")
    p.add_argument("--k", type=_positive, help="top-k fixed into the graph (default: the k stored with the weights)")
    p.add_argument("--impl", default="gather",
                   help="attention as ONNX ops: gather (K keys per query, default) or mask (dense with a -inf mask)")  # fmt: skip
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser("serve", help="a page in the browser: drop an image, pick the task, compare, download")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0 opens it to the network)")  # fmt: skip
    p.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:1, ... (default: cuda if present)")
    p.add_argument("--precision", default="auto", help="auto (fp32 on CPU, bf16/fp16 on GPU), fp32, fp16, bf16")
    p.add_argument("--tile", type=int, help="tile size in input pixels (default: automatic; 0 disables tiling)")
    p.add_argument("--overlap", type=int, help="tile overlap in input pixels (default: tile/8)")
    p.add_argument("--keep", type=_positive, default=16, help="finished results kept for download (default 16)")
    p.add_argument("--max-upload-mb", type=float, default=256, help="largest image file taken (default 256)")
    p.set_defaults(func=_cmd_serve)

    _add_bench(sub)
    return parser


# A config override: a dotted key, "=", a value. Never an option, never a path with a folder in it.
_OVERRIDE = re.compile(r"[A-Za-z_]\w*(\.\w+)*=")


def _parse(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """parse_args, except that train's key=value overrides may come anywhere among its options.

    argparse takes one run of positionals only, and ``--resume`` (an optional PATH) would take a
    following override as its path. Rule: a key=value token is always an override, never a path;
    a checkpoint whose name looks like one is given as ./NAME."""
    args, extra = parser.parse_known_args(argv)
    if args.command == "train":
        overrides = [*args.overrides, *(t for t in extra if _OVERRIDE.match(t))]
        if args.resume and _OVERRIDE.match(args.resume):
            overrides.append(args.resume)
            args.resume = ""  # a bare --resume: the run folder's checkpoint
        # Later overrides win, so they keep their order on the command line.
        args.overrides = sorted(overrides, key=lambda t: argv.index(t) if t in argv else len(argv))
        extra = [t for t in extra if not _OVERRIDE.match(t)]
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = _parse(build_parser(), argv)
    args.command_line = " ".join(argv)
    debug = getattr(args, "debug", False)
    try:
        return args.func(args)
    except KeyboardInterrupt as err:  # Ctrl-C, or a signal the trainer stopped at (Interrupted)
        if debug:
            traceback.print_exc()
        print(f"semanir: {str(err) or 'interrupted'}", file=sys.stderr)
        return 128 + getattr(err, "signum", signal.SIGINT)  # the shell's convention: 130 for SIGINT
    except Exception as err:  # noqa: BLE001 - sorted below into the user's failures and our bugs
        if debug:
            traceback.print_exc()
        message = _user_failure(err)
        if message is not None:
            print(f"semanir: error: {message}", file=sys.stderr)
            return 2
        print(_bug_report(err, args.command_line, debug), file=sys.stderr)
        return 1


def _first_line(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    return lines[0] if lines else type(err).__name__


def _user_failure(err: Exception) -> str | None:
    """The one line for a failure the user can act on; None for a bug in semanir."""
    if isinstance(err, UsageError):
        return _first_line(err)
    if isinstance(err, OSError):  # the file system said no: full disk, permissions, a vanished file
        return f"{err.filename}: {err.strerror}" if err.filename and err.strerror else _first_line(err)
    torch = sys.modules.get("torch")
    if isinstance(err, MemoryError) or (torch is not None and isinstance(err, torch.cuda.OutOfMemoryError)):
        return f"out of memory ({_first_line(err)}); try smaller tiles (--tile) or another --device"
    return None


def _bug_report(err: Exception, command_line: str, debug: bool) -> str:
    """The line that says it is our bug; the traceback goes to a log file unless --debug printed it."""
    head = f"semanir: internal error (a bug in semanir, not your input): {type(err).__name__}: {_first_line(err)}"
    if debug:
        return f"{head}; please report it with the traceback above"
    import platform
    import tempfile

    from . import __version__

    torch = sys.modules.get("torch")
    try:
        fd, log = tempfile.mkstemp(prefix="semanir-", suffix=".log")
        with open(fd, "w") as f:
            f.write(f"semanir {__version__}, Python {platform.python_version()}, torch {getattr(torch, '__version__', '-')}, "
                    f"{platform.platform()}\ncommand: semanir {command_line}\n\n")  # fmt: skip
            traceback.print_exception(err, file=f)
    except OSError:  # no log file: the traceback goes to stderr rather than nowhere
        traceback.print_exception(err)
        return f"{head}; please report it with the traceback above"
    return f"{head}; please report it with the traceback in {log} (or run again with --debug to print it)"

if __name__ == "__main__":
    sys.exit(main())
