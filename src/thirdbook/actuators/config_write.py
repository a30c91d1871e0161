"""Writing a file a serving process reads: validated, atomic, compare-and-swap, read back.

RELIABILITY E1-E3, E5, E6:
- the new content is validated before anything is written; invalid content is never put in
  place;
- it goes to a temp file in the same directory, gets the old file's mode and owner (or is
  refused when the owner cannot be kept), is fsynced, replaces the file with `os.replace`,
  and the directory is fsynced: a reader sees the old file or the new one, never a torn or
  empty one, even if the writer is killed midway;
- the write happens only if the file still has the hash the caller saw (a lock file makes the
  check and the replace one step for every writer on the host): two responders flipping at
  once end with one winner and one conflict;
- the file is read back after the write and its hash compared.
The file is handled as a control file (`thirdbook.control_file`): never through a link, never
a FIFO or a device, never over 1 MiB. `path` is the file itself (see `target_of`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from thirdbook.control_file import ControlFileIOError, locked, read_control, write_control

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


def bytes_hash(data: bytes | None) -> str:
    """The SHA-256 of a file's bytes, or `ABSENT` for no file."""
    return ABSENT if data is None else hashlib.sha256(data).hexdigest()


def file_hash(path: Path) -> str:
    """The SHA-256 of a control file's bytes, or `ABSENT`."""
    return bytes_hash(read_control(path))


def replace_file(
    path: Path, new: bytes, expected: str, validate: Callable[[bytes], None]
) -> tuple[str, str]:
    """Replace `path` with `new` if it still hashes to `expected`; returns (before, after).

    Raises ConfigInvalidError or ConfigConflictError (nothing written), ControlFileRefusedError
    (not a file thirdbook writes: nothing written) or ControlFileIOError (the old file stands).
    """
    try:
        validate(new)
    except ValueError as exc:
        raise ConfigInvalidError(f"not written: the new {path.name} is invalid: {exc}") from exc
    with locked(path):
        before = file_hash(path)
        if before != expected:
            raise ConfigConflictError(path, expected, before)
        write_control(path, new)
        after = file_hash(path)
    wanted = hashlib.sha256(new).hexdigest()
    if after != wanted:
        raise ControlFileIOError(
            f"{path} does not read back as written (reads {after[:12]}, wrote {wanted[:12]})"
        )
    return before, after
