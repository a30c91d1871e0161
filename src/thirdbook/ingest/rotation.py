"""What becomes of a stream a rotation cut short (followed on elsewhere, settled, or a gap),
and of a file that left the sources (released once it is read to its end).

A tracked file whose bytes are no longer where ingest was reading them (truncated in place,
renamed out of sight, its inode reused) is *pending*: the rest of it is looked for, beside
the live file and in the `olddirs`, for `ingest.rotation_wait_s`; then what was seen and is
in no file is a gap with its byte range.
"""

from __future__ import annotations

import contextlib
import os
import time

from thirdbook.domain.clock import now_us
from thirdbook.domain.records import TrackedFile
from thirdbook.ingest.discovery import Candidate
from thirdbook.ingest.ingester_protocols import Tracking
from thirdbook.ingest.tail import REJECT_KEEP_BYTES, Batch, Tail, read_at
from thirdbook.store.ingest_rows import NoteTuple, RejectTuple


def following_ids(ingester: Tracking) -> set[int]:
    """The tracked rows followed by an open descriptor now."""
    return {t.file_id for t in ingester.tails.values()}


async def predates_source(ingester: Tracking, candidate: Candidate) -> bool:
    """Whether a rotation was last written before ingest began following its source
    (an old rotation nobody asked for)."""
    started = ingester.source_started.get(candidate.source)
    if started is None:
        started = await ingester.store.ingest.source_started_us(candidate.source)
        if started is None:
            return True
        ingester.source_started[candidate.source] = started
    return candidate.mtime_ns // 1000 < started


async def await_continuation(
    ingester: Tracking, row: TrackedFile, detail: str, *, kind: str, while_stopped: bool = False
) -> None:
    """A stream was cut short: look for the rest of it for a while before a gap."""
    await ingester.store.ingest.set_state(ingester.holder, row.id, "truncated", (kind, detail))
    ingester.pending[row.id] = time.monotonic() + ingester.settings.rotation_wait_s
    if while_stopped:
        ingester.stopped_rows.add(row.id)


def resolved(ingester: Tracking, row_id: int) -> None:
    """The rest of a cut stream was found and is followed."""
    ingester.pending.pop(row_id, None)
    ingester.claimed.add(row_id)


async def resolve(ingester: Tracking, row: TrackedFile, *, content_end: int) -> None:
    """A cut stream's copy holds nothing unread: settle it, with a gap for what was seen
    in the original and is in no file now."""
    ingester.pending.pop(row.id, None)
    ingester.stopped_rows.discard(row.id)
    if row.size_seen > row.offset:
        detail = (
            f"{row.path}: bytes {row.offset}..{row.size_seen} were seen but are in no file "
            f"now (its copy ends at byte {content_end}: logrotate's copy-then-truncate window)"
        )
        await ingester.store.ingest.set_state(
            ingester.holder, row.id, "gone", ("gap", detail), gap=(row.offset, row.size_seen)
        )
    else:
        detail = f"{row.path}: its copy holds nothing unread (read to byte {row.offset})"
        await ingester.store.ingest.set_state(
            ingester.holder, row.id, "released", ("released", detail)
        )


async def unclaimed_are_pending(ingester: Tracking) -> None:
    """On the first pass: tracked files found nowhere by identity were rotated away or
    deleted while ingest was stopped; their rest is looked for by fingerprint. (Files of
    sources this ingester does not follow are left as they are.)"""
    names = {source.name for source in ingester.sources}
    for row in await ingester.store.ingest.files("active"):
        if row.id not in ingester.claimed and row.source in names and not _still_at(row):
            await await_continuation(
                ingester,
                row,
                f"{row.path} was rotated away or deleted while ingest was stopped; "
                "looking for the rest of it by its fingerprint",
                kind="moved",
                while_stopped=True,
            )


async def settle_pending(ingester: Tracking, *, force: bool = False) -> None:
    """Give up on cut streams whose rest has not turned up in time: record the gap."""
    now = time.monotonic()
    names = {source.name for source in ingester.sources}
    for row in await ingester.store.ingest.files("truncated", newest=500):
        if row.source not in names:
            continue  # another ingester's source: not ours to judge
        deadline = ingester.pending.setdefault(row.id, now + ingester.settings.rotation_wait_s)
        if not force and now < deadline:
            continue
        ingester.pending.pop(row.id, None)
        stopped = row.id in ingester.stopped_rows
        ingester.stopped_rows.discard(row.id)
        if row.offset < row.size_seen or stopped:
            end = row.size_seen if row.size_seen > row.offset else None
            shown = f"{row.offset}..{end}" if end is not None else f"from {row.offset}"
            if stopped:
                detail = (
                    f"{row.path} was rotated away or deleted while ingest was stopped: "
                    f"bytes {shown} (and anything written later) were never read and are "
                    "in no file found beside it"
                )
            else:
                detail = (
                    f"{row.path}: bytes {shown} were never read and are in no file found beside it"
                )
            await ingester.store.ingest.set_state(
                ingester.holder, row.id, "gone", ("gap", detail), gap=(row.offset, end)
            )
        else:
            detail = f"{row.path}: read to byte {row.offset}; nothing unread was seen in it"
            await ingester.store.ingest.set_state(
                ingester.holder, row.id, "released", ("released", detail)
            )


