"""Replacing a file so readers see the old bytes or the new ones, never a torn or empty file.

The bytes go to a temp file in the same directory, are fsynced, replace the file with
`os.replace`, and the directory is fsynced. A writer killed midway leaves a `.{name}.*.tmp`
file behind, which `clean_leftovers` removes. Control files (the files a serving process
obeys) are written by `thirdbook.control_file`, which also keeps their owner and mode.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_atomically(path: Path, data: bytes) -> None:
    """Replace `path` with `data` in one step (see the module docstring)."""
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
        os.close(fd)
        fd = -1
        os.replace(temp, path)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        Path(temp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def clean_leftovers(path: Path) -> list[Path]:
    """Remove temp files a killed writer left beside `path`; returns what was removed."""
    removed = []
    for leftover in path.parent.glob(f".{path.name}.*.tmp"):
        with contextlib.suppress(FileNotFoundError):
            leftover.unlink()
            removed.append(leftover)
    return removed
