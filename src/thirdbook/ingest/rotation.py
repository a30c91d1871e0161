"""What becomes of a stream a rotation cut short: followed on elsewhere, settled, or a gap.

A tracked file whose bytes are no longer where ingest was reading them (truncated in place,
renamed out of sight, its inode reused) is *pending*: the rest of it is looked for, beside
the live file and in the `olddirs`, for `ingest.rotation_wait_s`; then what was seen and is
in no file is a gap with its byte range.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

from thirdbook.domain.records import TrackedFile
from thirdbook.ingest.discovery import Candidate

if TYPE_CHECKING:
    from thirdbook.ingest.ingester import Ingester


def following_ids(ingester: Ingester) -> set[int]:
    """The tracked rows followed by an open descriptor now."""
    return {t.file_id for t in ingester.tails.values()}


async def predates_source(ingester: Ingester, candidate: Candidate) -> bool:
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
    ingester: Ingester, row: TrackedFile, detail: str, *, kind: str, while_stopped: bool = False
) -> None:
    """A stream was cut short: look for the rest of it for a while before a gap."""
    await ingester.store.ingest.set_state(ingester.holder, row.id, "truncated", (kind, detail))
    ingester.pending[row.id] = time.monotonic() + ingester.settings.rotation_wait_s
    if while_stopped:
        ingester.stopped_rows.add(row.id)


def resolved(ingester: Ingester, row_id: int) -> None:
    """The rest of a cut stream was found and is followed."""
    ingester.pending.pop(row_id, None)
    ingester.claimed.add(row_id)


async def resolve(ingester: Ingester, row: TrackedFile, *, content_end: int) -> None:
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


async def unclaimed_are_pending(ingester: Ingester) -> None:
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


async def settle_pending(ingester: Ingester, *, force: bool = False) -> None:
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
