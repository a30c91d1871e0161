"""`format = "otlp-json"`: OTLP JSON lines, one `TracesData` or `LogsData` object a line.

This is what the OpenTelemetry Collector's `file` exporter (`format: json`) and the Python
SDK's OTLP JSON file exporter write: `{"resourceSpans": [{"resource": …, "scopeSpans":
[{"scope": …, "spans": […]}]}]}` (and `resourceLogs` / `scopeLogs` / `logRecords`). A line
carries a whole export batch: its GenAI spans become events (`thirdbook.domain.otlp_genai`),
each stored as its own thirdbook JSON; spans that are not GenAI stay in the log only. A line
that is not OTLP JSON (a protobuf or zstd file, a metrics line is fine) is refused saying what
it looks like and what to set instead.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

import orjson
from pydantic import ValidationError

from thirdbook.domain.events import Event
from thirdbook.domain.line_format import LineEvent, LineReject
from thirdbook.domain.otlp_genai import (
    DETAILS_EVENT,
    EVALUATION_EVENT,
    SpanView,
    evaluation,
    events_of,
    inference_details,
    is_genai,
)
from thirdbook.domain.otlp_values import (
    OtlpShapeError,
    attributes,
    int64,
    otlp_id,
    unix_nano,
)
from thirdbook.domain.thirdbook_jsonl import diagnose

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_STATUS_CODES = {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}
_NOT_JSON_ADVICE = (
    "thirdbook reads OTLP JSON lines: set the Collector file exporter's `format: json` "
    "with no `compression`"
)


def binary_reason(line: bytes) -> str | None:
    """Why a line is binary (protobuf, zstd) rather than OTLP JSON, or None. A binary file
    splits at its 0x0A bytes, so each piece of it is refused, each saying so."""
    if line.startswith(ZSTD_MAGIC):
        return f"zstd-compressed data, not an OTLP JSON line; {_NOT_JSON_ADVICE}"
    if line[:1] == b"\x00" and len(line) >= 4:
        size = int.from_bytes(line[:4], "big")
        return (
            f"length-prefixed OTLP protobuf (a {size}-byte message), not an OTLP JSON line; "
            f"{_NOT_JSON_ADVICE}"
        )
    if line.lstrip()[:1] != b"{":
        diagnosed = diagnose(line)
        if diagnosed is None and any(b < 0x20 and b not in (9, 13) for b in line[:64]):
            diagnosed = "control bytes"
        if diagnosed is not None and diagnosed != "empty line":
            return f"binary data ({diagnosed}), not an OTLP JSON line; {_NOT_JSON_ADVICE}"
    return None


class OtlpJson:
    """OTLP JSON lines of GenAI spans and evaluation events, many events a line."""

    name = "otlp-json"

    def parse_line(self, line: bytes) -> Sequence[LineEvent] | LineReject:
        """The line's GenAI events (none when it holds no GenAI span), or why it is refused."""
        if not line.strip():
            return LineReject("empty line")
        refused = binary_reason(line)
        if refused is not None:
            return LineReject(refused)
        try:
            doc = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            return LineReject(f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")
        if not isinstance(doc, dict) or not (
            {"resourceSpans", "resourceLogs", "resourceMetrics"} & doc.keys()
        ):
            return LineReject(
                "wrong shape: an OTLP JSON line is an object with resourceSpans, "
                "resourceLogs or resourceMetrics"
            )
        try:
            events = [*_trace_events(doc), *_log_events(doc)]
        except OtlpShapeError as exc:
            return LineReject(f"wrong shape: {exc}")
        except ValidationError as exc:
            err = exc.errors(include_url=False, include_input=False)[0]
            where = ".".join(str(p) for p in err["loc"]) or "(event)"
            return LineReject(
                f"wrong shape: a span maps to an invalid event: {where}: {err['msg']}"
            )
        return [LineEvent(e, e.model_dump_json(exclude_none=True).encode()) for e in events]


def _list(parent: Mapping[str, Any], *keys: str) -> list[Any]:
    for key in keys:
        value = parent.get(key)
        if value is None:
            continue
        if not isinstance(value, list):
            raise OtlpShapeError(f"{key} must be a list")
        return value
    return []


def _object(value: object, what: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise OtlpShapeError(f"{what} must be an object")
    return value


def _resource_defaults(resource: Mapping[str, Any]) -> dict[str, Any]:
    """The resource's `thirdbook.*` attributes, which its spans inherit."""
    attrs = attributes(_object(resource.get("resource"), "resource").get("attributes"))
    return {k: v for k, v in attrs.items() if k.startswith("thirdbook.")}


def _span(raw: object, inherited: Mapping[str, Any]) -> SpanView:
    span = _object(raw, "a span")
    trace_id = otlp_id(span.get("traceId"), 16, "traceId")
    span_id = otlp_id(span.get("spanId"), 8, "spanId")
    if trace_id is None or span_id is None:
        raise OtlpShapeError("a span must carry a traceId and a spanId")
    kind = span.get("kind", 0)
    if not isinstance(kind, (int, str)) or isinstance(kind, bool):
        raise OtlpShapeError(f"span kind must be an integer, not {kind!r:.40}")
    status = _object(span.get("status"), "status")
    code = status.get("code", 0)
    code = _STATUS_CODES.get(code, -1) if isinstance(code, str) else int64(code, "status.code")
    start = unix_nano(span.get("startTimeUnixNano"), "startTimeUnixNano")
    end = unix_nano(span.get("endTimeUnixNano"), "endTimeUnixNano")
    if start is None and end is None:
        raise OtlpShapeError(f"span {span_id} has neither a start nor an end time")
    events: list[tuple[str, datetime | None, Mapping[str, Any]]] = []
    for raw_event in _list(span, "events"):
        event = _object(raw_event, "a span event")
        events.append(
            (
                str(event.get("name") or ""),
                unix_nano(event.get("timeUnixNano"), "timeUnixNano"),
                attributes(event.get("attributes")),
            )
        )
    name = span.get("name", "")
    return SpanView(
        trace_id=trace_id,
        span_id=span_id,
        parent_span_id=otlp_id(span.get("parentSpanId"), 8, "parentSpanId"),
        name=name if isinstance(name, str) else str(name),
        start=start,
        end=end,
        attrs={**inherited, **attributes(span.get("attributes"))},
        status_code=code,
        status_message=str(status.get("message") or ""),
        events=events,
    )


def _trace_events(doc: Mapping[str, Any]) -> Iterator[Event]:
    spans: list[SpanView] = []
    for resource in _list(doc, "resourceSpans"):
        resource = _object(resource, "a resourceSpans item")
        inherited = _resource_defaults(resource)
        for scope in _list(resource, "scopeSpans", "instrumentationLibrarySpans"):
            for raw in _list(_object(scope, "a scopeSpans item"), "spans"):
                spans.append(_span(raw, inherited))
    by_id = {s.span_id: s for s in spans}
    for span in spans:
        if is_genai(span):
            yield from events_of(_with_ancestors(span, by_id), by_id)


def _with_ancestors(span: SpanView, by_id: Mapping[str, SpanView]) -> SpanView:
    """The span with the `thirdbook.*` attributes of its ancestors in the line that it does
    not set itself (the nearest ancestor's win): an application sets the subject once, on
    its request's span."""
    inherited: dict[str, Any] = {}
    seen = {span.span_id}
    parent = by_id.get(span.parent_span_id or "")
    while parent is not None and parent.span_id not in seen:
        for key, value in parent.attrs.items():
            if key.startswith("thirdbook.") and key not in inherited:
                inherited[key] = value
        seen.add(parent.span_id)
        parent = by_id.get(parent.parent_span_id or "")
    if not inherited.keys() - span.attrs.keys():
        return span
    return replace(span, attrs={**inherited, **span.attrs})


def _log_events(doc: Mapping[str, Any]) -> Iterator[Event]:
    for resource in _list(doc, "resourceLogs"):
        resource = _object(resource, "a resourceLogs item")
        inherited = _resource_defaults(resource)
        for scope in _list(resource, "scopeLogs"):
            for raw in _list(_object(scope, "a scopeLogs item"), "logRecords"):
                record = _object(raw, "a log record")
                attrs = attributes(record.get("attributes"))
                name = record.get("eventName") or attrs.get("event.name")
                if name not in (EVALUATION_EVENT, DETAILS_EVENT):
                    continue
                at = unix_nano(record.get("timeUnixNano"), "timeUnixNano") or unix_nano(
                    record.get("observedTimeUnixNano"), "observedTimeUnixNano"
                )
                if at is None:
                    raise OtlpShapeError("an evaluation record has no time")
                trace_id = otlp_id(record.get("traceId"), 16, "traceId") or "-"
                span_id = otlp_id(record.get("spanId"), 8, "spanId") or "-"
                view = SpanView(
                    trace_id=trace_id,
                    span_id=span_id,
                    parent_span_id=None,
                    name=str(name),
                    start=at,
                    end=at,
                    attrs={**inherited, **attrs} if name == DETAILS_EVENT else dict(inherited),
                )
                if name == DETAILS_EVENT:
                    yield inference_details(view)
                else:
                    yield evaluation(view, at, attrs)
