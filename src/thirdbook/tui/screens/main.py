"""The main screen: the banner, the five panels and moving between them. Each panel reads
what it shows itself (see `panels`); this screen tells them when the store changed, routes
the moving keys to the panel that is showing, and refuses an action at its key when the
console is read-only or the incident is closed. The actions are in `triage_keys` and
`containment_keys`."""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import ActiveBinding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Header, OptionList, Static

from thirdbook.tui import keys
from thirdbook.tui.host import services
from thirdbook.tui.panels.banner import Banner
from thirdbook.tui.panels.incident import IncidentRegion
from thirdbook.tui.panels.incident_parts import ActionItemsPanel, RunbookPanel, TimelinePanel
from thirdbook.tui.panels.live import LivePanel
from thirdbook.tui.panels.panel import Change, Panel, StoreChanged
from thirdbook.tui.screens.containment_keys import ContainmentKeys
from thirdbook.tui.screens.main_layout import LAYOUT_CSS, PANELS, too_small
from thirdbook.tui.screens.moving_keys import MovingKeys
from thirdbook.tui.screens.refusals import ACTING, refusal
from thirdbook.tui.screens.stage import need_incident
from thirdbook.tui.screens.triage_keys import TriageKeys
from thirdbook.tui.widgets.action_item_table import ActionItemTable
from thirdbook.tui.widgets.health_line import HealthLine
from thirdbook.tui.widgets.incident_panel import IncidentPanel
from thirdbook.tui.widgets.keys_footer import KeysFooter
from thirdbook.tui.widgets.message_bar import MessageBar
from thirdbook.tui.widgets.one_line import show_line
from thirdbook.tui.widgets.runbook_list import RunbookList

if TYPE_CHECKING:
    from thirdbook.domain.changes import StoreMarks
    from thirdbook.domain.incidents import Incident
    from thirdbook.domain.records import StoredEvent
    from thirdbook.services.factory import Services
    from thirdbook.services.health import Health
    from thirdbook.services.quick_console import FirstPage

HEARTBEAT_S = 1.0
"""The panels hear from the store at least this often (some look again on a timer)."""


