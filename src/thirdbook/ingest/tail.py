"""One followed file: what has been committed, what is read but not yet a whole line.

A `Tail` only reads; the ingester commits. The committed `offset` always sits at a line end.
Bytes read past it are either a partial last line held back (`carry`) or the skipped middle
of an over-long line (`skip`). When a commit fails, `rewind()` throws all of that away and
the next read starts again at the committed offset, so nothing is lost or read twice.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, field

from thirdbook.domain.formats import DEFAULT_FORMAT, format_named
from thirdbook.domain.line_format import LineFormat
from thirdbook.domain.records import TrackedFile
from thirdbook.ingest.parse import REJECT_KEEP_BYTES

HEAD_BYTES = 1024
"""The fingerprint covers up to this many bytes from the start of a file."""
TAIL_BYTES = 256
"""And the checkpoint remembers a hash of this many bytes before the committed offset."""


def digest(data: bytes) -> str:
    """The fingerprint digest of some bytes."""
    return hashlib.sha256(data).hexdigest()


def read_at(fd: int, length: int, offset: int) -> bytes:
    """Up to `length` bytes at `offset` (fewer at the end of the file)."""
    chunks = []
    while length > 0:
        data = os.pread(fd, length, offset)
        if not data:
            break
        chunks.append(data)
        length -= len(data)
        offset += len(data)
    return b"".join(chunks)


def head_fingerprint(fd: int) -> tuple[int, str]:
    """(length, hash) of the file's first bytes, up to `HEAD_BYTES`."""
    head = read_at(fd, HEAD_BYTES, 0)
    return len(head), digest(head)


def tail_fingerprint(fd: int, offset: int) -> str:
    """The hash of the bytes just before `offset` ('' at offset 0)."""
    if offset <= 0:
        return ""
    start = max(0, offset - TAIL_BYTES)
    return digest(read_at(fd, offset - start, start))


@dataclass
class _Skip:
    """The over-long line being skipped: where it started, its first bytes, its length."""

    start: int
    prefix: bytes
    length: int


@dataclass
class LongLine:
    """A line over the size limit, found while reading: it becomes a reject."""

    offset: int
    length: int
    prefix: bytes


@dataclass
class Batch:
    """Complete lines read from a file, ready to parse and commit together.

    `segments` are runs of whole lines with the offset of their first byte; an over-long
    line between two runs is in `long_lines` instead.
    """

    start: int
    segments: list[tuple[int, bytes]]
    long_lines: list[LongLine]
    end: int
    bytes_read: int = 0

    @property
    def empty(self) -> bool:
        """True when the batch moves nothing: no lines and no offset change."""
        return self.end == self.start and not self.long_lines

    @property
    def last_bytes(self) -> bytes:
        """The batch's final bytes (for the checkpoint's tail hash), if it has lines."""
        return self.segments[-1][1] if self.segments else b""


