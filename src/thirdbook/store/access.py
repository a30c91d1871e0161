"""Whether this process may write a store, and how to read one it may not write.

SQLite reads a WAL-mode store read-only (`mode=ro`) when its `-shm` index file exists or can
be made beside it. Where neither holds (a cleanly closed store on read-only media, or in a
directory this user may not write), it can still read the database file as `immutable`, which
assumes nobody writes the file meanwhile and reads no write-ahead log at all. So a `-wal`
file that holds frames would make that view older than the store: we refuse it instead.
"""

from __future__ import annotations

import os
import sqlite3
import struct
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import quote

from thirdbook.domain.errors import StoreError
from thirdbook.store.failures import describe_failure

if TYPE_CHECKING:  # imported where a connection is made: `store.quick_reads` needs none
    import aiosqlite

Access = Literal["write", "read", "auto"]
"""`write`: open for writing, or refuse with the reason; `read`: never write; `auto`: write if
this process can, else read (what every read command asks for)."""

_WAL_MAGIC = (0x377F0682, 0x377F0683)
_WAL_HEADER = 32
_FRAME_HEADER = 24


def write_refusal(path: Path) -> str | None:
    """Why this process cannot write the store at `path` (None when it can): its directory
    (or the nearest one that exists) is on a read-only filesystem or not writable by this
    user, or one of its files is not."""
    directory = path.parent
    while not directory.exists() and directory != directory.parent:
        directory = directory.parent
    try:
        read_only_fs = bool(os.statvfs(directory).f_flag & os.ST_RDONLY)
    except OSError:
        read_only_fs = False
    if read_only_fs:
        return f"{directory} is on a read-only filesystem"
    if not os.access(directory, os.W_OK | os.X_OK):
        return f"{directory} is not writable by this user (uid {os.geteuid()})"
    for file in (path, sibling(path, "-wal"), sibling(path, "-shm")):
        if file.exists() and not os.access(file, os.W_OK):
            return f"{file} is not writable by this user (uid {os.geteuid()})"
    return None


def sibling(path: Path, suffix: str) -> Path:
    """The store's `-wal` or `-shm` file."""
    return path.with_name(path.name + suffix)


def store_uri(path: Path, mode: Literal["ro", "rw"]) -> str:
    """The SQLite URI that opens the existing store at `path` read-only or read-write (never
    creating it)."""
    # What urllib.request.pathname2url does on POSIX, without importing urllib.request (and
    # with it http.client and email) on every start.
    return f"file:{quote(str(path.absolute()))}?mode={mode}"


def read_only_uri(path: Path, *, immutable: bool) -> str:
    """The SQLite URI that opens `path` read-only (and, if asked, as immutable)."""
    return store_uri(path, "ro") + ("&immutable=1" if immutable else "")


def unread_wal_bytes(path: Path) -> int:
    """The size of the store's `-wal` file when it holds frames (which an immutable open would
    not read); 0 when there is none, it is empty, or its first frame is not of its header's
    generation (left over from before the last checkpoint)."""
    wal = sibling(path, "-wal")
    try:
        with wal.open("rb") as f:
            head = f.read(_WAL_HEADER + _FRAME_HEADER)
            size = os.fstat(f.fileno()).st_size
    except FileNotFoundError:
        return 0
    if len(head) < _WAL_HEADER + _FRAME_HEADER:
        return 0
    magic = struct.unpack(">I", head[:4])[0]
    if magic not in _WAL_MAGIC:
        return size  # not a WAL we can read the header of: assume the worst
    # A frame belongs to the log's current generation when it carries the header's salts.
    salts = head[16:24]
    return size if head[_WAL_HEADER + 8 : _WAL_HEADER + 16] == salts else 0


async def connect_read_only(path: Path, busy_timeout_ms: int) -> aiosqlite.Connection:
    """A read-only connection (see `store.access`), its first read already done."""
    import aiosqlite

    timeout = busy_timeout_ms / 1000
    conn = await aiosqlite.connect(
        read_only_uri(path, immutable=False), uri=True, isolation_level=None, timeout=timeout
    )
    try:
        await conn.execute("SELECT count(*) FROM sqlite_master")
        return conn
    except sqlite3.OperationalError as exc:
        await conn.close()
        # 8: SQLITE_READONLY (its -shm cannot be made), 14: SQLITE_CANTOPEN.
        if getattr(exc, "sqlite_errorcode", 0) & 0xFF not in {8, 14}:
            raise StoreError(describe_failure(exc, path) or str(exc)) from exc
    except BaseException:
        await conn.close()
        raise
    unread = unread_wal_bytes(path)
    if unread:
        raise StoreError(
            f"the store {path} cannot be read here: its write-ahead log "
            f"{sibling(path, '-wal')} holds {unread:,} bytes that may not be in the database "
            f"file yet, and reading them needs {sibling(path, '-shm')}, which cannot be made "
            "in a read-only directory; copy the store's files somewhere writable and read "
            "that copy (--data-dir)"
        )
    conn = await aiosqlite.connect(
        read_only_uri(path, immutable=True), uri=True, isolation_level=None, timeout=timeout
    )
    try:
        await conn.execute("SELECT count(*) FROM sqlite_master")
    except sqlite3.DatabaseError as exc:
        await conn.close()
        raise StoreError(describe_failure(exc, path) or str(exc)) from exc
    return conn
