"""Which bytes of a newly seen file are unread: its checkpoint, a copy's rest, all, or none.

A file is known by identity (device, inode) and by fingerprints of its content (its first
bytes, and the bytes before a checkpoint), never by its name. So a rename, a copytruncate's
copy, a rotation compressed to another inode, or an inode reused by a new file each gets the
right starting point, wherever it lies (the live file's directory or an `olddir`), and only
what is truly gone from disk becomes a gap, with its byte range.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
from typing import TYPE_CHECKING

from thirdbook.domain.records import TrackedFile
from thirdbook.ingest.compressed import (
    IncompleteError,
    UnreadableError,
    decompress_to_temp,
    decompressed_head,
    sniff_bytes,
)
from thirdbook.ingest.discovery import Candidate
from thirdbook.ingest.rotation import (
    await_continuation,
    following_ids,
    predates_source,
    resolve,
    resolved,
)
from thirdbook.ingest.tail import (
    HEAD_BYTES,
    TAIL_BYTES,
    Tail,
    digest,
    read_at,
    tail_fingerprint,
    tail_from,
)

if TYPE_CHECKING:
    from thirdbook.ingest.ingester import Ingester

OPEN_FLAGS = os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK
"""A watched file is opened without following a link and without blocking on a FIFO."""


class Content:
    """A candidate file's bytes as text: the file itself, or its decompressed content."""

    def __init__(self, fd: int, st: os.stat_result, compressed: str | None) -> None:
        self.raw_fd, self.st, self.compressed = fd, st, compressed
        self._fd: int | None = None if compressed else fd
        self._head: bytes | None = None

    def head(self) -> bytes:
        """The first `HEAD_BYTES` of the content (decompressing only that much)."""
        if self._head is None:
            if self._fd is not None:
                self._head = read_at(self._fd, HEAD_BYTES, 0)
            else:
                self._head = decompressed_head(self.raw_fd, self.compressed or "", HEAD_BYTES)
        return self._head

    def fd(self) -> int:
        """A descriptor on the whole content (for a compressed file, once it is complete)."""
        if self._fd is None:
            self._fd = decompress_to_temp(self.raw_fd, self.compressed or "")
        return self._fd

    def size(self) -> int:
        """The content's size."""
        return os.fstat(self.fd()).st_size

    def keep(self) -> int:
        """Hand the content descriptor to a tail; the compressed original is closed."""
        fd = self.fd()
        if self.compressed is not None:
            os.close(self.raw_fd)
        self.raw_fd = -1
        return fd

    def close(self) -> None:
        """Close whatever is still open."""
        for fd in {self.raw_fd, self._fd}:
            if fd is not None and fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)


def _open(candidate: Candidate) -> Content | str | None:
    """The candidate's content; a reason when it cannot be read; None when it changed
    under us (the next pass sees the new file)."""
    try:
        fd = os.open(candidate.path, OPEN_FLAGS)
    except FileNotFoundError:
        return None  # gone since it was listed (a rotation compressed meanwhile)
    except OSError as exc:
        return f"{exc.strerror or exc}"
    try:
        st = os.fstat(fd)
        if (st.st_dev, st.st_ino) != (candidate.dev, candidate.ino) or not stat.S_ISREG(st.st_mode):
            os.close(fd)
            return None
        return Content(fd, st, sniff_bytes(read_at(fd, 6, 0)))
    except OSError:
        os.close(fd)
        return None


def _settle(ingester: Ingester, candidate: Candidate) -> None:
    """Nothing in this file is unread: do not look at it again while it stays as it is."""
    ingester.settled[(candidate.dev, candidate.ino)] = (candidate.size, candidate.mtime_ns)


def _same_head(content: Content, row: TrackedFile) -> bool:
    head = content.head()
    return 0 < row.head_len <= len(head) and digest(head[: row.head_len]) == row.head_hash


def _copy_of_followed(ingester: Ingester, content: Content, row: TrackedFile) -> bool:
    """Whether the content copies a file being followed now, proven past its first bytes
    (two files may well share a header): by the committed checkpoint's fingerprint, or by
    the bytes before the point both have reached. When the original was cut meanwhile (the
    copy is found before the truncate is noticed), what is left of it is in the copy."""
    if not _same_head(content, row):
        return False
    if content.compressed is not None:
        return True  # a compressed rotation of it: the first bytes are proof enough
    size = content.size()
    if row.offset > row.head_len and size >= row.offset:
        return tail_fingerprint(content.fd(), row.offset) == row.tail_hash
    tail = next((t for t in ingester.tails.values() if t.file_id == row.id), None)
    if tail is None:
        return False
    reach = min(tail.offset, size)
    if reach <= row.head_len:
        # Little read yet: the copy must hold the very bytes the original holds.
        length = min(size, os.fstat(tail.fd).st_size)
        return length > 0 and read_at(content.fd(), length, 0) == read_at(tail.fd, length, 0)
    start = max(0, reach - TAIL_BYTES)
    theirs = read_at(tail.fd, reach - start, start)
    if len(theirs) < reach - start:
        return True  # the original is already cut short
    return read_at(content.fd(), reach - start, start) == theirs


