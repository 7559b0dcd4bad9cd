"""``semanir train``: train from a YAML config, resuming the run folder's checkpoint."""

from __future__ import annotations

import argparse
import re


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="train from a YAML config (resumes the run folder's checkpoint)")
    p.add_argument("config", help="YAML file, or the name of a shipped config")
    p.add_argument("overrides", nargs="*", help="key.sub=value overrides, e.g. train.iterations=1000")
    p.add_argument("--resume", nargs="?", const="", metavar="PATH",
                   help="resume (from PATH, or from the run folder); a key=value after it is an override")  # fmt: skip
    p.add_argument("--no-progress", action="store_true", help="no progress bar (log lines only)")
    p.set_defaults(func=run)


# A config override: a dotted key, "=", a value. Never an option, never a path with a folder in it.
_OVERRIDE = re.compile(r"[A-Za-z_]\w*(\.\w+)*=")


def gather_overrides(args: argparse.Namespace, extra: list[str], argv: list[str]) -> list[str]:
    """Take train's key=value overrides from wherever they came among its options; returns the
    tokens left unrecognized.

    argparse takes one run of positionals only, and ``--resume`` (an optional PATH) would take a
    following override as its path. Rule: a key=value token is always an override, never a path;
    a checkpoint whose name looks like one is given as ./NAME."""
    overrides = [*args.overrides, *(t for t in extra if _OVERRIDE.match(t))]
    if args.resume and _OVERRIDE.match(args.resume):
        overrides.append(args.resume)
        args.resume = ""  # a bare --resume: the run folder's checkpoint
    # Later overrides win, so they keep their order on the command line.
    args.overrides = sorted(overrides, key=lambda t: argv.index(t) if t in argv else len(argv))
    return [t for t in extra if not _OVERRIDE.match(t)]


def run(args: argparse.Namespace) -> int:
    from ..config import load_config
    from ..training.engine import Trainer

    cfg = load_config(args.config, args.overrides)
    resume = "auto" if args.resume is None else ("required" if args.resume == "" else args.resume)
    Trainer(cfg, resume=resume, progress=not args.no_progress).fit()
    return 0
