"""The thirdbook v1 format: one JSON event object per line, kept verbatim.

A line either validates as an event (`thirdbook.domain.events`) and is stored as written, or
is refused with the first reason a reader can act on: the bytes (empty, NUL, not UTF-8), the
JSON, then the shape.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import orjson
from pydantic import ValidationError

from thirdbook.domain.events import EVENT_ADAPTER, EVENT_KINDS
from thirdbook.domain.fast_events import fast_columns
from thirdbook.domain.line_format import EventColumns, LineEvent, LineReject


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


class ThirdbookJsonl:
    """`format = "thirdbook"`: JSON lines of thirdbook v1 events, one event a line."""

    name = "thirdbook"

    def __init__(self) -> None:
        self._validate = EVENT_ADAPTER.validate_json

    def line_columns(self, line: bytes) -> EventColumns | None:
        """The fast path (`thirdbook.domain.fast_events`): a valid line's columns, or None
        when only `parse_line` can tell."""
        return fast_columns(line)

    def parse_line(self, line: bytes) -> Sequence[LineEvent] | LineReject:
        """The line's one event (stored as the line itself), or why it is refused."""
        try:
            event = self._validate(line)
        except ValidationError as exc:
            # Only a line that failed gets the closer look (it costs every line otherwise).
            return LineReject(diagnose(line) or _refusal(line, exc))
        refused = nonstandard_json(line)
        if refused is not None:
            return LineReject(refused)
        return (LineEvent(event),)