def _matches(content: Content, row: TrackedFile) -> str | None:
    """How the content relates to a tracked stream: 'at' (it holds the stream's bytes up to
    the checkpoint), 'prefix' (it ends before the checkpoint), or None (another file)."""
    if not _same_head(content, row):
        return None
    size = content.size()
    if size < row.offset:
        return "prefix"
    return "at" if tail_fingerprint(content.fd(), row.offset) == row.tail_hash else None


async def open_candidate(
    ingester: Ingester, candidate: Candidate, *, live: bool, may_be_copy: bool = False
) -> Tail | None:
    """Decide where to read a file not yet followed, and follow it if anything is unread.

    `live` is True for a file the sources' patterns match (read whatever it holds) and False
    for a rotation found beside them (read only what no tracked stream already covers).
    `may_be_copy` is True for a file named like a rotation: one still shorter than a
    fingerprint that begins as a followed file begins may be a copy being made, so it waits.
    """
    key = (candidate.dev, candidate.ino)
    if ingester.settled.get(key) == (candidate.size, candidate.mtime_ns):
        return None
    if ingester.incomplete.get(key) == (candidate.size, candidate.mtime_ns):
        return None  # a compressed stream that has not ended and has not changed since
    store = ingester.store.ingest
    by_identity = await store.files_with_identity(*key)
    for row in by_identity:
        if (row.state, row.stat_size, row.stat_mtime_ns) == (
            "released",
            candidate.size,
            candidate.mtime_ns,
        ):
            _settle(ingester, candidate)  # read to its end, unchanged since
            return None
    opened = _open(candidate)
    if opened is None:
        return None
    if isinstance(opened, str):
        if candidate.path not in ingester.unopenable:
            ingester.unopenable.add(candidate.path)
            await store.add_note(None, "unreadable", f"{candidate.path}: {opened}")
        return None
    ingester.unopenable.discard(candidate.path)
    content = opened
    try:
        return await _classify(
            ingester, candidate, content, by_identity, live=live, may_be_copy=may_be_copy
        )
    except IncompleteError:
        content.close()  # still being compressed: a later pass reads it whole
        ingester.incomplete[key] = (candidate.size, candidate.mtime_ns)
        return None
    except OSError as exc:
        content.close()  # no room for its decompressed copy, say: try again later
        ingester.note_problem(f"{candidate.path}: cannot read it now: {exc}")
        return None
    except UnreadableError as exc:
        content.close()
        _settle(ingester, candidate)
        await store.add_note(None, "unreadable", f"{candidate.path}: {exc}; not read")
        return None
    except BaseException:
        content.close()
        raise


async def _classify(
    ingester: Ingester,
    candidate: Candidate,
    content: Content,
    by_identity: list[TrackedFile],
    *,
    live: bool,
    may_be_copy: bool,
) -> Tail | None:
    store = ingester.store.ingest
    following = {t.file_id for t in ingester.tails.values()}
    generation = 0
    for row in by_identity:
        verdict = await asyncio.to_thread(_matches, content, row)
        if verdict == "at":
            return await _continue(ingester, candidate, content, row, same_file=True)
        if row.state == "active" and row.id not in following:
            # Its inode now holds other bytes: truncated in place, or reused by a new file
            # once the old one was compressed or deleted. Look for the rest elsewhere.
            generation = max(generation, row.generation + 1)
            await await_continuation(
                ingester,
                row,
                f"{row.path} was truncated or replaced while ingest was stopped ({row.offset} "
                f"bytes had been read; its inode now holds other bytes, as {candidate.path}); "
                "looking for the rest of it beside the live file",
                kind="truncated" if row.path == candidate.path else "moved",
            )
    heads = _heads(content.head(), await store.short_head_lengths())
    for row in await store.files_with_head(heads):
        if row.dev == candidate.dev and row.ino == candidate.ino:
            continue
        if row.id in following:
            if _copy_of_followed(ingester, content, row):
                # A copy of a file still being followed (logrotate's copytruncate caught
                # between its copy and its truncate, or a compressed copy of a rotation still
                # draining): its unread part, if any, is read once the original is done with.
                content.close()
                return None
            continue
        if row.offset == 0:
            continue  # nothing of it was read: nothing to continue
        verdict = await asyncio.to_thread(_matches, content, row)
        if verdict is None:
            continue
        if verdict == "at" and content.size() > row.offset:
            return await _continue(ingester, candidate, content, row, same_file=False)
        await _record_copy(ingester, candidate, content, row, verdict)
        return None
    if not live and await predates_source(ingester, candidate):
        content.close()
        _settle(ingester, candidate)  # an old rotation from before ingest began: not asked for
        return None
    head = content.head()
    if may_be_copy and not head:
        content.close()
        _settle(ingester, candidate)  # an empty rotation: looked at again if it grows
        return None
    if may_be_copy and len(head) < HEAD_BYTES and _begins_a_followed_file(ingester, head):
        # logrotate's copy caught while it is being written: too short to tell from the file
        # it copies, so it is looked at again once it is longer (or complete).
        content.close()
        return None
    note = None
    if not live:
        note = ("rotated", f"{candidate.path}: a rotation never seen before; reading it from 0")
    tracked = await store.add_file(
        ingester.holder,
        source=candidate.source,
        path=candidate.path,
        dev=candidate.dev,
        ino=candidate.ino,
        head_len=len(head),
        head_hash=digest(head),
        generation=generation,
        note=note,
        compressed=content.compressed,
    )
    return _tail(ingester, tracked, content, candidate)


