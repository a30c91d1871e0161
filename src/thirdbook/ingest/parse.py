"""Turn complete lines into store rows through the source's format, or rejects with a reason.

Nothing is dropped: every line becomes its events, each at the line's offset and its index
in the line (a format may find none in a line), or one reject row (raw bytes, or their first
bytes when the line is over the size limit). A line is never split: its events are in the
same batch, which commits with the file's checkpoint in one transaction.

A format with a fast path (`ColumnsFastPath`, as the thirdbook format has) gives a valid
line's columns directly; `parse_line` decides every other line. A worker process sends its
events back staged as a small SQLite database that the store copies in one statement
(`parse_batch_staged`, `store.staged_events`), with each event's kind and offset; the raw
bytes the ingester needs beside (for the batch chain and the triggers) it takes from the
lines of the batch it sent, only a raw a format made itself travels (`unpack_staged`).
"""

from __future__ import annotations

import gc
import pickle
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import accumulate, repeat
from typing import Any

from thirdbook.domain.clock import now_us
from thirdbook.domain.events import BOM, InferenceEvent, model_of, unkeepable_time
from thirdbook.domain.formats import format_named
from thirdbook.domain.line_format import LineFormat, LineReject
from thirdbook.domain.records import lookup_key, to_us
from thirdbook.ingest.tail import REJECT_KEEP_BYTES, Batch
from thirdbook.store.ingest_rows import EventTuple, RejectTuple
from thirdbook.store.staged_events import StagedEvents, stage_events

Row = tuple[Any, ...]
"""(ts_us, kind, request_id, request_key, subject, subject_key, model_name, model_version,
weights_hash, route, byte_offset, line_index, line_number): an events row before the file,
the ingest time and the raw bytes are put in (`line_number` finds its line in the batch)."""
_LINE_NUMBER = 12


def _too_long(file_id: int, start: int, line: bytes, limit: int, at: int) -> RejectTuple:
    return (
        file_id,
        start,
        len(line),
        f"line of {len(line)} bytes exceeds the limit of {limit} bytes; "
        f"the first {REJECT_KEEP_BYTES} bytes are kept",
        line[:REJECT_KEEP_BYTES],
        0,
        at,
    )


