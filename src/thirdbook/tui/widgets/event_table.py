"""A table holding one page of events, updated by diffing on event ids."""

from __future__ import annotations

from rich.text import Text

from thirdbook.domain.records import StoredEvent
from thirdbook.tui.safe_text import safe
from thirdbook.tui.widgets.newest_first_table import NewestFirstTable

COLUMNS = ("id", "time", "kind", "model", "route", "request", "subject")


def event_cells(event: StoredEvent) -> tuple[Text, ...]:
    """The cells for one event, every one of them sanitised."""
    model = " ".join(p for p in (event.model_name, event.model_version) if p)
    return (
        Text(str(event.id), style="dim"),
        Text(f"{event.ts:%H:%M:%S}"),
        safe(event.kind, 20),
        safe(model, 40),
        safe(event.route, 12),
        safe(event.request_id, 40),
        safe(event.subject, 40),
    )


class EventTable(NewestFirstTable):
    """Newest first; never more than one page of rows."""

    COLUMNS = COLUMNS
    ZEBRA = True

    def show_page(self, events: list[StoredEvent]) -> None:
        """Make the rows exactly `events` (newest first), touching only what changed."""
        self.show_rows({e.id: event_cells(e) for e in events})
