"""A table holding one page of events, updated by diffing on event ids."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from thirdbook.domain.records import StoredEvent
from thirdbook.tui.safe_text import safe

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


class EventTable(DataTable[Text]):
    """Newest first; never more than one page of rows."""

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        for column in COLUMNS:
            self.add_column(column, key=column)

    def show_page(self, events: list[StoredEvent]) -> None:
        """Make the rows exactly `events` (newest first), touching only what changed."""
        wanted = {str(e.id): e for e in events}
        current = {str(key.value) for key in self.rows}
        with self.app.batch_update():
            for key in current - wanted.keys():
                self.remove_row(key)
            added = False
            for key, event in wanted.items():
                if key not in current:
                    self.add_row(*event_cells(event), key=key)
                    added = True
            if added:
                self.sort("id", key=lambda cell: int(cell.plain), reverse=True)

    def selected_id(self) -> int | None:
        """The id of the event under the cursor, if any."""
        if not self.row_count:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        return int(str(key.value))
