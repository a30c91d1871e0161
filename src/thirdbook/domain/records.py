"""What the store holds and hands back: stored events, rejects, tracked files, the lease."""

from __future__ import annotations

from datetime import datetime
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from thirdbook.domain.clock import TS_FIRST as TS_FIRST

# The store's times, and reading one back, live in `clock` (no pydantic: `status` reads them).
from thirdbook.domain.clock import TS_FIRST_US, TS_LAST_US
from thirdbook.domain.clock import TS_LAST as TS_LAST
from thirdbook.domain.clock import from_us as from_us
from thirdbook.domain.clock import to_us as to_us
from thirdbook.domain.keys import lookup_key as lookup_key

FileState = Literal["active", "released", "truncated", "gone"]


def in_store_range(us: int) -> bool:
    """Whether a time (microseconds since the epoch) is one the store keeps."""
    return TS_FIRST_US <= us <= TS_LAST_US


def within_store_range(ts: datetime) -> datetime:
    """`ts` itself when the store can keep it, else the nearest edge of the range (UTC)."""
    return ts if in_store_range(to_us(ts)) else from_us(to_us(ts))


class _Record(BaseModel):
    # Each model's validator is built when it is first used (a command reading events does
    # not pay for the files' or the lease's).
    model_config = ConfigDict(frozen=True, defer_build=True)


class EventColumns(_Record):
    """The columns the store keeps beside an event's bytes (stored, or read from the log
    as the store would keep them)."""

    ts: datetime
    kind: str
    request_id: str | None
    subject: str | None
    model_name: str | None
    model_version: str | None
    weights_hash: str | None
    route: str | None
    source: str
    path: str
    byte_offset: int
    raw: bytes
    line_index: int = Field(default=0, description="Its index among its line's events.")


class StoredEvent(EventColumns):
    """An event in the store: its indexed columns and the raw line, verbatim."""

    id: int


class Reject(_Record):
    """A line that could not be ingested, kept with where it came from and why."""

    id: int
    source: str
    path: str
    byte_offset: int
    length: int
    reason: str
    raw: bytes
    raw_complete: bool = Field(description="False when only the first bytes were kept.")
    ingested: datetime


class TrackedFile(_Record):
    """A file being (or once) tailed, with its committed checkpoint."""

    id: int
    source: str
    path: str
    dev: int
    ino: int
    generation: int
    head_len: int
    head_hash: str
    offset: int
    tail_hash: str
    size_seen: int
    lines: int
    rejects: int
    state: FileState
    stat_size: int | None = None
    stat_mtime_ns: int | None = None
    compressed: str | None = None


class IngestNote(_Record):
    """Something ingest noticed that a person should know: a truncation, a gap, a pause."""

    id: int
    ts: datetime
    file_id: int | None
    kind: str
    detail: str
    gap_start: int | None = None
    gap_end: int | None = None


class Lease(_Record):
    """Who holds the right to ingest this store, and when they last said so."""

    name: str
    holder: str
    host: str
    pid: int
    user: str
    acquired: datetime
    heartbeat: datetime


class IngestProgress(_Record):
    """The ingester's own figures, written with each batch."""

    events_total: int
    rejects_total: int
    backlog_bytes: int
    last_event_ts: datetime | None
    updated: datetime
    paused_reason: str | None
    caught_up: datetime | None = None
    parse_fallback: str | None = Field(
        default=None, description="Why lines are parsed in the ingester's own process."
    )


class EventFilter(_Record):
    """What `events` can be narrowed by."""

    kind: str | None = None
    model: str | None = None
    model_version: str | None = None
    request_id: str | None = None
    subject: str | None = None
    since: datetime | None = None
    until: datetime | None = None


T = TypeVar("T")


class Page(_Record, Generic[T]):
    """One page of a keyset-paginated list; `next_key` fetches the next, if there is one."""

    items: list[T]
    next_key: int | None
