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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="semanir", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("models", help="list the registered models with their parameter counts")
    p.add_argument("pattern", nargs="?", default="*", help="glob on model names, e.g. 'semanir_s_*'")
    p.set_defaults(func=_cmd_models)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (UsageError, ValueError, FileNotFoundError, PermissionError, OSError) as err:
        print(f"semanir: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("semanir: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
