"""The action-item tracker: owner, due date, status; overdue items stand out."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import DataTable

from thirdbook.tui.safe_text import safe

if TYPE_CHECKING:
    from thirdbook.domain.incidents import ActionItem

COLUMNS = ("id", "due", "status", "owner", "title")


def item_cells(item: ActionItem, today: date) -> tuple[Text, ...]:
    """The cells of one item; an overdue one says OVERDUE in reverse video (no colour needed)."""
    overdue = item.overdue(today)
    status = "OVERDUE" if overdue else item.status
    return (
        Text(str(item.id), style="dim"),
        Text(item.due.isoformat(), style="bold" if overdue else ""),
        Text(status, style="bold reverse" if overdue else ("dim" if item.status == "done" else "")),
        safe(item.owner, 30),
        safe(item.title if item.status == "open" else f"{item.title} → {item.resolution}", 300),
    )


class ActionItemTable(DataTable[Text]):
    """Open items first by due date, then the done ones."""

    def on_mount(self) -> None:
        self.cursor_type = "row"
        for column in COLUMNS:
            self.add_column(column, key=column)

    def show_items(self, items: list[ActionItem], today: date) -> None:
        """Replace the rows (a tracker holds tens of items, not thousands)."""
        ordered = sorted(items, key=lambda i: (i.status != "open", i.due, i.id))
        keep = self.cursor_row
        with self.app.batch_update():
            self.clear()
            for item in ordered:
                self.add_row(*item_cells(item, today), key=str(item.id))
            if ordered:
                self.move_cursor(row=min(keep, len(ordered) - 1))

    def selected_id(self) -> int | None:
        """The id of the item under the cursor."""
        if not self.row_count:
            return None
        return int(str(self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value))
