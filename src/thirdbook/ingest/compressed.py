"""Compressed rotations (logrotate's `compress`): known by their magic bytes, never read as text.

A compressed file is read only once it is complete (its stream ends properly): logrotate
may still be writing it. Its content is decompressed, with bounded memory, into an unnamed
temporary file, which the tailer then reads like any other file.
"""

from __future__ import annotations

import bz2
import lzma
import os
import tempfile
import zlib
from collections.abc import Iterator
from typing import Protocol

from thirdbook.ingest.tail import read_at

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
)
READABLE = frozenset({"gzip", "bzip2", "xz"})
_CHUNK = 64 << 10
"""Compressed bytes read at a time: what one step inflates stays a few MiB."""


class IncompleteError(Exception):
    """The compressed stream does not end yet (still being written)."""


class UnreadableError(Exception):
    """A compressed file this build cannot decompress, or a corrupt one."""


class _Decompressor(Protocol):
    @property
    def eof(self) -> bool: ...
    @property
    def unused_data(self) -> bytes: ...

    def decompress(self, data: bytes) -> bytes: ...


def sniff_bytes(head: bytes) -> str | None:
    """The compression some first bytes announce, or None for plain text."""
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    return None


def sniff(fd: int) -> str | None:
    """The compression a file's first bytes announce, or None for plain text."""
    return sniff_bytes(read_at(fd, 6, 0))


def _decompressor(kind: str) -> _Decompressor:
    if kind == "gzip":
        return zlib.decompressobj(wbits=31)
    if kind == "bzip2":
        return bz2.BZ2Decompressor()
    return lzma.LZMADecompressor()


def decompress_to_temp(fd: int, kind: str, directory: str | None = None) -> int:
    """Decompress the whole file into an unnamed temporary file; return its descriptor.

    Raises `IncompleteError` when the stream has not ended (a later pass tries again) and
    `UnreadableError` for a format this build cannot read or a corrupt stream. Concatenated
    members (as `cat a.gz b.gz` makes) are all read; zero padding after the last is ignored.
    """
    with tempfile.TemporaryFile(dir=directory) as out:
        for chunk in iter_content(fd, kind):
            out.write(chunk)  # an OSError here (no room) is not the file's fault
        out.flush()
        return os.dup(out.fileno())


def iter_content(fd: int, kind: str) -> Iterator[bytes]:
    """The decompressed content of a whole compressed file, a chunk at a time (each a few
    MiB at most). Raises as `decompress_to_temp` does, once it gets there."""
    if kind not in READABLE:
        raise UnreadableError(f"{kind}-compressed files cannot be read by this build")
    offset, data = 0, b""
    while True:
        member = _decompressor(kind)
        while not member.eof:
            if not data:
                data = os.pread(fd, _CHUNK, offset)
                offset += len(data)
                if not data:
                    raise IncompleteError(f"the {kind} stream does not end yet")
            try:
                chunk = member.decompress(data)
            except (zlib.error, OSError, EOFError, lzma.LZMAError, ValueError) as exc:
                raise UnreadableError(f"the {kind} stream is corrupt: {exc}") from exc
            if chunk:
                yield chunk
            data = b""
        data = member.unused_data
        if len(data) < 6:  # enough to tell another member's magic bytes
            more = os.pread(fd, _CHUNK, offset)
            offset += len(more)
            data += more
        if sniff_bytes(data) == kind:
            continue  # another member
        if data.strip(b"\x00") or _nonzero_after(fd, offset):
            raise UnreadableError(f"bytes after the end of the {kind} stream")
        return


def _nonzero_after(fd: int, offset: int) -> bool:
    while data := os.pread(fd, _CHUNK, offset):
        if data.strip(b"\x00"):
            return True
        offset += len(data)
    return False


def decompressed_head(fd: int, kind: str, length: int) -> bytes:
    """The first `length` bytes of a compressed file's content, decompressing only that much.

    Raises `IncompleteError` when the stream stops short of `length` without ending, and
    `UnreadableError` as `decompress_to_temp` does.
    """
    if kind not in READABLE:
        raise UnreadableError(f"{kind}-compressed files cannot be read by this build")
    member = _decompressor(kind)
    out = bytearray()
    offset = 0
    while len(out) < length and not member.eof:
        data = os.pread(fd, 4096, offset)
        offset += len(data)
        if not data:
            raise IncompleteError(f"the {kind} stream does not end yet")
        try:
            out += member.decompress(data)
        except (zlib.error, OSError, EOFError, lzma.LZMAError, ValueError) as exc:
            raise UnreadableError(f"the {kind} stream is corrupt: {exc}") from exc
    if len(out) < length and member.eof and (member.unused_data or os.pread(fd, 1, offset)):
        # A short first member followed by others: the head spans members; read them all.
        full = decompress_to_temp(fd, kind)
        try:
            return read_at(full, length, 0)
        finally:
            os.close(full)
    return bytes(out[:length])
