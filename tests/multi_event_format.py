"""A format for tests whose lines carry many events: each line a JSON array of v1 events.

Importing this module registers it (as a shipped format's module does), so a source can name
it and a parse worker finds it by the module's name. `python -m tests.multi_event_cli` runs
the command line with it registered.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson
from pydantic import ValidationError

from thirdbook.domain.events import EVENT_ADAPTER
from thirdbook.domain.formats import register
from thirdbook.domain.line_format import LineEvent, LineReject


class EventArrays:
    """`format = "test-event-arrays"`: a JSON array of thirdbook events a line (maybe none)."""

    name = "test-event-arrays"

    def parse_line(self, line: bytes) -> Sequence[LineEvent] | LineReject:
        """Each element's event, stored as that element's own JSON."""
        try:
            items = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            return LineReject(f"invalid JSON: {exc}")
        if not isinstance(items, list):
            return LineReject("wrong shape: a line must be a JSON array of events")
        found = []
        for index, item in enumerate(items):
            raw = orjson.dumps(item)
            try:
                found.append(LineEvent(EVENT_ADAPTER.validate_json(raw), raw))
            except ValidationError as exc:
                return LineReject(f"event {index}: {exc.errors()[0]['msg']}")
        return found


register(EventArrays())


def array_line(*events: bytes) -> bytes:
    """One line of this format holding the given thirdbook event lines."""
    return b"[" + b",".join(e.rstrip(b"\n") for e in events) + b"]\n"
