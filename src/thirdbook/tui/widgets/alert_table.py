"""Live triggers: the alerts, newest first, coloured by how bad their kind is."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from thirdbook.domain.alerts import Alert
from thirdbook.tui.safe_text import safe

COLUMNS = ("id", "last", "kind", "status", "fired", "summary")

KIND_STYLE = {
    "agent_lane": "bold red",  # an agent outside its lane is production-down
    "drift": "bold dark_orange",
    "feedback": "dark_orange",
    "unexplainable": "bold yellow",
}


def alert_cells(alert: Alert) -> tuple[Text, ...]:
    """The cells for one alert; the summary is built from log data, so it is sanitised."""
    return (
        Text(str(alert.id), style="dim"),
        Text(f"{alert.last_at:%H:%M:%S}"),
        Text(alert.kind.replace("_", " "), style=KIND_STYLE.get(alert.kind, "")),
        Text(alert.status, style="bold" if alert.status == "open" else "dim"),
        Text(f"×{alert.fired}"),
        safe(alert.summary, 300),
    )


class AlertTable(DataTable[Text]):
    """One page of alerts; rows are replaced in place when an alert is updated."""

    def on_mount(self) -> None:
        self.cursor_type = "row"
        for column in COLUMNS:
            self.add_column(column, key=column)

    def selected_id(self) -> int | None:
        """The id of the alert under the cursor, if any."""
        if not self.row_count:
            return None
        return int(str(self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value))

    def show_alerts(self, alerts: list[Alert]) -> None:
        """Make the rows exactly `alerts` (newest first), touching only what changed."""
        wanted = {str(a.id): a for a in alerts}
        current = {str(key.value) for key in self.rows}
        with self.app.batch_update():
            for key in current - wanted.keys():
                self.remove_row(key)
            added = False
            for key, alert in wanted.items():
                cells = alert_cells(alert)
                if key in current:
                    for column, cell in zip(COLUMNS, cells, strict=True):
                        if self.get_cell(key, column) != cell:
                            self.update_cell(key, column, cell, update_width=True)
                else:
                    self.add_row(*cells, key=key)
                    added = True
            if added:
                self.sort("id", key=lambda cell: int(cell.plain), reverse=True)
