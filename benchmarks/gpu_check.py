"""One command that checks semanir on a GPU machine and writes one Markdown report plus JSON.

    python benchmarks/gpu_check.py --out gpu_report/          # about 5 minutes on one H200

Needs only this repository and an installed torch with CUDA (semanir is put on the path from
src/ when it is not installed; `bench peers` also needs spandrel, and says so when it is missing).
Every section is one command run in a subprocess with its own time limit, so one failure or hang
costs only its section. On a machine without CUDA each GPU section is listed as skipped, with the
reason: the report's format is the same everywhere (tests/test_gpu_check.py checks it on the CPU).

Sections: device and versions; the Triton and attention tests on the real compiler; every preset
restored in fp32, bf16 and fp16 (PSNR against the fp32 output and against the clean example); the
paper's Table 1 grid (`bench attention`, fwd and fwd+bwd, fp32 and bf16) and the flash/gather
crossover; `bench peers` at the paper's sizes; training throughput of the shipped recipe and of the
paper-size SR and U-shape models with each implementation; a 4000x3000 restore's time and peak
memory; a one-GPU torchrun training run with NCCL (a few iterations, a checkpoint, a resume).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
# (task, degraded example, clean reference)
PRESETS = (
    ("denoise", "astronaut_noisy.png", "astronaut_clean.png"),
    ("jpeg", "astronaut_q20.jpg", "astronaut_clean.png"),
    ("sr", "astronaut_lr_x4.png", "astronaut_clean.png"),
    ("demosaic", "astronaut_bayer.png", "astronaut_clean.png"),
)
PRECISIONS = ("fp32", "bf16", "fp16")
TRAIN_IMPLS = ("flash", "triton", "mask")


# `semanir restore` in-process, with its wall time and the GPU's peak memory.
_TIMED_RESTORE = (
    "import sys, time, torch; from semanir.cli import main; start = time.perf_counter(); "
    "rc = main(['restore', *sys.argv[1:]]); "
    "print(f'restore: exit {rc}, {time.perf_counter() - start:.1f} s in all (model load included), "
    "peak GPU memory {torch.cuda.max_memory_allocated() / 2**30:.2f} GiB'); sys.exit(rc)"
)


@dataclass
class Section:
    name: str
    title: str
    commands: list[list[str]] = field(default_factory=list)
    needs_cuda: bool = True
    limit_s: float = 120.0
    status: str = "not run"  # ok, failed, skipped, timed out
    reason: str = ""
    seconds: float = 0.0
    output: str = ""
    data: dict = field(default_factory=dict)


def _env() -> dict:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), str(ROOT), env.get("PYTHONPATH", "")]))
    env.pop("TRITON_INTERPRET", None)  # the real compiler, never the interpreter
    return env


def _semanir(*args: str) -> list[str]:
    return [sys.executable, "-m", "semanir", *args]


def _run(section: Section, command: list[str], deadline: float, cwd: Path) -> int:
    left = deadline - time.monotonic()
    if left <= 1:
        section.output += f"$ {' '.join(command)}\n(not started: the section's {section.limit_s:.0f} s were used)\n"
        return 124
    section.output += f"$ {' '.join(command)}\n"
    try:
        done = subprocess.run(command, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=left)
    except subprocess.TimeoutExpired as err:
        out = (err.stdout or b"") if isinstance(err.stdout, bytes) else (err.stdout or "")
        section.output += (out.decode() if isinstance(out, bytes) else out) + "\n(timed out)\n"
        return 124
    section.output += done.stdout + (done.stderr[-4000:] if done.returncode else "")
    return done.returncode


def run_section(section: Section, cuda: bool, cwd: Path) -> Section:
    if section.needs_cuda and not cuda:
        section.status, section.reason = "skipped", "no CUDA device on this machine"
        return section
    start = time.monotonic()
    deadline = start + section.limit_s
    codes = [_run(section, cmd, deadline, cwd) for cmd in section.commands]
    section.seconds = time.monotonic() - start
    if any(c == 124 for c in codes):
        section.status = "timed out"
    else:
        section.status = "ok" if all(c == 0 for c in codes) else "failed"
    section.reason = "exit codes " + ", ".join(map(str, codes))
    return section


def versions() -> dict:
    import torch

    info = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no CUDA device",
        # The device tool copies the working tree without .git: the caller passes the commit.
        "commit": os.environ.get("SEMANIR_COMMIT") or _git("rev-parse", "--short", "HEAD"),
    }
    try:
        import triton

        info["triton"] = triton.__version__
    except ImportError:
        info["triton"] = "not installed"
    if shutil.which("nvidia-smi"):
        smi = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
            capture_output=True, text=True,
        )  # fmt: skip
        info["nvidia-smi"] = smi.stdout.strip()
    return info


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def plan(work: Path, quick: bool) -> list[Section]:
    """The sections in order; ``quick`` shrinks every size (for a smoke run of the check itself)."""
    restored = work / "restored"
    preset_cmds = [
        _semanir("restore", str(EXAMPLES / degraded), "-o", str(restored / f"{task}_{precision}"),
                 "--task", task, "--precision", precision, "--device", "cuda")
        for task, degraded, _ in PRESETS for precision in PRECISIONS
    ]  # fmt: skip
    paper_grid = [] if not quick else ["--n", "1024", "--k", "512"]
    table1 = [
        # The paper's grid in bf16, every implementation but the slow plain-PyTorch gather.
        _semanir("bench", "attention", "--device", "cuda", "--backward", "--dtype", "bfloat16", "--repeats", "5",
                 "--impl", "dictionary", "dense", "mask", "triton", "flash", "--json", str(work / "attention_bfloat16.json"),
                 *paper_grid),
        # fp32 at the paper's window (N=1024), every implementation.
        _semanir("bench", "attention", "--device", "cuda", "--backward", "--dtype", "float32", "--repeats", "5",
                 "--impl", "dense", "mask", "gather", "triton", "flash", "auto", "--n", "1024", "--k", "512", "64",
                 "--json", str(work / "attention_float32.json")),
    ]  # fmt: skip
    crossover = _semanir(
        "bench", "attention", "--device", "cuda", "--backward", "--dtype", "bfloat16", "--repeats", "5",
        "--impl", "triton", "flash", "--n", "1024", "4096", "--k", "32", "64", "128",
        "--json", str(work / "crossover.json"),
    )  # fmt: skip
    throughput = [
        [sys.executable, "benchmarks/train_throughput.py", cfg, "--device", "cuda", "--impls", *TRAIN_IMPLS,
         "--steps", "3" if quick else "6", "--warmup", "2"]
        for cfg in ("denoise_color_s25", "sr_s_x4")
    ]  # fmt: skip
    big = work / "big"
    data = work / "train_images"
    run_dir = work / "ddp_run"
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "1", "-m", "semanir", "train",
                "tiny_denoise", f"data.train.root={data}", f"data.val.root={data}", f"output_dir={run_dir}",
                "train.checkpoint_every=3", "train.val_every=3"]  # fmt: skip
    return [
        Section("versions", "Device and versions", needs_cuda=False, limit_s=30),
        Section("attention", "bench attention: the paper's Table 1 grid (bf16) and N=1024 (fp32), fwd and fwd+bwd",
                commands=table1, limit_s=90),
        Section("peers", "bench peers at the paper's sizes, every model in bf16 autocast", limit_s=80,
                commands=[_semanir("bench", "peers", "--device", "cuda", "--repeats", "10", "--precision", "bf16")]),
        Section("train_throughput", "Training throughput (bf16 autocast) of the paper's U-shape and SR-S per implementation",
                commands=throughput, limit_s=80),
        Section("presets", "Every preset in fp32, bf16 and fp16", commands=preset_cmds, limit_s=70),
        Section("big_restore", "A 4000x3000 restore: time and peak memory", limit_s=45,
                commands=[[sys.executable, str(Path(__file__).resolve()), "--make-big", str(big), *(["--quick"] if quick else [])],
                          [sys.executable, "-c", _TIMED_RESTORE, str(big / "photo.png"), "-o", str(big / "out"), "--device", "cuda"]]),
        Section("torchrun", "One-GPU torchrun training with NCCL: checkpoint, then resume", limit_s=45,
                commands=[[sys.executable, str(Path(__file__).resolve()), "--make-train-images", str(data)],
                          [*torchrun, "train.iterations=3", "--no-progress"],
                          [*torchrun, "train.iterations=6", "--no-progress", "--resume"]]),
        Section("crossover", "flash against the gather kernel at small k (bf16; sets auto's crossover)",
                commands=[crossover], limit_s=40),
        Section("kernel_tests", "Triton and attention tests on the real compiler", limit_s=60,
                commands=[[sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                           "tests/test_fused.py", "tests/test_attention.py"]]),
    ]  # fmt: skip


def make_big(folder: Path, quick: bool) -> None:
    """A 4000x3000 photo-like test image: the noisy example tiled and mirrored (no data needed)."""
    import cv2
    import numpy as np

    tile = cv2.imread(str(EXAMPLES / "astronaut_noisy.png"), cv2.IMREAD_COLOR)
    h, w = (300, 400) if quick else (3000, 4000)
    reps = (-(-h // tile.shape[0]), -(-w // tile.shape[1]))
    row = np.concatenate([tile if j % 2 == 0 else tile[:, ::-1] for j in range(reps[1])], axis=1)
    big = np.concatenate([row if i % 2 == 0 else row[::-1] for i in range(reps[0])], axis=0)[:h, :w]
    folder.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(folder / "photo.png"), big)


def make_train_images(folder: Path) -> None:
    """Four crops of the clean example: enough for a few training iterations and a validation."""
    import cv2

    img = cv2.imread(str(EXAMPLES / "astronaut_clean.png"), cv2.IMREAD_COLOR)
    folder.mkdir(parents=True, exist_ok=True)
    h, w = img.shape[0] // 2, img.shape[1] // 2
    for i, (y, x) in enumerate([(0, 0), (0, w), (h, 0), (h, w)]):
        cv2.imwrite(str(folder / f"crop{i}.png"), img[y : y + h, x : x + w])


def preset_psnr(work: Path) -> list[dict]:
    """PSNR of each restored preset output against the fp32 output and against the clean example."""
    import cv2
    import numpy as np

    def psnr(a, b):
        mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
        return float("inf") if mse == 0 else float(10 * np.log10(255.0**2 / mse))

    def read(folder: Path):
        files = sorted(folder.glob("*.png")) if folder.is_dir() else []
        return cv2.imread(str(files[0]), cv2.IMREAD_COLOR) if files else None

    rows = []
    for task, _, clean_name in PRESETS:
        clean = cv2.imread(str(EXAMPLES / clean_name), cv2.IMREAD_COLOR)
        ref = read(work / "restored" / f"{task}_fp32")
        for precision in PRECISIONS:
            out = read(work / "restored" / f"{task}_{precision}")
            if out is None:
                rows.append({"task": task, "precision": precision, "note": "no output"})
                continue
            row = {"task": task, "precision": precision, "psnr_clean": psnr(out, clean) if out.shape == clean.shape else None}
            row["psnr_vs_fp32"] = psnr(out, ref) if ref is not None and ref.shape == out.shape else None
            row["black_or_constant"] = bool(out.std() < 1.0)
            rows.append(row)
    return rows


def _markdown(info: dict, sections: list[Section]) -> str:
    lines = [
        "# semanir GPU check", "",
        f"Command: `python benchmarks/gpu_check.py --out DIR` at commit {info.get('commit')}, {info.get('date')}.", "",
        "| | |", "|---|---|", *[f"| {k} | {v} |" for k, v in info.items()], "",
        "| section | status | seconds | note |", "|---|---|---:|---|",
        *[f"| {s.name} | {s.status} | {s.seconds:.0f} | {s.reason} |" for s in sections], "",
    ]  # fmt: skip
    for s in sections:
        lines += [f"## {s.title}", "", f"Status: **{s.status}**" + (f" ({s.reason})" if s.reason else ""), ""]
        if s.data.get("rows"):
            keys = list(s.data["rows"][0])
            lines += ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
            for r in s.data["rows"]:
                lines.append("| " + " | ".join(_cell(r.get(k)) for k in keys) + " |")
            lines.append("")
        if s.output:
            lines += ["```", s.output.rstrip()[-12000:], "```", ""]
    return "\n".join(lines)


def _cell(x) -> str:
    return f"{x:.2f}" if isinstance(x, float) else "-" if x is None else str(x)


def write_report(out: Path, work: Path, info: dict, sections: list[Section]) -> None:
    for name in ("attention_float32", "attention_bfloat16", "crossover"):
        if (work / f"{name}.json").exists():
            shutil.copy(work / f"{name}.json", out / f"{name}.json")
    (out / "gpu_check.md").write_text(_markdown(info, sections))
    (out / "gpu_check.json").write_text(json.dumps({"versions": info, "sections": [asdict(s) for s in sections]}, indent=1))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, help="folder for gpu_check.md and gpu_check.json")
    ap.add_argument("--sections", nargs="+", help="run only these sections (default: all)")
    ap.add_argument("--quick", action="store_true", help="small sizes: a smoke run of the check itself")
    ap.add_argument("--make-big", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--make-train-images", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.make_big:
        make_big(args.make_big, args.quick)
        return 0
    if args.make_train_images:
        make_train_images(args.make_train_images)
        return 0
    if args.out is None:
        ap.error("--out is required")
    import torch

    cuda = torch.cuda.is_available()
    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="semanir-gpu-check-"))
    sections = plan(work, args.quick)
    if args.sections:
        unknown = set(args.sections) - {s.name for s in sections}
        if unknown:
            ap.error(f"unknown sections {sorted(unknown)}; choose from {[s.name for s in sections]}")
        sections = [s for s in sections if s.name in args.sections or s.name == "versions"]
    info = versions()
    for section in sections:
        print(f"[gpu_check] {section.name} ...", flush=True)
        if section.name == "versions":
            section.status, section.data = "ok", {"rows": [info]}
            continue
        run_section(section, cuda, ROOT)
        if section.name == "presets" and section.status != "skipped":
            section.data["rows"] = preset_psnr(work)
        print(f"[gpu_check] {section.name}: {section.status} in {section.seconds:.0f} s", flush=True)
        write_report(args.out, work, info, sections)  # after each section: a killed run keeps what it measured
    write_report(args.out, work, info, sections)
    print(f"[gpu_check] report: {args.out / 'gpu_check.md'}")
    return 0 if all(s.status in ("ok", "skipped") for s in sections) else 1


if __name__ == "__main__":
    raise SystemExit(main())
