"""What people type to find events: `15m` or an ISO time, and `key:value` filters."""

from __future__ import annotations

import re
import shlex
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a model: imported where one is made, not by every reader of a time
    from thirdbook.domain.records import EventFilter

_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd])$")
QUERY_KEYS = {
    "kind": "kind",
    "model": "model",
    "version": "model_version",
    "request": "request_id",
    "request_id": "request_id",
    "subject": "subject",
    "since": "since",
    "until": "until",
}


def parse_time(text: str, now: datetime) -> datetime:
    """`15m`, `2h`, `1d`, `30s` before `now`, or an ISO 8601 time (UTC when it has no zone)."""
    match = _RELATIVE.match(text.strip())
    if match:
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[match.group(2)]
        return now - timedelta(**{unit: float(match.group(1))})
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(
            f"{text!r} is neither a duration like 15m, 2h, 1d nor an ISO 8601 time"
        ) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_event_query(text: str, now: datetime) -> EventFilter:
    """An event filter from `kind:inference model:credit-scorer version:v7 since:15m ...`.

    Every term is `key:value` (quote values with spaces); raises ValueError naming the bad term.
    """
    try:
        terms = shlex.split(text)
    except ValueError as exc:
        raise ValueError(f"cannot read the filter: {exc}") from exc
    fields: dict[str, object] = {}
    for term in terms:
        key, colon, value = term.partition(":")
        if not colon or key not in QUERY_KEYS or not value:
            keys = ", ".join(k for k in QUERY_KEYS if k != "request_id")
            raise ValueError(f"{term!r}: filters are key:value with key one of {keys}")
        field = QUERY_KEYS[key]
        fields[field] = parse_time(value, now) if field in {"since", "until"} else value
    from thirdbook.domain.records import EventFilter

    return EventFilter.model_validate(fields)
