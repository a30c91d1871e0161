"""The main screen's view: banner, live triggers and events, the incident, its runbook,
timeline and action items, kept in step with the store. Wide terminals show every panel;
narrow or short ones show one at a time (keys 1-5, or the tab line). The actions live in
`triage_actions` and `main` (containment)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import DataTable, Footer, Header, OptionList, Static

from thirdbook.domain.alerts import Alert
from thirdbook.domain.incidents import Incident, elapsed_clock
from thirdbook.domain.records import StoredEvent
from thirdbook.services.console import Console, Health
from thirdbook.tui import keys
from thirdbook.tui.safe_text import safe
from thirdbook.tui.screens.reveal import reveal_selected
from thirdbook.tui.widgets.action_item_table import ActionItemTable
from thirdbook.tui.widgets.alert_table import AlertTable
from thirdbook.tui.widgets.drift_chart import DriftChart
from thirdbook.tui.widgets.event_browser import EventBrowser
from thirdbook.tui.widgets.event_table import EventTable
from thirdbook.tui.widgets.health_line import HealthLine
from thirdbook.tui.widgets.incident_panel import IncidentPanel
from thirdbook.tui.widgets.one_line import show_line
from thirdbook.tui.widgets.runbook_list import RunbookList
from thirdbook.tui.widgets.timeline_table import TimelineTable

if TYPE_CHECKING:
    from thirdbook.tui.app import ThirdbookApp

ALERT_ROWS = 50
CHART_EVERY_S = 2.0
"""The drift chart is redrawn at least this often (in-band windows move it without alerting)."""
TIMELINE_ROWS = 100

PANELS = {
    "live": ("1 Live", "alerts"),
    "incident": ("2 Incident", "incident-panel"),
    "runbook": ("3 Runbook", "runbook"),
    "timeline": ("4 Timeline", "timeline"),
    "actions": ("5 Actions", "action-items"),
}
"""Panel name: (tab label, the id of the widget that takes focus)."""


class MainView(Screen[None]):
    """Everything the commander needs on one screen: the panels and moving between them."""

    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (36, "-tall")]
    BINDINGS: ClassVar[list[BindingType]] = [*keys.MAIN]
    # Loaded by the app (a default screen's own CSS is not loaded by Textual 8.2).
    LAYOUT_CSS = """
    #incident { height: 1; padding: 0 1; background: $error 30%; text-style: bold; }
    #incident.quiet { background: $panel; text-style: none; }
    #actions-line { height: 1; padding: 0 1; }
    #tabs { height: 1; padding: 0 1; background: $boost; }
    .title { height: 1; padding: 0 1; background: $boost; }
    #columns { layout: horizontal; height: 1fr; }
    #left { width: 3fr; }
    #right { width: 2fr; }
    #panel-live { height: 1fr; }
    AlertTable { height: auto; max-height: 7; }
    #panel-incident { height: auto; }
    #panel-runbook { height: 3fr; }
    #panel-actions { height: auto; max-height: 8; }
    #panel-timeline { height: 2fr; }
    RunbookList { height: 1fr; border: none; }
    ActionItemTable { height: auto; max-height: 7; }
    TimelineTable { height: 1fr; }
    MainScreen.-wide.-tall #tabs { display: none; }
    MainScreen.-narrow #right, MainScreen.-short #right { width: 1fr; }
    MainScreen.-narrow .panel, MainScreen.-short .panel { display: none; height: 1fr; }
    MainScreen.-narrow .panel.current, MainScreen.-short .panel.current { display: block; }
    MainScreen.-narrow #left, MainScreen.-short #left { display: none; }
    MainScreen.-narrow #left.current, MainScreen.-short #left.current { display: block; }
    MainScreen.-narrow #left, MainScreen.-short #left { width: 1fr; }
    MainScreen.-narrow #right.hidden, MainScreen.-short #right.hidden { display: none; }
    MainScreen.-narrow AlertTable, MainScreen.-short AlertTable { max-height: 5; }
    MainScreen.-short DriftChart { height: 4; }
    MainScreen.-short #panel-live.detail-open DriftChart { display: none; }
    MainScreen.-short #panel-live.detail-open AlertTable { max-height: 3; }
    EventTable { min-height: 4; }
    MainScreen.-narrow ActionItemTable, MainScreen.-short ActionItemTable { max-height: 100%; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.panel = "live"
        self.active_incident_id: int | None = None  # chosen in the incident list; else newest
        self.incident: Incident | None = None
        self._alerts: dict[int, Alert] = {}
        self._marks: tuple[object, ...] = ()
        self._refreshing = asyncio.Lock()
        self._snapshot_step: str | None = None  # while a snapshot runs: what it is copying
        self._awaiting_observation = False  # a containment action not yet seen in the logs
        self._chart_at = 0.0

    @property
    def thirdbook(self) -> ThirdbookApp:
        """The app, typed."""
        from thirdbook.tui.app import ThirdbookApp

        assert isinstance(self.app, ThirdbookApp)
        return self.app

    @property
    def service(self) -> Console | None:
        """The console service (None until the store is open)."""
        return self.thirdbook.console_service

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(Text("No active incident"), id="incident", classes="quiet")
        yield Static(id="actions-line")
        yield Static(id="tabs")
        with Vertical(id="columns"):
            with (
                Vertical(id="left", classes="current"),
                Vertical(id="panel-live", classes="panel current"),
            ):
                yield Static(Text("Live triggers"), id="alerts-title", classes="title")
                yield AlertTable(id="alerts")
                yield DriftChart(id="drift")
                yield EventBrowser(id="browser")
            with Vertical(id="right", classes="hidden"):
                with Vertical(id="panel-incident", classes="panel"):
                    yield Static(Text("Incident"), classes="title")
                    yield IncidentPanel(id="incident-panel")
                with Vertical(id="panel-runbook", classes="panel"):
                    yield Static(Text("Runbook"), id="runbook-title", classes="title")
                    yield RunbookList(id="runbook")
                with Vertical(id="panel-actions", classes="panel"):
                    yield Static(Text("Action items"), classes="title")
                    yield ActionItemTable(id="action-items")
                with Vertical(id="panel-timeline", classes="panel"):
                    yield Static(Text("Timeline"), classes="title")
                    yield TimelineTable(id="timeline")
        yield HealthLine(id="health")
        yield Footer()

    def on_mount(self) -> None:
        self._show_tabs()
        self.query_one(AlertTable).focus()

    # -- panels ------------------------------------------------------------------------------

    def _show_tabs(self) -> None:
        text = Text()
        for name, (label, _) in PANELS.items():
            text.append(f" {label} ", style="bold reverse" if name == self.panel else "")
            text.append(" ")
        show_line(self.query_one("#tabs", Static), text)

    def action_panel(self, name: str) -> None:
        """Show a panel (narrow: instead of the others; wide: all show) and focus it."""
        self.panel = name
        for panel in PANELS:
            self.query_one(f"#panel-{panel}").set_class(panel == name, "current")
        self.query_one("#left").set_class(name == "live", "current")
        self.query_one("#right").set_class(name == "live", "hidden")
        self._show_tabs()
        # Focus now (not later, as Widget.focus does), so keys typed next land in this panel.
        target = "#contain-snapshot" if name == "incident" else f"#{PANELS[name][1]}"
        self.set_focus(self.query_one(target))

    # -- showing the store -------------------------------------------------------------------

    async def show_all(self, svc: Console, *, events: bool = True, force: bool = True) -> None:
        """Refresh from the store: the events, and the other panels when what they show
        changed (or with `force`). The banner's clock and the drift chart tick on their own."""
        # One refresh at a time: a slow one that began earlier must not paint over a newer one.
        async with self._refreshing:
            marks = await svc.triage_marks()
            now = time.monotonic()
            if force or marks != self._marks:
                self._marks, self._chart_at = marks, now
                await self.show_alerts(svc)
                await self.show_incident(svc)
            elif now - self._chart_at > CHART_EVERY_S:
                self._chart_at = now
                await self.show_chart(svc)
                if self._awaiting_observation:  # the logs may show the action by now
                    await self.show_incident(svc)
            browser = self.query_one(EventBrowser)
            if events and browser.live_page:  # an older page never changes
                await browser.show_page(svc)

    async def show_alerts(self, svc: Console) -> None:
        """The newest alerts, with a count of the open ones, and the drift chart."""
        page = await svc.alerts(limit=ALERT_ROWS)
        self._alerts = {a.id: a for a in page.items}
        self.query_one(AlertTable).show_alerts(page.items)
        open_count = sum(1 for a in page.items if a.status == "open")
        title = f"Live triggers — {open_count} open" if page.items else "Live triggers — quiet"
        show_line(self.query_one("#alerts-title", Static), Text(title))
        await self.show_chart(svc)

    async def show_chart(self, svc: Console) -> None:
        """The drift chart of the highlighted alert, or of the newest drift alert."""
        selected = self._alerts.get(self.query_one(AlertTable).selected_id() or -1)
        if selected is None or selected.kind != "drift":
            selected = next((a for a in self._alerts.values() if a.kind == "drift"), None)
        chart = self.query_one(DriftChart)
        chart.show(None if selected is None else await svc.drift_series(selected))

    async def show_incident(self, svc: Console) -> None:
        """Banner, incident panel, runbook, timeline and action items of the active incident."""
        incident = None
        if self.active_incident_id is not None:
            incident = await svc.incident(self.active_incident_id)
        if incident is None:
            incident = next((i for i in await svc.incidents(limit=10) if i.phase != "closed"), None)
        self.incident = incident
        self._show_banner(incident)
        snapshots = [] if incident is None else await svc.snapshots(incident.id)
        states = [] if incident is None else await svc.containment_states(incident.id)
        self._awaiting_observation = any(s.observed is None for s in states)
        self.query_one(IncidentPanel).show(
            incident,
            await svc.precision(),
            snapshots[0] if snapshots else None,
            self._snapshot_step,
            states,
        )
        self.tick()  # the banner and the panel show one clock
        runbook = None if incident is None else svc.runbook_of(incident)
        checks = {} if incident is None else await svc.runbook_checks(incident.id)
        self.query_one(RunbookList).show(runbook, checks)
        done = (
            sum(
                1
                for s in runbook.steps
                if checks.get(s.step_key or "", None) and checks[s.step_key or ""].checked
            )
            if runbook
            else 0
        )
        heading = (
            "Runbook"
            if runbook is None
            else (f"Runbook — {runbook.title} — {done}/{len(runbook.steps)} done")
        )
        show_line(self.query_one("#runbook-title", Static), safe(heading, 120))
        entries = [] if incident is None else await svc.timeline(incident.id)
        self.query_one(TimelineTable).show_entries(entries[-TIMELINE_ROWS:])
        items = [] if incident is None else await svc.action_items(incident_id=incident.id)
        today = datetime.now(UTC).date()
        self.query_one(ActionItemTable).show_items(items, today)
        await self._show_actions_line(svc, today)

    def _show_banner(self, incident: Incident | None, now: datetime | None = None) -> None:
        banner = self.query_one("#incident", Static)
        if incident is None:
            show_line(banner, Text("No active incident"))
            banner.add_class("quiet")
            return
        text = Text(
            f"INCIDENT #{incident.id} {incident.severity} · {incident.phase} · "
            f"{elapsed_clock(incident, now or datetime.now(UTC))} · "
        )
        text.append_text(safe(f"{incident.commander} · {incident.title}", 200))
        show_line(banner, text)
        banner.set_class(incident.phase == "closed", "quiet")

    async def _show_actions_line(self, svc: Console, today: date) -> None:
        items = [i for i in await svc.action_items() if i.status == "open"]
        overdue = [i for i in items if i.overdue(today)]
        text = Text(f"Action items: {len(items)} open")
        if overdue:
            text.append(f" · {len(overdue)} OVERDUE", style="bold reverse")
        if items:
            first = (overdue or items)[0]
            text.append(f" · next #{first.id} due {first.due} ")
            text.append_text(safe(f"{first.owner}: {first.title}", 80))
        show_line(self.query_one("#actions-line", Static), text)

    def tick(self) -> None:
        """The banner's and the incident panel's clocks move on, together."""
        now = datetime.now(UTC)
        if self.incident is not None:
            self._show_banner(self.incident, now)
        self.query_one(IncidentPanel).tick(now)

    def show_health(self, health: Health) -> None:
        """New figures on the health line (and the banner's clock)."""
        self.tick()
        self.query_one(HealthLine).show(health)

    # -- moving ------------------------------------------------------------------------------

    def _focused_list(self) -> Widget:
        focused = self.focused
        if isinstance(focused, DataTable | OptionList | EventTable):
            return focused
        return self.query_one(EventBrowser).table

    def action_cursor_down(self) -> None:
        """Down in the focused table or list."""
        self._focused_list().action_cursor_down()  # type: ignore[attr-defined]

    def action_cursor_up(self) -> None:
        """Up in the focused table or list."""
        self._focused_list().action_cursor_up()  # type: ignore[attr-defined]

    async def action_older(self) -> None:
        """One page of events back in time."""
        if self.service is not None:
            await self.query_one(EventBrowser).older(self.service)

    async def action_newer(self) -> None:
        """One page of events forward in time."""
        if self.service is not None:
            await self.query_one(EventBrowser).newer(self.service)

    async def action_live(self) -> None:
        """Back to the newest events."""
        if self.service is not None:
            await self.query_one(EventBrowser).live(self.service)

    def action_toggle_detail(self) -> None:
        """Show or hide the raw line of the selected event (or the selected alert's detail)."""
        browser = self.query_one(EventBrowser)
        browser.toggle_detail()
        # A short terminal makes room for the raw line: the chart steps aside meanwhile.
        self.query_one("#panel-live").set_class(browser.detail_shown, "detail-open")
        self._update_detail()

    @on(DataTable.RowHighlighted)
    async def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._update_detail()
        if isinstance(event.data_table, AlertTable) and self.service is not None:
            await self.show_chart(self.service)

    @on(EventTable.Highlighted)
    def _event_highlighted(self) -> None:
        self._update_detail()

    @on(DataTable.RowSelected)
    @on(EventTable.Selected)
    def _row_selected(self, event: DataTable.RowSelected | EventTable.Selected) -> None:
        if isinstance(event, EventTable.Selected) or isinstance(event.data_table, AlertTable):
            self.action_toggle_detail()

    @work(exclusive=True, group="reveal")
    async def action_reveal_secrets(self) -> None:
        """Show the masked secrets of the selected event's raw line (asks why; audited)."""
        if self.service is not None:
            await reveal_selected(
                self,
                self.query_one(EventBrowser),
                self.service,
                None if self.incident is None else self.incident.id,
            )
            self.query_one("#panel-live").set_class(
                self.query_one(EventBrowser).detail_shown, "detail-open"
            )

    def _update_detail(self) -> None:
        browser = self.query_one(EventBrowser)
        if isinstance(self.focused, AlertTable):
            alert = self._alerts.get(self.focused.selected_id() or -1)
            if alert is not None:
                browser.show_alert(alert)
                return
        browser.update_detail()

    def selected_event(self) -> StoredEvent | None:
        """The event under the cursor (used by tests and the raw-line view)."""
        return self.query_one(EventBrowser).selected_event()
