"""``semanir models``: the registered models with their parameter counts."""

from __future__ import annotations

import argparse

from ..errors import UsageError


def add_parser(sub) -> None:
    p = sub.add_parser("models", help="list the registered models with their parameter counts")
    p.add_argument("pattern", nargs="?", default="*", help="glob on model names, e.g. 'semanir_s_*'")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .. import create_model, list_models, model_entry

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