class MainScreen(Screen[None]):
    """Everything the commander needs on one screen."""

    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (36, "-tall")]
    BINDINGS: ClassVar[list[BindingType]] = [*keys.MAIN]
    LAYOUT_CSS = LAYOUT_CSS

    def __init__(self, first: FirstPage | None = None) -> None:
        super().__init__()
        self.panel = "live"
        self.active_incident_id: int | None = None  # chosen in the incident list; else newest
        self.incident: Incident | None = None
        self._declared = asyncio.Event()  # clear while a declaration is on its way
        self._declared.set()
        self._marks: StoreMarks | None = None
        self._told_at = 0.0
        self.live = LivePanel(first)
        self.incident_region = IncidentRegion()
        self.triage = TriageKeys(self)
        self.containment = ContainmentKeys(self, self.incident_region)
        self.moving = MovingKeys(
            self,
            self.live,
            self.incident_region,
            lambda: self.query_one(f"#panel-{self.panel}", Panel),
            lambda: self.service,
        )

    @property
    def service(self) -> Services | None:
        """The console's services (None until the store is open, or while closing)."""
        return services(self)

    def compose(self) -> ComposeResult:
        yield Header()
        yield Banner()
        yield Static(id="tabs")
        yield Static(id="too-small")
        with Vertical(id="columns"):
            with Vertical(id="left", classes="current"):
                yield self.live
            with Vertical(id="right", classes="hidden"):
                yield self.incident_region
                yield RunbookPanel()
                yield ActionItemsPanel()
                yield TimelinePanel()
        yield MessageBar(id="messages")
        yield HealthLine(id="health")
        yield KeysFooter()

    def on_mount(self) -> None:
        self._show_tabs()
        self.query_one("#alerts").focus()

    def on_resize(self, event: events.Resize) -> None:
        """Below 80x24 the panels give way to a sentence saying what size is needed."""
        why = too_small(event.size.width, event.size.height)
        self.set_class(why is not None, "-too-small")
        self.query_one("#too-small", Static).update(Text(why or ""))
        self.refresh_bindings()

    # -- the store ---------------------------------------------------------------------------

    async def store_changed(self, svc: Services, marks: StoreMarks, *, force: bool = False) -> None:
        """The app's tick: tell the panels when the store's marks moved (and once a second
        anyway); the active incident is read again only when alerts or timelines moved."""
        before = self._marks
        moved = before is None or before.timeline != marks.timeline or before.alerts != marks.alerts
        if not force and marks == before and time.monotonic() - self._told_at < HEARTBEAT_S:
            return
        self._marks, self._told_at = marks, time.monotonic()
        # Live shows no incident: it hears first, before the incident is read again.
        self.live.post_message(StoreChanged(Change(marks, None), force=force))
        if force or moved:
            incident = await self._active_incident(svc)
            if incident != self.incident:
                self.incident = incident
                self.refresh_bindings()  # a closed incident offers fewer actions
        change = Change(marks, self.incident)
        for panel in self.query(Panel):
            if panel is not self.live:
                panel.post_message(StoreChanged(change, force=force))

    async def _active_incident(self, svc: Services) -> Incident | None:
        if self.active_incident_id is not None:
            chosen = await svc.triage.incident(self.active_incident_id)
            if chosen is not None:
                return chosen
        newest = await svc.triage.incidents(limit=10)
        return next((i for i in newest if i.phase != "closed"), None)

    def look_again(self) -> None:
        """Read the store's marks now and have every panel show what it holds."""
        svc = self.service
        if svc is not None:
            self.run_worker(self._look_again(svc), group="look-again")

    async def _look_again(self, svc: Services) -> None:
        await self.store_changed(svc, await svc.queries.marks(), force=True)

    def show_incident(self, incident_id: int) -> None:
        """Make this incident the active one (from the incident list, or just declared)."""
        self.active_incident_id = incident_id
        self.look_again()

    def tick(self) -> None:
        """The banner's and the Incident panel's clocks move on, together."""
        now = datetime.now(UTC)
        self.query_one(MessageBar).expire()
        self.query_one(Banner).tick(now)
        self.query_one(IncidentPanel).tick(now)

    def show_health(self, health: Health) -> None:
        """New figures on the health line (and the clocks)."""
        self.tick()
        self.query_one(HealthLine).show(health)

    # -- refusing at the key -----------------------------------------------------------------

    def refusal(self, action: str) -> str | None:
        """Why this action is refused before any dialog opens, or None."""
        return refusal(action, services(self), self.incident)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Below 80x24 nothing acts (the panels are not showing)."""
        return not (action in ACTING and self.has_class("-too-small"))

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        """The footer offers only what this console can do now."""
        bindings = super().active_bindings
        return {k: b for k, b in bindings.items() if self.refusal(b.binding.action) is None}

    def refused(self, action: str) -> bool:
        """Say why an action is refused, if it is; True if it was."""
        why = self.refusal(action)
        if why is not None:
            self.notify(why, severity="warning", timeout=8)
        return why is not None

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
        self.set_focus(self.query_one(f"#{PANELS[name][1]}"))

    def showing(self) -> Panel:
        """The panel the moving keys act on."""
        return self.moving.showing()

    def action_cursor_down(self) -> None:
        """Down in the focused list (or the Incident panel scrolls)."""
        self.moving.cursor(down=True)

    def action_cursor_up(self) -> None:
        """Up in the focused list (or the Incident panel scrolls)."""
        self.moving.cursor(down=False)

    async def action_older(self) -> None:
        """A page down: older events on Live, the next page of the panel that is showing."""
        await self.moving.page(down=True)

    async def action_newer(self) -> None:
        """A page up: newer events on Live, the previous page of the panel that is showing."""
        await self.moving.page(down=False)

    async def action_live(self) -> None:
        """Back to the newest events."""
        if self.service is not None:
            await self.live.browser.live(self.service)

    def action_toggle_detail(self) -> None:
        """Show or hide the selected alert's detail (from the alerts) or the event's raw line."""
        self.live.toggle_detail(alert=self.focused is self.live.query_one("#alerts"))

    @work(exclusive=True, group="reveal")
    async def action_reveal_secrets(self) -> None:
        """Show the masked secrets of the selected event's raw line (asks why; audited)."""
        if self.refused("reveal_secrets") or self.service is None:
            return
        incident_id = None if self.incident is None else self.incident.id
        from thirdbook.tui.screens.reveal import reveal_selected

        await reveal_selected(self, self.live.browser, self.service, incident_id)
        self.live.detail_changed()

    @work(exclusive=True, group="explain")
    async def action_explain(self) -> None:
        """Explain the highlighted unexplainable alert (from the alerts), else the event."""
        on_alerts = self.focused is self.live.query_one("#alerts")
        alert = self.live.highlighted_alert() if on_alerts else None
        event = None if alert is not None else self.selected_event()
        from thirdbook.tui.screens.explain import explain_selected

        await explain_selected(self, self.service, alert, event)

    # -- the actions (see triage_keys and containment_keys) ----------------------------------

    @work(exclusive=True, group="declare")
    async def action_declare(self) -> None:
        """Declare an incident from the selected alert. Keys typed while it is written (`s`,
        `K`, ... at a person's pace) wait for it and act on the new incident, in order."""
        if self.refused("declare"):
            return
        self._declared.clear()
        try:
            incident = await self.triage.declare()
            if incident is not None:
                self.active_incident_id, self.incident = incident.id, incident
                self.refresh_bindings()
                self.look_again()
        finally:
            self._declared.set()

    async def _after_declare(self) -> None:
        """Wait (at most 30 s) for a declaration on its way, so a key typed right after
        `d` acts on the incident it makes."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(30):
                await self._declared.wait()

    @work(exclusive=True, group="triage")
    async def action_dismiss_alert(self) -> None:
        """Dismiss the selected alert, with a reason."""
        if not self.refused("dismiss_alert"):
            await self.triage.dismiss()

    @work(exclusive=True, group="triage")
    async def action_attach(self) -> None:
        """Attach the selected alert to an open incident."""
        if not self.refused("attach"):
            await self.triage.attach()

    @work(exclusive=True, group="triage")
    async def action_severity(self) -> None:
        """Change the active incident's severity."""
        await self._after_declare()
        if not self.refused("severity"):
            await self.triage.severity()

    @work(exclusive=True, group="triage")
    async def action_phase(self) -> None:
        """Move the active incident to another phase (back, or closed: asks once)."""
        await self._after_declare()
        if not self.refused("phase"):
            await self.triage.phase()

    async def action_add_action_item(self) -> None:
        """A new action item on the active incident: title, one owner, a due date. The
        dialog is up before the next key is read (see `ActionItemDialog`)."""
        if self.refused("add_action_item") or self.service is None:
            return
        incident = need_incident(self)
        if incident is None:
            return
        incident_id = incident.id

        def record(answer: tuple[str, str, date] | None) -> None:
            if answer is not None:
                add = self.triage.add_action_item(incident_id, answer)
                self.run_worker(add, group="triage")

        await self.app.push_screen(self.triage.action_item_dialog(incident.id), record)

    @work(exclusive=True, group="triage")
    async def action_close_action_item(self) -> None:
        """Close the selected action item with a short resolution."""
        if not self.refused("close_action_item"):
            await self.triage.close_action_item(self.query_one(ActionItemTable))

    async def action_check_step(self) -> None:
        """Check or uncheck the highlighted runbook step (from elsewhere: go to the runbook)."""
        runbook = self.query_one(RunbookList)
        if self.focused is not runbook:
            self.action_panel("runbook")
        elif not self.refused("check_step"):
            await self.triage.check_step(runbook)

    @on(OptionList.OptionSelected, "#runbook")
    async def _step_chosen(self) -> None:
        await self.action_check_step()

    def action_runbook_document(self) -> None:
        """The runbook rendered as a document (from elsewhere: go there); from it, the steps."""
        target = self.query_one(RunbookPanel).toggle()
        self.action_panel("runbook")
        self.set_focus(target)

    async def action_edit_runbook(self) -> None:
        """Open the incident's runbook in $EDITOR (the app suspends), then reload it."""
        if not self.refused("edit_runbook") and await self.triage.edit_runbook():
            self.query_one(RunbookPanel).reload(self._marks, self.incident)

    @work(exclusive=True, group="snapshot")
    async def action_snapshot(self) -> None:
        """Snapshot the active incident's window as evidence (the UI stays live meanwhile)."""
        await self._after_declare()
        if not self.refused("snapshot"):
            await self.containment.snapshot()

    @work(exclusive=True, group="triage")
    async def action_kill_switch(self) -> None:
        """Flip the kill switch for the active incident's model (asks once, clearly)."""
        await self._after_declare()
        if not self.refused("kill_switch"):
            await self.containment.kill_switch()

    @work(exclusive=True, group="triage")
    async def action_rollback(self) -> None:
        """Roll the active incident's model back to its last known-good version (asks once)."""
        await self._after_declare()
        if not self.refused("rollback"):
            await self.containment.rollback()

    @work(exclusive=True, group="triage")
    async def action_quarantine(self) -> None:
        """Quarantine training data or fine-tunes for the active incident (asks once)."""
        await self._after_declare()
        if not self.refused("quarantine"):
            await self.containment.quarantine()

    @work(exclusive=True, group="export")
    async def action_export(self) -> None:
        """Export the active incident's evidence bundle (secrets masked) beside the store."""
        if not self.refused("export"):
            await self.containment.export()

    def selected_event(self) -> StoredEvent | None:
        """The event under the cursor (used by tests and the raw-line view)."""
        return self.live.selected_event()
