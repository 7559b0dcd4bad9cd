"""Writing files so that a crash, a kill -9 or a full disk never leaves a partial file behind."""

from __future__ import annotations

import os
import re
import tempfile
import time
from pathlib import Path
from typing import BinaryIO, Callable

try:
    import fcntl
except ImportError:  # Windows: an open file cannot be deleted there, which protects a live writer
    fcntl = None

# atomic_write's temporaries: ".<name>." + mkstemp's 8 random characters + ".tmp".
_TEMPORARY_NAME = re.compile(r"\..+\.[a-z0-9_]{8}\.tmp")


def atomic_write(path: str | Path, write: Callable[[BinaryIO], object]) -> Path:
    """Call ``write(f)`` on a temporary file beside ``path``, fsync it, then rename it over ``path``.

    Readers see the old file or the complete new one, never a mix. On any error the
    temporary file is removed and the error propagates.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    lock = _lock_in_use(fd)
    try:
        # mkstemp makes the file private (0600); give it the mode a plain open() would.
        os.chmod(tmp, _existing_mode(path) or _default_mode())
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    finally:
        if lock is not None:
            os.close(lock)
    return path


def _lock_in_use(fd: int) -> int | None:
    """Lock a new temporary so remove_stale_temporaries keeps it; returns a duplicate descriptor
    that holds the lock until it is closed, after the rename (closing ``fd`` comes before it)."""
    if fcntl is None:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    except OSError:  # a file system without locks: only the age test protects this temporary
        return None
    return os.dup(fd)


def remove_stale_temporaries(folder: str | Path, grace_s: float = 10.0) -> list[Path]:
    """Remove the temporaries of :func:`atomic_write` in ``folder`` whose writer died (kill -9, power
    loss); returns them. A live writer holds a lock on its temporary, which is kept, as is one younger
    than ``grace_s`` seconds (its writer may not hold the lock yet). Other files are never touched."""
    try:
        candidates = [p for p in Path(folder).iterdir() if _TEMPORARY_NAME.fullmatch(p.name)]
    except OSError:  # no folder yet, or one we cannot list: nothing of ours to clean
        return []
    removed = []
    for path in candidates:
        try:
            with open(path, "rb") as f:
                if time.time() - os.fstat(f.fileno()).st_mtime < grace_s:
                    continue
                if fcntl:
                    fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # fails while the writer lives
                path.unlink()
            removed.append(path)
        except OSError:  # locked, gone already, or not ours to remove
            continue
    return removed


def _default_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _existing_mode(path: Path) -> int | None:
    try:
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        return None
