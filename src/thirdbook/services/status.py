"""What `thirdbook status` shows: the ingest figures, the lease holder and whether it is
live, the gaps and the recent ingest notes.

`quick_status` reads them without a `Context` or a `Store`: the settings it needs from what
the last full load of the same config file remembered (`quick_settings`), the rows on the
stdlib `sqlite3` (`store.quick_reads`), no pydantic model anywhere. Where it cannot (a config
file not validated yet, a store that needs a migration or must be read read-only, ...) it
gives None and `full_status` reads the same from the services.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from thirdbook.domain.clock import from_us
from thirdbook.services.quick_settings import quick_store
from thirdbook.store.holders import holder_live
from thirdbook.store.quick_reads import COUNTED_NOTES, NoteRow

if TYPE_CHECKING:
    from thirdbook.domain.records import IngestNote
    from thirdbook.services.factory import Services

SHOWN_NOTES = 20
"""How many of the newest notes, and of the newest gaps, `status` lists."""


class StatusNote(NamedTuple):
    """An ingest note: a gap (with its byte range), a truncation, a rotation, a pause..."""

    at: datetime
    kind: str
    detail: str
    gap_start: int | None
    gap_end: int | None


class StatusHolder(NamedTuple):
    """Who holds the ingest lease, their last heartbeat, and whether they are live."""

    user: str
    host: str
    pid: int
    heartbeat: datetime
    live: bool


class IngestStatus(NamedTuple):
    """Everything `thirdbook status` prints."""

    store: Path
    events: int
    rejects: int
    files_active: int
    backlog_bytes: int
    holder: StatusHolder | None
    paused_reason: str | None
    gaps: int
    truncations: int
    notes: list[StatusNote]
    gap_notes: list[StatusNote]


def quick_status(data_dir: Path | None, config: Path | None, *, demo: bool) -> IngestStatus | None:
    """The status read quickly (see the module docstring), or None where it cannot be."""
    opened = quick_store(data_dir, config, demo=demo)
    if opened is None:
        return None
    reads, settings = opened
    try:
        rows = reads.ingest_rows(shown=SHOWN_NOTES, counted=COUNTED_NOTES)
    finally:
        reads.close()
    if rows is None:
        return None
    holder = rows.holder
    heartbeat = None if holder is None else from_us(holder.heartbeat_us)
    return IngestStatus(
        store=reads.path,
        events=rows.events,
        rejects=rows.rejects,
        files_active=rows.files_active,
        backlog_bytes=rows.backlog_bytes,
        holder=None
        if holder is None or heartbeat is None
        else StatusHolder(
            user=holder.user,
            host=holder.host,
            pid=holder.pid,
            heartbeat=heartbeat,
            live=holder_live(holder.host, holder.pid, heartbeat.timestamp(), settings.lease_ttl_s),
        ),
        paused_reason=rows.paused_reason,
        gaps=rows.gaps,
        truncations=rows.truncations,
        notes=[_from_row(n) for n in rows.notes],
        gap_notes=[_from_row(n) for n in rows.gap_notes],
    )


async def full_status(services: Services) -> IngestStatus:
    """The status from the services (health, and the notes)."""
    health = await services.health.read()
    notes = await services.queries.notes(limit=SHOWN_NOTES)
    gaps = await services.queries.notes(["gap"], SHOWN_NOTES)
    lease = health.lease
    return IngestStatus(
        store=services.paths.store,
        events=health.events_total,
        rejects=health.rejects_total,
        files_active=health.files_active,
        backlog_bytes=health.backlog_bytes,
        holder=None
        if lease is None
        else StatusHolder(lease.user, lease.host, lease.pid, lease.heartbeat, health.lease_live),
        paused_reason=health.paused_reason,
        gaps=health.gaps,
        truncations=health.truncations,
        notes=[_from_note(n) for n in notes],
        gap_notes=[_from_note(n) for n in gaps],
    )


def _from_row(note: NoteRow) -> StatusNote:
    return StatusNote(from_us(note.ts_us), note.kind, note.detail, note.gap_start, note.gap_end)


def _from_note(note: IngestNote) -> StatusNote:
    return StatusNote(note.ts, note.kind, note.detail, note.gap_start, note.gap_end)
