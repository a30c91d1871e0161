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
from collections.abc import Callable
from pathlib import Path


def write_atomically(
    path: Path, data: bytes, *, prepare: Callable[[int], None] | None = None, sync_dir: bool = True
) -> None:
    """Replace `path` with `data` in one step (see the module docstring). `prepare` gets the
    temp file's descriptor before anything is written (to give it an owner and a mode); with
    `sync_dir` False the caller syncs the directory itself (`sync_directory`)."""
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        if prepare is not None:
            prepare(fd)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
        os.close(fd)
        fd = -1
        os.replace(temp, path)  # replaces whatever is at the name; never follows a link
    except BaseException:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    if sync_dir:
        sync_directory(path.parent)


def sync_directory(directory: Path) -> None:
    """Make a rename in `directory` durable."""
    dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
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
