"""Replacing a file so readers see the old bytes or the new ones, never a torn or empty file.

The bytes go to a temp file in the same directory, are fsynced, get the old file's mode and
owner (when asked), replace the file with `os.replace`, and the directory is fsynced. A
writer killed midway leaves a `.{name}.*.tmp` file behind, which `clean_leftovers` removes.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_atomically(path: Path, data: bytes, *, keep_mode: bool = False) -> None:
    """Replace `path` with `data` in one step (see the module docstring)."""
    st = None
    if keep_mode:
        with contextlib.suppress(FileNotFoundError):
            st = path.stat()
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
        if st is not None:
            os.fchmod(fd, st.st_mode & 0o7777)
            with contextlib.suppress(PermissionError):
                os.fchown(fd, st.st_uid, st.st_gid)
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
