"""The seam between a log format and ingest: one line's bytes in, events or a reject out.

A format sees one complete line at a time: without its newline, without a byte-order mark at
the start of a file, perhaps with a trailing carriage return. It gives back the line's events
(zero, one or many: a line of OpenTelemetry spans carries a whole batch) or a reject with its
reason. It does no I/O and keeps no state between lines, so any process can run it; ingest
does the rest (positions, size limits, the store's time range, the transaction).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, Protocol

from thirdbook.domain.events import Event


class LineEvent(NamedTuple):
    """One event a line carries."""

    event: Event
    raw: bytes | None = None
    """The bytes stored for it, which are read back into this event (as thirdbook JSON):
    None for the line itself, verbatim (a one-event format); a format whose lines carry many
    events gives each its own thirdbook JSON (the line stays in the source file, found by
    the event's position)."""


class LineReject(NamedTuple):
    """A line that holds no usable event, and why (one sentence a commander can act on)."""

    reason: str


class EventColumns(NamedTuple):
    """The indexed columns of a line that holds exactly one event, stored as the line itself
    (what a format's fast path, `ColumnsFastPath`, gives instead of the event)."""

    ts_us: int
    kind: str
    request_id: str | None
    subject: str | None
    model_name: str | None
    model_version: str | None
    weights_hash: str | None
    route: str | None


class LineFormat(Protocol):
    """A log format, registered by name (`thirdbook.domain.formats`)."""

    @property
    def name(self) -> str:
        """The name a source's `format` chooses it by."""
        ...

    def parse_line(self, line: bytes) -> Sequence[LineEvent] | LineReject:
        """The line's events, in the order they are stored, or why it has none usable."""
        ...


class ColumnsFastPath(Protocol):
    """A format may also offer a fast path: the columns of a line that is one valid event,
    stored verbatim, or None when it cannot tell (ingest then calls `parse_line`, which
    decides). It must never give columns for a line `parse_line` would refuse, nor other
    columns than `parse_line`'s event has."""

    def line_columns(self, line: bytes) -> EventColumns | None:
        """The one event's columns, or None: ask `parse_line`."""
        ...