def _begins_a_followed_file(ingester: Ingester, head: bytes) -> bool:
    return any(
        read_at(t.fd, len(head), 0) == head for t in ingester.tails.values() if not t.complete
    )


def _heads(head: bytes, short: list[int]) -> dict[int, str]:
    heads = {len(head): digest(head)} if head else {}
    for length in short:
        if length < len(head):
            heads[length] = digest(head[:length])
    return heads


async def _continue(
    ingester: Ingester,
    candidate: Candidate,
    content: Content,
    row: TrackedFile,
    *,
    same_file: bool,
) -> Tail | None:
    """The content holds `row`'s stream up to its checkpoint: read on from there."""
    store = ingester.store.ingest
    size = content.size()
    if row.state != "active" and size <= row.offset:
        content.close()
        _settle(ingester, candidate)
        if row.state == "truncated":
            await resolve(ingester, row, content_end=size)
        return None
    where = "renamed" if same_file else "continued"
    if row.state == "active" and same_file:
        if row.path != candidate.path:
            await store.update_path(
                ingester.holder,
                row.id,
                candidate.path,
                f"{row.path} was renamed {candidate.path} while ingest was stopped",
            )
        tracked = row
    else:
        how, kind = ("the copy", "copy") if not same_file else ("the same file", "rotated")
        if content.compressed:
            how = f"a {content.compressed}-compressed rotation"
        tracked = await store.adopt(
            ingester.holder,
            row.id,
            path=candidate.path,
            dev=candidate.dev,
            ino=candidate.ino,
            compressed=content.compressed,
            note=(
                kind,
                f"{candidate.path} is {how} of {row.path}; reading it from byte "
                f"{row.offset}, where ingest of that file had got to ({where})",
            ),
        )
        resolved(ingester, row.id)
    tail = _tail(ingester, tracked, content, candidate)
    if row.state != "active" or not same_file:
        tail.lost_after = row.size_seen if row.size_seen > row.offset else None
    return tail


async def _record_copy(
    ingester: Ingester, candidate: Candidate, content: Content, row: TrackedFile, verdict: str
) -> None:
    """A copy of bytes already stored: remember it as read, and settle the stream it copies."""
    size = content.size()
    head = content.head()
    # The stream first, then the copy: a kill between the two leaves a copy that is
    # recognised again, never a stream left to become a false gap.
    if row.state in ("truncated", "active") and row.id not in following_ids(ingester):
        await resolve(ingester, row, content_end=size if verdict == "prefix" else row.offset)
    await ingester.store.ingest.add_file(
        ingester.holder,
        source=row.source,
        path=candidate.path,
        dev=candidate.dev,
        ino=candidate.ino,
        head_len=len(head),
        head_hash=digest(head),
        note=("copy", f"{candidate.path}: a copy of bytes of {row.path} already read; skipped"),
        settled=(size, tail_fingerprint(content.fd(), size), candidate.size, candidate.mtime_ns),
        compressed=content.compressed,
    )
    content.close()
    _settle(ingester, candidate)


def _tail(ingester: Ingester, row: TrackedFile, content: Content, candidate: Candidate) -> Tail:
    tail = tail_from(row, content.keep(), candidate.path)
    tail.dev, tail.ino = candidate.dev, candidate.ino  # the file's identity, not a temp copy's
    tail.stat_key = (candidate.size, candidate.mtime_ns)
    tail.complete = row.compressed is not None or content.compressed is not None
    tail.line_format = ingester.formats[candidate.source]
    ingester.claimed.add(row.id)
    return tail
