"""The selected alert's detail: its rule, when it first fired, the events behind it and its
summary whole. Its own widget: refreshing the events never paints over it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import Static

from thirdbook.tui.clock_text import hms
from thirdbook.tui.safe_text import safe
from thirdbook.tui.unbroken import Unbroken

if TYPE_CHECKING:
    from thirdbook.domain.alerts import Alert


def alert_detail_text(alert: Alert) -> Text:
    """An alert's detail: rule, when, the events that fired it (the newest 12), the summary."""
    events = ", ".join(map(str, alert.event_ids[-12:]))
    heading = f"#{alert.id} {alert.rule} · first {hms(alert.first_at)} · "
    text = Text(f"{heading}events {events}\n", style="dim")
    text.append_text(safe(alert.summary, 2000))
    return text


class AlertDetail(Static):
    """Shown under the alerts while open (`r` or enter on an alert); hidden otherwise."""

    DEFAULT_CSS = """
    AlertDetail { height: auto; max-height: 6; padding: 0 1; border-top: solid $primary;
                  display: none; }
    AlertDetail.open { display: block; }
    """

    alert: Alert | None = None
    """The alert shown (kept while the panel refreshes, updated when the alert changes)."""

    @property
    def is_open(self) -> bool:
        """Whether the detail is showing."""
        return self.has_class("open")

    def show_alert(self, alert: Alert | None) -> None:
        """Show this alert's detail (None: empty), opening the widget."""
        self.alert = alert
        self.add_class("open")
        self.update(Text("") if alert is None else Unbroken(alert_detail_text(alert)))

    def follow(self, alert: Alert | None) -> None:
        """The shown alert changed in the store (fired again, was triaged): show it anew."""
        shown = self.alert
        if not self.is_open or alert is None or shown is None:
            return
        if alert.id == shown.id and alert != shown:
            self.show_alert(alert)

    def close(self) -> None:
        """Hide the detail."""
        self.remove_class("open")