def _parse(
    segments: Sequence[tuple[int, bytes]],
    file_id: int,
    ingested_us: int,
    max_line_bytes: int,
    line_format: LineFormat,
) -> tuple[list[Row], dict[int, bytes], list[RejectTuple], list[bytes]]:
    """(rows, the raws a format gave by row, rejects, the lines numbered across segments)."""
    rows: list[Row] = []
    given: dict[int, bytes] = {}
    rejects: list[RejectTuple] = []
    parse = line_format.parse_line
    fast = getattr(line_format, "line_columns", None)  # a `ColumnsFastPath`, if it has one
    number = -1
    all_lines: list[bytes] = []
    for base_offset, data in segments:
        lines = data.split(b"\n")
        lines.pop()  # the empty string after the last newline
        all_lines.extend(lines)
        offset = base_offset
        for line in lines:
            number += 1
            start = offset
            offset += len(line) + 1
            if len(line) > max_line_bytes:
                rejects.append(_too_long(file_id, start, line, max_line_bytes, ingested_us))
                continue
            body = line.removeprefix(BOM) if start == 0 else line
            columns = None if fast is None else fast(body)
            if columns is not None:
                ts_us, kind, request_id, subject, name, version, weights, route = columns
                rows.append(
                    _row(
                        ts_us,
                        kind,
                        request_id,
                        subject,
                        name,
                        version,
                        weights,
                        route,
                        start,
                        0,
                        number,
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
            kept = len(rows)
            for index, (event, raw) in enumerate(found):
                ts_us = to_us(event.ts)
                refused = unkeepable_time(event, ts_us)
                if refused is not None:
                    # A line is stored whole or not at all: its events so far go too.
                    for row in range(kept, len(rows)):
                        given.pop(row, None)
                    del rows[kept:]
                    reason = refused if len(found) == 1 else f"event {index} of the line: {refused}"
                    rejects.append((file_id, start, len(line), reason, line, 1, ingested_us))
                    break
                name, version, weights = model_of(event)
                request_id = getattr(event, "request_id", None)
                subject = getattr(event, "subject", None)
                if raw is not None:
                    given[len(rows)] = raw
                route = event.route if isinstance(event, InferenceEvent) else None
                rows.append(
                    _row(
                        ts_us,
                        event.kind,
                        request_id,
                        subject,
                        name,
                        version,
                        weights,
                        route,
                        start,
                        index,
                        number,
                    )
                )
    return rows, given, rejects, all_lines


def _row(
    ts_us: int,
    kind: str,
    request_id: str | None,
    subject: str | None,
    name: str | None,
    version: str | None,
    weights: str | None,
    route: str | None,
    start: int,
    index: int,
    number: int,
) -> Row:
    """One event's columns as the workers hand them back (the lines' bytes apart)."""
    return (
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
        start,
        index,
        number,
    )


def _event_tuples(
    columns: Sequence[Sequence[Any]],
    raws: list[bytes],
    given: dict[int, bytes],
    file_id: int,
    ingested_us: int,
) -> list[EventTuple]:
    """The rows as inserted, from their columns and the raw bytes of each."""
    stored = _stored_columns(columns, file_id, ingested_us)
    return list(zip(*stored, _with_given(raws, given), strict=False))


def _stored_columns(
    columns: Sequence[Sequence[Any]], file_id: int, ingested_us: int
) -> list[Iterable[Any]]:
    """The events table's columns in its order from the workers' columns, the raw apart."""
    return [*columns[:10], repeat(file_id), columns[10], columns[11], repeat(ingested_us)]


def _with_given(raws: list[bytes], given: dict[int, bytes]) -> list[bytes]:
    """`raws`, with each raw a format made itself (an OTLP span's) in place of its line."""
    for row, raw in given.items():
        raws[row] = raw
    return raws


def _raws(lines: list[bytes], numbers: Sequence[int] | None) -> list[bytes]:
    """Each row's line (every line in order when `numbers` is None)."""
    return list(lines) if numbers is None else list(map(lines.__getitem__, numbers))


def parse_lines(
    data: bytes,
    base_offset: int,
    file_id: int,
    ingested_us: int,
    max_line_bytes: int,
    line_format: LineFormat,
) -> tuple[list[EventTuple], list[RejectTuple]]:
    """Parse `data`, a run of complete lines (each ending in b"\\n") starting at `base_offset`."""
    return _rows_of([(base_offset, data)], file_id, ingested_us, max_line_bytes, line_format)


def _rows_of(
    segments: Sequence[tuple[int, bytes]],
    file_id: int,
    at: int,
    max_line_bytes: int,
    line_format: LineFormat,
) -> tuple[list[EventTuple], list[RejectTuple]]:
    rows, given, rejects, lines = _parse(segments, file_id, at, max_line_bytes, line_format)
    if not rows:
        return [], rejects
    columns = list(zip(*rows, strict=True))
    raws = _raws(lines, columns[_LINE_NUMBER])
    return _event_tuples(columns, raws, given, file_id, at), rejects


def _long_line_rejects(
    batch: Batch, max_line_bytes: int, at: int, file_id: int
) -> list[RejectTuple]:
    return [
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
        for long in batch.long_lines
    ]


def parse_batch(
    batch: Batch, file_id: int, max_line_bytes: int, line_format: LineFormat
) -> tuple[list[EventTuple], list[RejectTuple]]:
    """Parse a batch's lines; over-long lines become rejects that keep their first bytes."""
    at = now_us()
    events, rejects = _rows_of(batch.segments, file_id, at, max_line_bytes, line_format)
    return events, rejects + _long_line_rejects(batch, max_line_bytes, at, file_id)


@contextmanager
def no_cyclic_collection() -> Iterator[None]:
    """No cyclic garbage collection meanwhile: parsing and inserting rows make no cycles,
    only many objects (each collection would walk them); they are freed by reference
    counting as ever. Nested, only the outermost turns the collector back on."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def parse_batch_staged(
    batch: Batch, file_id: int, max_line_bytes: int, format_name: str, format_module: str
) -> bytes:
    """`parse_batch` for a worker process, its events staged as a serialized SQLite database
    (`store.staged_events`) beside what the ingester needs of each (kind, byte offset, and
    which line is its raw), packed as one bytes object for `unpack_staged`."""
    line_format = format_named(format_name, format_module)
    at = now_us()
    with no_cyclic_collection():
        rows, given, rejects, lines = _parse(
            batch.segments, file_id, at, max_line_bytes, line_format
        )
        if not rows:
            return pickle.dumps((None, rejects, at), pickle.HIGHEST_PROTOCOL)
        columns: list[Sequence[Any]] = list(zip(*rows, strict=True))
        numbers = columns[_LINE_NUMBER]
        starts = list(accumulate((len(line) + 1 for line in lines), initial=1))
        database = stage_events(
            zip(
                *_stored_columns(columns, file_id, at),
                map(given.get, range(len(rows))),
                map(starts.__getitem__, numbers),
                (len(lines[n]) for n in numbers),
                strict=False,
            )
        )
        shared: dict[str, str] = {}
        kinds = [shared.setdefault(k, k) for k in columns[1]]
        in_order = numbers == tuple(range(len(lines)))  # every line one row: the common case
        staged = (
            database,
            kinds,
            columns[10],
            None if in_order else numbers,
            given,
            columns[0][-1],
        )
        return pickle.dumps((staged, rejects, at), pickle.HIGHEST_PROTOCOL)


def unpack_staged(
    packed: bytes, batch: Batch, file_id: int, max_line_bytes: int
) -> tuple[StagedEvents | list[EventTuple], list[RejectTuple]]:
    """The events and rejects `parse_batch_staged` made of `batch` (events staged, each with
    its raw bytes taken again from the batch's lines: they are not sent back)."""
    with no_cyclic_collection():
        staged, rejects, at = pickle.loads(packed)
        rejects.extend(_long_line_rejects(batch, max_line_bytes, at, file_id))
        if staged is None:
            return [], rejects
        database, kinds, offsets, numbers, given, last_ts_us = staged
        data = b"".join(segment for _, segment in batch.segments)
        raws = _with_given(_raws(data.split(b"\n")[:-1], numbers), given)
        return StagedEvents(database, data, kinds, offsets, raws, last_ts_us), rejects
