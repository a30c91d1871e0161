"""Turn complete lines into store rows through the source's format, or rejects with a reason.

Nothing is dropped: every line becomes its events, each at the line's offset and its index
in the line (a format may find none in a line), or one reject row (raw bytes, or their first
bytes when the line is over the size limit). A line is never split: its events are in the
same batch, which commits with the file's checkpoint in one transaction.
"""

from __future__ import annotations

import pickle

from thirdbook.domain.clock import now_us
from thirdbook.domain.events import BOM, InferenceEvent, model_of, unkeepable_time
from thirdbook.domain.formats import format_named
from thirdbook.domain.line_format import LineFormat, LineReject
from thirdbook.domain.records import lookup_key, to_us
from thirdbook.ingest.tail import REJECT_KEEP_BYTES, Batch
from thirdbook.store.ingest_rows import EventTuple, RejectTuple


def parse_lines(
    data: bytes,
    base_offset: int,
    file_id: int,
    ingested_us: int,
    max_line_bytes: int,
    line_format: LineFormat,
) -> tuple[list[EventTuple], list[RejectTuple]]:
    """Parse `data`, a run of complete lines (each ending in b"\\n") starting at `base_offset`."""
    events: list[EventTuple] = []
    rejects: list[RejectTuple] = []
    parse = line_format.parse_line
    fast = getattr(line_format, "line_columns", None)  # a `ColumnsFastPath`, if it has one
    offset = base_offset
    lines = data.split(b"\n")
    lines.pop()  # the empty string after the last newline
    for line in lines:
        start = offset
        offset += len(line) + 1
        if len(line) > max_line_bytes:
            rejects.append(
                (
                    file_id,
                    start,
                    len(line),
                    f"line of {len(line)} bytes exceeds the limit of {max_line_bytes} bytes; "
                    f"the first {REJECT_KEEP_BYTES} bytes are kept",
                    line[:REJECT_KEEP_BYTES],
                    0,
                    ingested_us,
                )
            )
            continue
        body = line.removeprefix(BOM) if start == 0 else line
        columns = None if fast is None else fast(body)
        if columns is not None:
            ts_us, kind, request_id, subject, name, version, weights, route = columns
            events.append(
                (
                    ts_us,
                    kind,
                    request_id,
                    lookup_key(request_id),
                    subject,
                    lookup_key(subject),
                    name,
                    version,
                    weights,
                    route,
                    file_id,
                    start,
                    0,
                    ingested_us,
                    line,
                )
            )
            continue
        try:
            found = parse(body)
        except Exception as exc:  # a format's bug must cost one line, never the ingest
            found = LineReject(f"the {line_format.name} format failed on this line: {exc!r}")
        if isinstance(found, LineReject):
            rejects.append((file_id, start, len(line), found.reason, line, 1, ingested_us))
            continue
        kept = len(events)
        for index, (event, raw) in enumerate(found):
            ts_us = to_us(event.ts)
            refused = unkeepable_time(event, ts_us)
            if refused is not None:
                # A line is stored whole or not at all: its events so far go too.
                del events[kept:]
                reason = refused if len(found) == 1 else f"event {index} of the line: {refused}"
                rejects.append((file_id, start, len(line), reason, line, 1, ingested_us))
                break
            name, version, weights = model_of(event)
            request_id = getattr(event, "request_id", None)
            subject = getattr(event, "subject", None)
            events.append(
                (
                    ts_us,
                    event.kind,
                    request_id,
                    lookup_key(request_id),
                    subject,
                    lookup_key(subject),
                    name,
                    version,
                    weights,
                    event.route if isinstance(event, InferenceEvent) else None,
                    file_id,
                    start,
                    index,
                    ingested_us,
                    line if raw is None else raw,
                )
            )
    return events, rejects


def parse_batch(
    batch: Batch, file_id: int, max_line_bytes: int, line_format: LineFormat
) -> tuple[list[EventTuple], list[RejectTuple]]:
    """Parse a batch's lines; over-long lines become rejects that keep their first bytes."""
    at = now_us()
    events: list[EventTuple] = []
    rejects: list[RejectTuple] = []
    for offset, data in batch.segments:
        seg_events, seg_rejects = parse_lines(
            data, offset, file_id, at, max_line_bytes, line_format
        )
        events.extend(seg_events)
        rejects.extend(seg_rejects)
    for long in batch.long_lines:
        rejects.append(
            (
                file_id,
                long.offset,
                long.length,
                f"line of {long.length} bytes exceeds the limit of {max_line_bytes} bytes; "
                f"the first {len(long.prefix)} bytes are kept",
                long.prefix,
                0,
                at,
            )
        )
    return events, rejects


def parse_batch_packed(
    batch: Batch, file_id: int, max_line_bytes: int, format_name: str, format_module: str
) -> bytes:
    """`parse_batch` for a worker process, given the format by name (and the module that
    registers it): the result pickled once, as one bytes object."""
    line_format = format_named(format_name, format_module)
    rows = parse_batch(batch, file_id, max_line_bytes, line_format)
    return pickle.dumps(rows, pickle.HIGHEST_PROTOCOL)
