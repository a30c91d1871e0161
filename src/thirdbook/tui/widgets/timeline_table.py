"""The incident's timeline: every change and action, who did it and when, newest first."""

from __future__ import annotations

from rich.text import Text

from thirdbook.domain.incidents import TimelineEntry
from thirdbook.tui.clock_text import hms
from thirdbook.tui.safe_text import safe
from thirdbook.tui.widgets.newest_first_table import NewestFirstTable


def timeline_cells(entry: TimelineEntry) -> tuple[Text, ...]:
    """The cells of one entry; who is the OS user, uid and SSH origin."""
    return (
        Text(str(entry.id), style="dim"),
        Text(hms(entry.at)),
        safe(f"{entry.actor.user} ({entry.actor.origin})", 40),
        Text(entry.kind, style="bold"),
        safe(entry.detail, 300),
    )


class TimelineTable(NewestFirstTable):
    """One incident's timeline (the newest page of it)."""

    COLUMNS = ("id", "time", "who", "what", "detail")

    def show_entries(self, entries: list[TimelineEntry]) -> None:
        """Make the rows exactly these entries."""
        self.show_rows({e.id: timeline_cells(e) for e in entries})
