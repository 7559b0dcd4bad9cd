"""The two kinds of failure the command line tells apart.

``UsageError`` (and its subclasses: ImageError, WeightsError, ConfigError, TrainingError, ...) is a
failure the user's input caused: a file, folder, weights file, argument or config value. The CLI
reports its message as one line with exit status 2. Anything else that reaches the CLI is a bug in
semanir: exit status 1 and a traceback kept for the report. So library code raises UsageError where,
and only where, the cause is something the user gave.
"""

from __future__ import annotations

import numbers
import signal
import sys


class UsageError(ValueError):
    """A failure caused by the user's input: reported as one line, never as a traceback.

    A ValueError, so that code catching the ValueErrors these failures used to be still works."""


class Interrupted(KeyboardInterrupt):
    """A run stopped by a signal after saving what it had; the CLI exits with 128 + the signal."""

    def __init__(self, message: str, signum: int = signal.SIGINT):
        super().__init__(message)
        self.signum = int(signum)


def first_line(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    return lines[0] if lines else type(err).__name__


def bug_message(err: BaseException) -> str:
    """The line that tells a bug in semanir from the user's mistake (the CLI and the serve page)."""
    return f"internal error (a bug in semanir, not your input): {type(err).__name__}: {first_line(err)}"


def user_message(err: Exception) -> str | None:
    """The one line for a failure the user can act on; None for a bug in semanir. The CLI prints it
    and exits 2; ``semanir serve`` shows it on the job's page."""
    if isinstance(err, UsageError):
        return first_line(err)
    if isinstance(err, OSError):  # the file system said no: full disk, permissions, a vanished file
        return f"{err.filename}: {err.strerror}" if err.filename and err.strerror else first_line(err)
    torch = sys.modules.get("torch")
    if isinstance(err, MemoryError) or (torch is not None and isinstance(err, torch.cuda.OutOfMemoryError)):
        return f"out of memory ({first_line(err)}); try smaller tiles (--tile) or another --device"
    return None


_KINDS = {bool: "true or false", int: "an integer", float: "a number", str: "a string", list: "a list"}


def checked_like(key: str, value, default, error: type[UsageError] = UsageError):
    """``value`` for ``key`` if it has the type of ``default`` (an int for a float is fine, a whole
    float such as 1e5 for an int too); else ``error`` naming the key and the type wanted. Values
    of a type this does not know, or with a default of None, pass unchecked."""
    kind = list if isinstance(default, tuple) else type(default)
    if kind not in _KINDS:
        return value
    if kind is list:
        if value is None:  # lists such as topk_choices take null for "none"
            return value
        if not isinstance(value, (list, tuple)):
            raise error(f"{key} must be a list, got {value!r}")
        if not default:
            return value
        return type(value)(checked_like(f"{key}[{i}]", v, default[0], error) for i, v in enumerate(value))
    if kind is bool:
        ok = isinstance(value, bool)
    elif kind is str:
        ok = isinstance(value, str)
    elif isinstance(value, bool) or not isinstance(value, numbers.Real):
        ok = False
    elif kind is int and not isinstance(value, numbers.Integral):
        ok = float(value).is_integer()
        value = int(value) if ok else value
    else:
        ok = True
    if not ok:
        # YAML 1.1 reads off/no/on/yes as booleans: a string option given "off" gets False.
        hint = " (YAML reads off/no/on/yes as false/true: quote the word)" if kind is str and isinstance(value, bool) else ""
        raise error(f"{key} must be {_KINDS[kind]}, got {value!r}{hint}")
    return value
