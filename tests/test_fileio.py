import os
import subprocess
import sys

import pytest

from semanir.fileio import atomic_write, remove_stale_temporaries
from tests.helpers import stale_temporary


def test_atomic_write_replaces_whole_files_with_normal_permissions(tmp_path):
    path = tmp_path / "sub" / "f.bin"
    atomic_write(path, lambda f: f.write(b"first"))
    umask = os.umask(0)
    os.umask(umask)
    assert path.read_bytes() == b"first"
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    os.chmod(path, 0o640)
    atomic_write(path, lambda f: f.write(b"second"))
    assert path.read_bytes() == b"second" and path.stat().st_mode & 0o777 == 0o640


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "f.bin"
    atomic_write(path, lambda f: f.write(b"good"))

    def fail(f):
        f.write(b"half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        atomic_write(path, fail)
    assert path.read_bytes() == b"good"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]


def test_temporaries_of_dead_writers_are_removed_and_nothing_else(tmp_path):
    stale = stale_temporary(tmp_path, "last.safetensors")
    young = stale_temporary(tmp_path, "a.png", age_s=0)  # its writer may be starting
    others = [tmp_path / name for name in ("notes.tmp", ".notes.tmp", ".a.png.short.tmp", "a.png")]
    for path in others:
        path.write_bytes(b"x")
    assert remove_stale_temporaries(tmp_path) == [stale]
    assert sorted(tmp_path.iterdir()) == sorted([young, *others])
    assert remove_stale_temporaries(tmp_path / "missing") == []


def test_the_temporary_of_a_live_writer_is_kept(tmp_path):
    path = tmp_path / "f.bin"

    def write_while_another_process_cleans(f):
        f.write(b"first half")
        cleaner = subprocess.run(
            [sys.executable, "-c", "import sys; from semanir.fileio import remove_stale_temporaries as r; "
             "print(len(r(sys.argv[1], grace_s=0)))", str(tmp_path)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        assert cleaner.stdout.strip() == "0"
        f.write(b", second half")

    atomic_write(path, write_while_another_process_cleans)
    assert path.read_bytes() == b"first half, second half"
