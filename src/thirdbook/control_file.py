"""Control files are what they say they are: the flag file, the registry and the quarantine list.

A serving process obeys these files, so thirdbook reads and writes them only as regular files
of a sane size, and never through a link it was not told to follow (issue 9):
- a symbolic link is refused unread, unless `[containment] follow_control_symlinks` says to
  follow it; then the file it points at (`target_of`) is read and written, and named;
- anything but a regular file (a FIFO, a device, a directory, a socket) and a file over
  `CAP` bytes is refused at once, from `lstat`, before any open that could block; the open
  is `O_NOFOLLOW | O_NONBLOCK` and `fstat` must show the same regular file, and at most
  `CAP + 1` bytes are ever read;
- the lock beside a file is opened with `O_NOFOLLOW`: it is never created through a link;
- a write goes to a temp file beside the file, gets its mode and owner, is fsynced, replaces
  it with `os.replace`, and the directory is fsynced. When the owner cannot be kept (a
  non-root writer, a file owned by someone else), the write is refused before anything is
  replaced: the file's readers keep their access.
Refusals raise `ControlFileRefusedError`; an `OSError` on the way is a `ControlFileIOError`;
both say which file and why in one sentence.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from thirdbook.atomic import clean_leftovers, sync_directory, write_atomically

CAP = 1 << 20
"""The largest control file read or written (1 MiB): real flag files and registries are KiB."""

NEW_MODE = 0o644
"""The mode of a control file created by thirdbook: its serving process must read it."""

_FOLLOW_HINT = "set [containment] follow_control_symlinks = true to use the file it points at"


class ControlFileRefusedError(Exception):
    """The file is not what a control file must be (a link, not a regular file, too big, an
    owner that cannot be kept): nothing was read from it or written to it."""


class ControlFileIOError(Exception):
    """Reading or writing a control file failed (read-only directory, full disk, ...); the
    message names the file and the reason. A failed write leaves the old file in place."""


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISLNK, "a symbolic link"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def _check(path: Path, st: os.stat_result) -> None:
    """Refuse a link, a non-regular file, or one over the cap (from its stat, unread)."""
    if stat.S_ISLNK(st.st_mode):
        raise ControlFileRefusedError(
            f"{path} is a symbolic link (to {_link_text(path)}): refused, unread; {_FOLLOW_HINT}"
        )
    if not stat.S_ISREG(st.st_mode):
        raise ControlFileRefusedError(
            f"{path} is {_kind(st.st_mode)}, not a regular file: refused, unread"
        )
    if st.st_size > CAP:
        raise ControlFileRefusedError(
            f"{path} is {st.st_size:,} bytes, over the {CAP:,}-byte cap for a control file: "
            "refused, unread"
        )


def _link_text(path: Path) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return "?"


def _failed(what: str, path: Path, exc: OSError) -> ControlFileIOError:
    reason = (exc.strerror or type(exc).__name__).lower()
    unchanged = "" if what in {"read", "look at"} else "; it is unchanged"
    return ControlFileIOError(f"could not {what} {path}: {reason}{unchanged}")


def target_of(path: Path, *, follow: bool = False) -> Path:
    """The file to read and write for the control file configured at `path`: `path` itself,
    or, when it is a symbolic link and `follow` is set, the existing file it resolves to.
    A link is refused when `follow` is not set, and a link to nothing or a loop always."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return path  # absent: created in place, where no link stands
    except OSError as exc:
        raise _failed("look at", path, exc) from exc
    if not stat.S_ISLNK(st.st_mode):
        return path
    if not follow:
        _check(path, st)
    try:
        return Path(os.path.realpath(path, strict=True))
    except OSError as exc:
        raise ControlFileRefusedError(
            f"{path} is a symbolic link to {_link_text(path)}, which cannot be followed "
            f"({(exc.strerror or type(exc).__name__).lower()}): refused"
        ) from exc


def read_control(path: Path) -> bytes | None:
    """The bytes of the control file at `path`, or None when there is none (see the module
    docstring: never through a link, never a non-regular file, never more than `CAP`)."""
    found = read_control_with_stat(path)
    return None if found is None else found[0]


