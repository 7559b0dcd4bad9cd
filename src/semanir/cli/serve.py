"""``semanir serve``: a page in the browser that restores an image with a shipped preset."""

from __future__ import annotations

import argparse

from ..errors import UsageError
from .common import positive, settings


def add_parser(sub) -> None:
    p = sub.add_parser("serve", help="a page in the browser: drop an image, pick the task, compare, download")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0 opens it to the network)")  # fmt: skip
    p.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:1, ... (default: cuda if present)")
    p.add_argument("--precision", default="auto", help="auto (fp32 on CPU, bf16/fp16 on GPU), fp32, fp16, bf16")
    p.add_argument("--tile", type=int, help="tile size in input pixels (default: automatic; 0 disables tiling)")
    p.add_argument("--overlap", type=int, help="tile overlap in input pixels (default: tile/8)")
    p.add_argument("--keep", type=positive, default=16, help="finished results kept for download (default 16)")
    p.add_argument("--max-upload-mb", type=float, default=256, help="largest image file taken (default 256)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..pretrained import DEFAULT_PRESET, list_presets
    from ..restoration import load
    from ..serve import check_packages, serve

    check_packages()  # before anything is loaded
    device, _ = settings(args)  # checks --precision too, before anything loads
    tasks = sorted(list_presets(), key=lambda name: name != DEFAULT_PRESET)  # the page's first choice: the default
    if not tasks:
        raise UsageError("this installation ships no presets to serve")
    # Every preset loads now (a quarter of a second on a CPU), so that weights that do not load, or a
    # --tile that does not fit a model, stop the server before the page opens, not on someone's upload.
    # The tiling is the CLI's: automatic tiles fitted to memory unless --tile/--overlap say otherwise.
    restorers = {task: load(task, device=device, precision=args.precision, tile=args.tile, overlap=args.overlap)
                 for task in tasks}  # fmt: skip
    serve(args.host, args.port, restorers.__getitem__, tasks, args.keep, int(args.max_upload_mb * 2**20))
    return 0
