"""The incident's timeline: every change and action, who did it and when, newest first."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text

from thirdbook.tui.clock_text import hms
from thirdbook.tui.safe_text import safe
from thirdbook.tui.widgets.newest_first_table import NewestFirstTable

if TYPE_CHECKING:
    from thirdbook.domain.incidents import TimelineEntry


def timeline_cells(entry: TimelineEntry) -> tuple[Text, ...]:
    """The cells of one entry; who is the OS user, uid and SSH origin."""
    return (
        Text(str(entry.id), style="dim"),
        Text(hms(entry.at)),
        safe(f"{entry.actor.user} ({entry.actor.origin})", 40),
        Text(entry.kind, style="bold"),
        _wrapping(safe(entry.detail, 300)),
    )


def _wrapping(text: Text) -> Text:
    # The detail wraps at spaces into the width the other columns leave (see `WRAP_LAST`);
    # a token wider than that (a hash) is cut on its own line with "…", never continued.
    text.no_wrap, text.overflow = False, "ellipsis"
    return text


class TimelineTable(NewestFirstTable):
    """One incident's timeline (the newest page of it)."""

    COLUMNS = ("id", "time", "who", "what", "detail")
    WRAP_LAST = True

    def show_entries(self, entries: list[TimelineEntry]) -> None:
        """Make the rows exactly these entries."""
        self.show_rows({e.id: timeline_cells(e) for e in entries})
