"""The Live panel: the alerts (and the detail of one), the drift chart, and the events."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import DataTable, Static

from thirdbook.tui.host import services
from thirdbook.tui.panels.panel import Change, Panel
from thirdbook.tui.widgets.alert_detail import AlertDetail
from thirdbook.tui.widgets.alert_table import AlertTable
from thirdbook.tui.widgets.drift_chart import DriftChart
from thirdbook.tui.widgets.event_browser import EventBrowser
from thirdbook.tui.widgets.event_table import EventTable
from thirdbook.tui.widgets.one_line import show_line

if TYPE_CHECKING:
    from thirdbook.domain.alerts import Alert
    from thirdbook.domain.records import StoredEvent
    from thirdbook.services.factory import Services
    from thirdbook.services.quick_console import FirstPage

ALERT_ROWS = 50
CHART_EVERY_S = 2.0
"""While events arrive the drift chart is redrawn this often (in-band windows move it
without alerting)."""


class LivePanel(Panel):
    """Live triggers and events. Reads the alerts when they change, the newest page of events
    when events arrive (and that page is showing), the chart at most every 2 s meanwhile."""

    def __init__(self, first: FirstPage | None = None) -> None:
        """`first`: the newest page of events, for the first frame (see `EventBrowser`)."""
        super().__init__(id="panel-live", classes="panel current")
        self._first = first
        self.alerts: dict[int, Alert] = {}
        self._chart_at = 0.0
        self._open_count = 0

    def compose(self) -> ComposeResult:
        yield Static(Text("Live triggers"), id="alerts-title", classes="title")
        yield AlertTable(id="alerts")
        yield AlertDetail(id="alert-detail")
        yield DriftChart(id="drift")
        yield EventBrowser(id="browser", first=self._first)

    @property
    def browser(self) -> EventBrowser:
        """The events, a page at a time."""
        return self.query_one(EventBrowser)

    def wants(self, shown: Change, change: Change) -> bool:
        return (
            shown.marks.alerts != change.marks.alerts or shown.marks.events != change.marks.events
        )

    async def load(self, svc: Services, shown: Change | None, change: Change) -> None:
        if shown is None or shown.marks.alerts != change.marks.alerts:
            await self._show_alerts(svc)
        elif time.monotonic() - self._chart_at > CHART_EVERY_S:
            await self.show_chart(svc)
        browser = self.browser
        if browser.live_page and (shown is None or shown.marks.events != change.marks.events):
            await browser.show_page(svc)  # an older page never changes

    async def _show_alerts(self, svc: Services) -> None:
        page = await svc.queries.alerts(limit=ALERT_ROWS)
        self.alerts = {a.id: a for a in page.items}
        self.query_one(AlertTable).show_alerts(page.items)
        detail = self.query_one(AlertDetail)
        detail.follow(None if detail.alert is None else self.alerts.get(detail.alert.id))
        self._open_count = sum(1 for a in page.items if a.status == "open")
        self.show_title()
        self.call_after_refresh(self.show_title)  # once the table has scrolled to its cursor
        await self.show_chart(svc)

    def show_title(self) -> None:
        """`Live triggers — 5 open`, and how many newer alerts are scrolled out of sight
        above the cursor (it stays on the alert it is on as new ones arrive)."""
        table = self.query_one(AlertTable)
        if not table.row_count:
            show_line(self.query_one("#alerts-title", Static), Text("Live triggers — quiet"))
            return
        title = Text(f"Live triggers — {self._open_count} open")
        above = min(int(table.scroll_y), table.row_count)
        if above:
            title.append(f" · {above} newer above (k)", style="bold")
        show_line(self.query_one("#alerts-title", Static), title)

    async def show_chart(self, svc: Services) -> None:
        """The drift chart of the highlighted alert, or of the newest drift alert."""
        self._chart_at = time.monotonic()
        selected = self.highlighted_alert()
        if selected is None or selected.kind != "drift":
            selected = next((a for a in self.alerts.values() if a.kind == "drift"), None)
        chart = self.query_one(DriftChart)
        chart.show(None if selected is None else await svc.queries.drift_series(selected))

    def highlighted_alert(self) -> Alert | None:
        """The alert under the cursor in Live triggers."""
        return self.alerts.get(self.query_one(AlertTable).selected_id() or -1)

    def selected_event(self) -> StoredEvent | None:
        """The event under the cursor."""
        return self.browser.selected_event()

    def toggle_detail(self, *, alert: bool) -> None:
        """Show or hide the highlighted alert's detail (`alert`), or the event's raw line."""
        detail = self.query_one(AlertDetail)
        if alert:
            if detail.is_open:
                detail.close()
            else:
                detail.show_alert(self.highlighted_alert())
        else:
            self.browser.toggle_detail()
        self.detail_changed()

    def detail_changed(self) -> None:
        """A short terminal makes room for an open detail: the chart steps aside meanwhile."""
        opened = self.browser.detail_shown or self.query_one(AlertDetail).is_open
        self.set_class(opened, "detail-open")

    @on(DataTable.RowHighlighted, "#alerts")
    async def _alert_highlighted(self) -> None:
        self.call_after_refresh(self.show_title)
        detail = self.query_one(AlertDetail)
        if detail.is_open:
            detail.show_alert(self.highlighted_alert())
        svc = services(self)
        if svc is not None:
            await self.show_chart(svc)

    @on(DataTable.RowSelected, "#alerts")
    def _alert_chosen(self) -> None:
        self.toggle_detail(alert=True)

    @on(EventTable.Highlighted)
    def _event_highlighted(self) -> None:
        self.browser.update_detail()

    @on(EventTable.Selected)
    def _event_chosen(self) -> None:
        self.toggle_detail(alert=False)