@dataclass
class Tail:
    """A file being followed through one open descriptor."""

    file_id: int
    source: str
    path: str
    fd: int
    dev: int
    ino: int
    generation: int
    offset: int
    head_len: int
    head_hash: str
    read_pos: int = -1
    read_end: int = -1
    carry: bytearray = field(default_factory=bytearray)
    skip: _Skip | None = None
    last_size: int = -1
    last_mtime_ns: int = -1
    orphan_since: float | None = None
    last_growth: float = 0.0
    max_size: int = 0
    """The largest size seen in this generation (what a truncation may have cut)."""
    lost_after: int | None = None
    """For a copy continuing a cut stream: how far the original was seen to reach; what the
    copy does not hold of that is a gap."""
    stat_key: tuple[int, int] = (-1, -1)
    """The file's (size, mtime) when opened: a released file unchanged since is not reread."""
    complete: bool = False
    """True for content that cannot grow (a decompressed rotation)."""
    line_format: LineFormat = field(default_factory=lambda: format_named(DEFAULT_FORMAT))
    """How its lines are read: the format of the source that matched it."""

    def __post_init__(self) -> None:
        if self.read_pos < 0:
            self.read_pos = self.offset
        if self.read_end < 0:
            self.read_end = self.offset

    @property
    def key(self) -> tuple[int, int]:
        """The file's identity on this host while it is open: (device, inode)."""
        return self.dev, self.ino

    def rewind(self) -> None:
        """Forget everything read past the committed offset (after a failed commit)."""
        self.read_pos = self.offset
        self.read_end = self.offset
        self.carry = bytearray()
        self.skip = None

    def committed(self, batch: Batch) -> None:
        """The batch is in the store: its end is the new committed offset."""
        self.offset = batch.end

    def size(self) -> int:
        """The file's current size."""
        return os.fstat(self.fd).st_size

    def backlog(self) -> int:
        """Bytes in the file past the committed offset."""
        try:
            return max(0, self.size() - self.offset)
        except OSError:
            return 0

    def replaced_or_truncated(self) -> str | None:
        """Why the bytes already read are no longer in the file, or None.

        A copytruncate shows as a size below what was read; a truncate followed by fresh
        writes past the old size shows as changed first bytes.
        """
        st = os.fstat(self.fd)
        if st.st_size == self.last_size and st.st_mtime_ns == self.last_mtime_ns:
            return None
        self.last_size, self.last_mtime_ns = st.st_size, st.st_mtime_ns
        if st.st_size < self.read_pos:
            return f"file shrank to {st.st_size} bytes, below the {self.read_pos} already read"
        if self.head_len and digest(read_at(self.fd, self.head_len, 0)) != self.head_hash:
            return "the file's first bytes changed (truncated and written again)"
        self.max_size = max(self.max_size, st.st_size)  # this generation's bytes, seen
        return None

    def cut_while_reading(self) -> str | None:
        """After a read: why the bytes just read may not be this generation's, or None."""
        st = os.fstat(self.fd)
        if st.st_size < self.read_end:
            return f"file shrank to {st.st_size} bytes while being read"
        if self.head_len and digest(read_at(self.fd, self.head_len, 0)) != self.head_hash:
            return "the file's first bytes changed while being read (truncated and written again)"
        return None

    def refresh_head(self) -> None:
        """Extend the head fingerprint while the file is shorter than `HEAD_BYTES`."""
        if self.head_len < HEAD_BYTES:
            self.head_len, self.head_hash = head_fingerprint(self.fd)

    def read_batch(
        self, max_lines: int, chunk_bytes: int, max_line_bytes: int, max_bytes: int = 16 << 20
    ) -> Batch:
        """Read the next complete lines (after those already handed out), up to about `max_lines`.

        Memory stays bounded: a partial line is held back only up to `max_line_bytes`;
        past that its first bytes are kept and the rest is skipped until its newline.
        """
        if self.skip is None and self.read_pos != self.read_end + len(self.carry):
            self.rewind()
        segments: list[tuple[int, bytes]] = []
        long_lines: list[LongLine] = []
        start = line_start = end = self.read_end
        lines = 0
        budget = max(max_bytes, chunk_bytes)
        read = 0
        while lines < max_lines and read < budget:
            data = os.pread(self.fd, chunk_bytes, self.read_pos)
            if not data:
                break
            self.read_pos += len(data)
            read += len(data)
            view = data
            if self.skip is not None:
                newline = view.find(b"\n")
                if newline < 0:
                    self.skip.length += len(view)
                    continue
                self.skip.length += newline
                long_lines.append(LongLine(self.skip.start, self.skip.length, self.skip.prefix))
                end = self.skip.start + self.skip.length + 1
                line_start = end
                self.skip = None
                view = view[newline + 1 :]
            last = view.rfind(b"\n")
            if last < 0:
                self.carry += view
            else:
                complete = bytes(self.carry) + view[: last + 1] if self.carry else view[: last + 1]
                segments.append((line_start, complete))
                lines += complete.count(b"\n")
                end = line_start + len(complete)
                line_start = end
                self.carry = bytearray(view[last + 1 :])
            if len(self.carry) > max_line_bytes:
                self.skip = _Skip(
                    line_start, bytes(self.carry[:REJECT_KEEP_BYTES]), len(self.carry)
                )
                self.carry = bytearray()
        self.read_end = end
        return Batch(start, segments, long_lines, end, bytes_read=read)


def resume_verdict(fd: int, size: int, row: TrackedFile) -> str:
    """'resume' if this open file is the one the checkpoint describes, 'truncated' if it is
    that file cut short, 'different' otherwise."""
    head = read_at(fd, row.head_len, 0)
    if len(head) < row.head_len or digest(head) != row.head_hash:
        return "truncated" if size < row.head_len else "different"
    if size < row.offset:
        return "truncated"
    if tail_fingerprint(fd, row.offset) != row.tail_hash:
        return "different"
    return "resume"


def tail_from(row: TrackedFile, fd: int, path: str) -> Tail:
    st = os.fstat(fd)
    return Tail(
        file_id=row.id,
        source=row.source,
        path=path,
        fd=fd,
        dev=st.st_dev,
        ino=st.st_ino,
        generation=row.generation,
        offset=row.offset,
        head_len=row.head_len,
        head_hash=row.head_hash,
        last_growth=time.monotonic(),
    )
