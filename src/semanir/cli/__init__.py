"""The ``semanir`` command line: models, train, test, restore, export, serve, bench.

One module per command owns its arguments (``add_parser``) and what it runs (``run``); this module
assembles the parser and turns failures into exit codes. Every failure the user can cause (a
UsageError, or the file system saying no) ends in one line on stderr and exit code 2. Anything else
is a bug in semanir: exit code 1, a line that says so, and the traceback in a log file (or on stderr
with --debug).
"""

from __future__ import annotations

import argparse
import signal
import sys
import traceback

from ..errors import bug_message, user_message
from . import bench, export, models, restore, serve, test, train

# The order of `semanir --help`.
COMMANDS = (models, train, test, restore, export, serve, bench)


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
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def _parse(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """parse_args, except that train's key=value overrides may come anywhere among its options."""
    args, extra = parser.parse_known_args(argv)
    if args.command == "train":
        extra = train.gather_overrides(args, extra, argv)
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
        message = user_message(err)
        if message is not None:
            print(f"semanir: error: {message}", file=sys.stderr)
            return 2
        print(_bug_report(err, args.command_line, debug), file=sys.stderr)
        return 1


def _bug_report(err: Exception, command_line: str, debug: bool) -> str:
    """The line that says it is our bug; the traceback goes to a log file unless --debug printed it."""
    head = f"semanir: {bug_message(err)}"
    if debug:
        return f"{head}; please report it with the traceback above"
    import platform
    import tempfile

    from .. import __version__

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
