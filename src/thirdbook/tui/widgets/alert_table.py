"""Live triggers: the alerts, newest first, coloured by how bad their kind is."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text

from thirdbook.tui.clock_text import hms
from thirdbook.tui.safe_text import safe
from thirdbook.tui.widgets.newest_first_table import NewestFirstTable

if TYPE_CHECKING:
    from thirdbook.domain.alerts import Alert

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
        Text(hms(alert.last_at)),
        Text(alert.kind.replace("_", " "), style=KIND_STYLE.get(alert.kind, "")),
        Text(alert.status, style="bold" if alert.status == "open" else "dim"),
        Text(f"×{alert.fired}"),
        safe(alert.summary, 300),
    )


class AlertTable(NewestFirstTable):
    """One page of alerts; rows are replaced in place when an alert is updated."""

    COLUMNS = COLUMNS

    def show_alerts(self, alerts: list[Alert]) -> None:
        """Make the rows exactly `alerts` (newest first), touching only what changed."""
        self.show_rows({a.id: alert_cells(a) for a in alerts})
