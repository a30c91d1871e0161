"""A table holding one page of events, updated by diffing on event ids.

Each row is two cells, the id and one line laid out in fixed-width fields: DataTable renders
cell by cell, and a page turn at 200 columns renders ~40 rows at once, so fewer cells make
a page turn several times cheaper while the fields still line up under the header.
"""

from __future__ import annotations

from rich.text import Text

from thirdbook.domain.records import StoredEvent
from thirdbook.domain.text import visible
from thirdbook.tui.widgets.newest_first_table import NewestFirstTable

FIELDS = (("time", 8), ("kind", 12), ("model", 22), ("route", 6), ("request", 24),
          ("subject", 24))  # fmt: skip
"""The fields after the id, with their widths in cells (the last one is not cut)."""

HEADER = "  ".join(name.ljust(width) for name, width in FIELDS).rstrip()


def _field(value: str, width: int, last: bool) -> str:
    value = visible(value)
    if last:
        return value if len(value) <= 60 else value[:59] + "…"
    return value.ljust(width) if len(value) <= width else value[: width - 1] + "…"


def event_line(event: StoredEvent) -> Text:
    """One event's fields as one line: every field sanitised, none read as markup."""
    model = " ".join(p for p in (event.model_name, event.model_version) if p)
    values = (f"{event.ts:%H:%M:%S}", event.kind, model, event.route or "",
              event.request_id or "", event.subject or "")  # fmt: skip
    last = len(FIELDS) - 1
    line = "  ".join(_field(v, w, n == last) for n, (v, (_, w)) in enumerate(zip(values, FIELDS,
                                                                                   strict=True)))
    return Text(line.rstrip(), no_wrap=True, overflow="ellipsis")


def event_cells(event: StoredEvent) -> tuple[Text, ...]:
    """The cells for one event: its id and its line."""
    return (Text(str(event.id), style="dim"), event_line(event))


class EventTable(NewestFirstTable):
    """Newest first; never more than one page of rows."""

    COLUMNS = ("id", "event")
    ZEBRA = True

    def column_label(self, column: str) -> str | Text:
        return Text(HEADER) if column == "event" else column

    def show_page(self, events: list[StoredEvent]) -> None:
        """Make the rows exactly `events` (newest first), touching only what changed."""
        self.show_rows({e.id: event_cells(e) for e in events})