def _still_at(row: TrackedFile) -> bool:
    """Whether the row's file is still at its path (unreadable now, perhaps, but not moved)."""
    try:
        st = os.lstat(row.path)
    except OSError:
        return False
    return (st.st_dev, st.st_ino) == (row.dev, row.ino)


async def release_finished(ingester: Tracking) -> None:
    """Close files that left the sources (renamed away, deleted) once they stop growing."""
    now = time.monotonic()
    for key, tail in list(ingester.tails.items()):
        if tail.orphan_since is None:
            continue
        quiet_since = max(tail.orphan_since, tail.last_growth)
        if now - quiet_since < ingester.settings.release_after_s:
            continue
        try:
            size = tail.size()
        except OSError:
            size = tail.read_pos
        if size > tail.read_pos:
            continue  # still has unread bytes: the next pass reads them
        cut = await _reject_unterminated(ingester, tail, size)
        if not cut and tail.lost_after is not None and tail.lost_after > tail.offset:
            await ingester.store.ingest.add_gap(
                ingester.holder,
                tail.file_id,
                tail.offset,
                tail.lost_after,
                f"{tail.path}: bytes {tail.offset}..{tail.lost_after} of the file it "
                "copies were seen but are in neither file (written after the copy was "
                "taken and cut by the truncate: logrotate's copy-then-truncate window)",
            )
        detail = f"{tail.path}: read to its end ({tail.offset} bytes), released"
        stat = tail.stat_key if tail.complete else _stat_key(tail.fd)
        await ingester.store.ingest.set_state(
            ingester.holder, tail.file_id, "released", ("released", detail), stat=stat
        )
        with contextlib.suppress(OSError):
            os.close(tail.fd)
        del ingester.tails[key]


async def _reject_unterminated(ingester: Tracking, tail: Tail, size: int) -> bool:
    """A released file's last line never got its newline: keep it as a reject. In a copy, that
    line was cut: the gap after it is recorded with the reject. Returns whether it was."""
    if size <= tail.offset:
        return False
    length = size - tail.offset
    raw = read_at(tail.fd, min(length, REJECT_KEEP_BYTES), tail.offset)
    reject: RejectTuple = (
        tail.file_id,
        tail.offset,
        length,
        "the file ended without a newline; its last line is incomplete",
        raw,
        int(len(raw) == length),
        now_us(),
    )
    gap = await _cut_inside_a_line(ingester, tail, size)
    batch = Batch(start=tail.offset, segments=[], long_lines=[], end=size)
    await ingester.commit(tail, batch, [], [reject], gap)
    return gap is not None


async def _cut_inside_a_line(ingester: Tracking, tail: Tail, size: int) -> NoteTuple | None:
    """The gap after a copy of a file (a copytruncate copy, a compressed rotation) that ends
    inside a line: the copy was taken while that line was being written (logrotate's last
    read saw the file end at a page boundary of the write), so the rest of it went to the
    original after the copy and is in neither file. None for the file the writer writes."""
    if not await ingester.store.ingest.notes(kinds=["copy"], file_id=tail.file_id, limit=1):
        return None
    end = tail.lost_after if tail.lost_after is not None and tail.lost_after > size else None
    shown = f"{size}..{end}" if end is not None else f"from {size}"
    lost = (
        "deleted with the original once it was compressed"
        if tail.complete
        else "cut by the truncate (logrotate's copy-then-truncate window)"
    )
    detail = (
        f"{tail.path}: the copy ends inside a line (bytes {tail.offset}..{size}, kept as a "
        f"reject); bytes {shown} of the file it copies (the rest of that line, and whatever "
        f"followed it) were written after the copy was taken and {lost}"
    )
    return "gap", detail, (size, end)


def _stat_key(fd: int) -> tuple[int, int]:
    st = os.fstat(fd)
    return st.st_size, st.st_mtime_ns