def read_control_with_stat(path: Path) -> tuple[bytes, os.stat_result] | None:
    """`read_control`, with the stat of the file read (for its modification time)."""
    for _ in range(3):  # another writer's atomic replace between lstat and open: look again
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise _failed("look at", path, exc) from exc
        _check(path, st)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except FileNotFoundError:
            continue
        except OSError as exc:
            if exc.errno == errno.ELOOP:  # a link put there since the lstat
                raise ControlFileRefusedError(
                    f"{path} became a symbolic link: refused, unread"
                ) from exc
            raise _failed("read", path, exc) from exc
        try:
            opened = os.fstat(fd)
            if (opened.st_dev, opened.st_ino) != (st.st_dev, st.st_ino):
                continue
            _check(path, opened)
            data = _read_at_most(fd, CAP + 1)
        except OSError as exc:
            raise _failed("read", path, exc) from exc
        finally:
            os.close(fd)
        if len(data) > CAP:
            raise ControlFileRefusedError(
                f"{path} grew over the {CAP:,}-byte cap for a "
                "control file while being read: refused"
            )
        return data, opened
    raise ControlFileRefusedError(
        f"{path} kept being replaced while being opened: refused, unread; try again"
    )


def _read_at_most(fd: int, limit: int) -> bytes:
    parts: list[bytes] = []
    left = limit
    while left > 0:
        part = os.read(fd, min(left, 1 << 16))
        if not part:
            break
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold the lock file beside `path` (`.{name}.lock`), never created through a link, so
    every writer on the host checks and replaces the file as one step."""
    lock = path.parent / f".{path.name}.lock"
    fd = _open_lock(lock, path)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise ControlFileRefusedError(
                f"the lock {lock} is {_kind(mode)}, not a regular "
                f"file: refused, nothing written to {path}"
            )
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _open_lock(lock: Path, path: Path) -> int:
    # Readable by all (0644), and taken read-only where it cannot be opened for writing, so a
    # lock left by another user, or on a read-only mount, still serialises the writers.
    nofollow = os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        try:
            return os.open(lock, os.O_RDWR | os.O_CREAT | nofollow, 0o644)
        except OSError as exc:
            if exc.errno not in {errno.EACCES, errno.EPERM, errno.EROFS}:
                raise
            try:
                return os.open(lock, os.O_RDONLY | nofollow)
            except FileNotFoundError:
                raise exc from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # the lock path is a symbolic link
            raise ControlFileRefusedError(
                f"the lock {lock} is a symbolic link (to {_link_text(lock)}): refused, nothing "
                f"written to {path} (a lock is never created through a link)"
            ) from exc
        raise _failed("create the lock for", path, exc) from exc


def write_control(path: Path, data: bytes) -> None:
    """Replace the control file at `path` with `data` in one step, keeping its mode and
    owner (a new file gets `NEW_MODE`); refused before anything is replaced when `path` is
    not a regular file or its owner cannot be kept. Call it under `locked(path)`."""
    if len(data) > CAP:
        raise ControlFileRefusedError(
            f"not written: the new {path.name} would be {len(data):,} "
            f"bytes, over the {CAP:,}-byte cap"
        )
    try:
        old: os.stat_result | None = os.lstat(path)
    except FileNotFoundError:
        old = None
    except OSError as exc:
        raise _failed("look at", path, exc) from exc
    if old is not None:
        _check_kind(path, old)
    with contextlib.suppress(OSError):  # litter that cannot be removed does no harm
        clean_leftovers(path)
    try:
        write_atomically(
            path, data, prepare=lambda fd: _keep_owner_and_mode(fd, path, old), sync_dir=False
        )
    except OSError as exc:
        raise _failed("write", path, exc) from exc
    try:
        sync_directory(path.parent)
    except OSError as exc:
        raise ControlFileIOError(
            f"{path} was replaced, but its directory could not be synced "
            f"to disk: {(exc.strerror or '').lower()}"
        ) from exc


def _check_kind(path: Path, st: os.stat_result) -> None:
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISREG(st.st_mode):
        _check(path, st)


def _keep_owner_and_mode(fd: int, path: Path, old: os.stat_result | None) -> None:
    """Give the temp file the old file's owner and mode, or refuse (nothing replaced)."""
    if old is None:
        os.fchmod(fd, NEW_MODE)
        return
    mine = os.fstat(fd)
    if (mine.st_uid, mine.st_gid) != (old.st_uid, old.st_gid):
        try:
            os.fchown(fd, old.st_uid, old.st_gid)
        except PermissionError as exc:
            raise ControlFileRefusedError(
                f"{path} is owned by uid {old.st_uid} gid {old.st_gid}, and uid {os.geteuid()} "
                "cannot give the new file that owner; replacing it would change its owner "
                "and its readers could lose access: refused, nothing written (act as its "
                "owner or as root)"
            ) from exc
    os.fchmod(fd, stat.S_IMODE(old.st_mode))  # after fchown, which may clear set-id bits
