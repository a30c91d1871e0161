"""Writing a file a serving process reads: validated, atomic, compare-and-swap, read back.

RELIABILITY E1-E3, E5, E6:
- the new content is validated before anything is written; invalid content is never put in
  place;
- it goes to a temp file in the same directory, is fsynced, gets the old file's mode and owner,
  replaces the file with `os.replace`, and the directory is fsynced: a reader sees the old file
  or the new one, never a torn or empty one, even if the writer is killed midway;
- the write happens only if the file still has the hash the caller saw (a lock file makes the
  check and the replace one step for every writer on the host): two responders flipping at
  once end with one winner and one conflict;
- the file is read back after the write and its hash compared.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from thirdbook.atomic import clean_leftovers, write_atomically

ABSENT = "absent"
"""The hash a caller expects when the file does not exist yet."""


class ConfigConflictError(Exception):
    """The file changed since the caller read it: someone else acted first."""

    def __init__(self, path: Path, expected: str, found: str) -> None:
        super().__init__(
            f"{path} changed since you read it (expected {expected[:12]}, found {found[:12]}): "
            "someone else acted first; look again, then retry"
        )
        self.expected = expected
        self.found = found


class ConfigInvalidError(ValueError):
    """The new content would not be a valid file of its kind; nothing was written."""


def file_hash(path: Path) -> str:
    """The SHA-256 of a file's bytes, or `ABSENT`."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return ABSENT


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    lock = path.parent / f".{path.name}.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def replace_file(
    path: Path, new: bytes, expected: str, validate: Callable[[bytes], None]
) -> tuple[str, str]:
    """Replace `path` with `new` if it still hashes to `expected`; returns (before, after).

    Raises ConfigInvalidError (nothing written) or ConfigConflictError (nothing written).
    """
    try:
        validate(new)
    except ValueError as exc:
        raise ConfigInvalidError(f"not written: the new {path.name} is invalid: {exc}") from exc
    clean_leftovers(path)
    with _locked(path):
        before = file_hash(path)
        if before != expected:
            raise ConfigConflictError(path, expected, before)
        write_atomically(path, new, keep_mode=True)
        after = file_hash(path)
    wanted = hashlib.sha256(new).hexdigest()
    if after != wanted:
        raise OSError(f"{path} does not read back as written (reads {after[:12]}, wrote "
                      f"{wanted[:12]})")  # fmt: skip
    return before, after
