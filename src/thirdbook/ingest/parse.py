"""Turn complete lines of the thirdbook v1 format into store rows, or rejects with a reason.

Nothing is dropped: every line becomes either an event row (raw bytes kept verbatim) or a
reject row (raw bytes, or their first bytes when the line is over the size limit).
"""

from __future__ import annotations

import pickle
import re
from typing import TYPE_CHECKING

import orjson
from pydantic import ValidationError

from thirdbook.domain.clock import now_us
from thirdbook.domain.events import (
    EVENT_ADAPTER,
    EVENT_KINDS,
    InferenceEvent,
    model_of,
    unkeepable_time,
)
from thirdbook.domain.records import lookup_key, to_us
from thirdbook.store.ingest_rows import EventTuple, RejectTuple

if TYPE_CHECKING:
    from thirdbook.ingest.tail import Batch

BOM = b"\xef\xbb\xbf"
REJECT_KEEP_BYTES = 64 * 1024
"""How much of an over-long line a reject keeps (the source file has the rest)."""


def _shape_reason(exc: ValidationError) -> str:
    errors = exc.errors(include_url=False, include_input=False)
    if any(e["type"] == "json_invalid" for e in errors):
        return f"invalid JSON: {errors[0]['msg'].removeprefix('Invalid JSON: ')}"
    if (
        errors
        and not errors[0]["loc"]
        and errors[0]["type"]
        in {
            "dict_type",
            "model_attributes_type",
            "json_type",
            "model_type",
        }
    ):
        return "wrong shape: a line must be a JSON object"
    parts = []
    for err in errors[:3]:
        loc = err["loc"]
        if err["type"] != "union_tag_invalid" and loc and loc[0] in EVENT_KINDS:
            loc = loc[1:]  # the union's tag: the kind is already known
        where = ".".join(str(p) for p in loc) or "(line)"
        parts.append(f"{where}: {err['msg']}")
    more = f" (+{len(errors) - 3} more)" if len(errors) > 3 else ""
    return "wrong shape: " + "; ".join(parts) + more


_NUMBER = re.compile(r"-?[0-9][0-9.eE+-]*")


def nonstandard_json(body: bytes) -> str | None:
    """Why a line the validator could read is still not standard JSON, or None: the validator
    takes NaN, Infinity and numbers beyond a double (read as infinity) anywhere in a line,
    which no standard reader (nor `events --json`) can pass on."""
    try:
        orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        at = f"at line {exc.lineno} column {exc.colno}"
        rest = exc.doc[exc.pos : exc.pos + 40]
        token = next((t for t in ("NaN", "Infinity") if rest.startswith(t)), None)
        if token is not None:
            return f"invalid JSON: {token} is not a JSON number {at}"
        number = _NUMBER.match(rest)
        if "infinity" in exc.msg and number is not None:
            return f"invalid JSON: {number.group()} is beyond the range of a double {at}"
        return f"invalid JSON: {exc.msg} {at}"
    return None


def _refusal(body: bytes, exc: ValidationError) -> str:
    """The reason for a line the validator refused; NaN or Infinity in a number field is
    invalid JSON first, not a wrong shape."""
    if not any(e["type"] == "json_invalid" for e in exc.errors(include_url=False)):
        nonstandard = nonstandard_json(body)
        if nonstandard is not None:
            return nonstandard
    return _shape_reason(exc)


def diagnose(line: bytes) -> str | None:
    """Why a line cannot be an event before JSON is even tried, or None."""
    if not line.strip():
        return "empty line"
    nul = line.find(b"\x00")
    if nul >= 0:
        return f"contains a NUL byte at byte {nul}"
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"invalid UTF-8 at byte {exc.start}: {exc.reason}"
    return None


def parse_lines(
    data: bytes,
    base_offset: int,
    file_id: int,
    ingested_us: int,
    max_line_bytes: int,
) -> tuple[list[EventTuple], list[RejectTuple]]:
    """Parse `data`, a run of complete lines (each ending in b"\\n") starting at `base_offset`."""
    events: list[EventTuple] = []
    rejects: list[RejectTuple] = []
    validate = EVENT_ADAPTER.validate_json
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
        body = line[3:] if start == 0 and line.startswith(BOM) else line
        try:
            event = validate(body)
        except ValidationError as exc:
            # Only a line that failed gets the closer look (it costs every line otherwise).
            reason = diagnose(line) or _refusal(body, exc)
        else:
            ts_us = to_us(event.ts)
            refused = nonstandard_json(body) or unkeepable_time(event, ts_us)
            if refused is not None:
                rejects.append((file_id, start, len(line), refused, line, 1, ingested_us))
                continue
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
                    ingested_us,
                    line,
                )
            )
            continue
        rejects.append((file_id, start, len(line), reason, line, 1, ingested_us))
    return events, rejects


def parse_batch(
    batch: Batch, file_id: int, max_line_bytes: int
) -> tuple[list[EventTuple], list[RejectTuple]]:
    """Parse a batch's lines; over-long lines become rejects that keep their first bytes."""
    at = now_us()
    events: list[EventTuple] = []
    rejects: list[RejectTuple] = []
    for offset, data in batch.segments:
        seg_events, seg_rejects = parse_lines(data, offset, file_id, at, max_line_bytes)
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


def parse_batch_packed(batch: Batch, file_id: int, max_line_bytes: int) -> bytes:
    """`parse_batch` for a worker process: the result pickled once, as one bytes object."""
    return pickle.dumps(parse_batch(batch, file_id, max_line_bytes), pickle.HIGHEST_PROTOCOL)
