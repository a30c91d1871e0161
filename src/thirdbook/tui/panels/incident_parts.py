"""The panels that show one part of the active incident: its runbook, its timeline and its
action items. Each reads its part when the incident or its timeline changes."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from thirdbook.services.factory import Services
from thirdbook.tui.panels.panel import Change, Panel, incident_moved
from thirdbook.tui.safe_text import safe
from thirdbook.tui.widgets.action_item_table import ActionItemTable
from thirdbook.tui.widgets.one_line import show_line
from thirdbook.tui.widgets.runbook_list import RunbookList
from thirdbook.tui.widgets.timeline_table import TimelineTable

TIMELINE_ROWS = 100


class IncidentPart(Panel):
    """A panel of one part of the active incident: it reads when the incident or a timeline
    moved."""

    def wants(self, shown: Change, change: Change) -> bool:
        return incident_moved(shown, change)


class RunbookPanel(IncidentPart):
    """The incident's runbook with its checked steps."""

    def __init__(self) -> None:
        super().__init__(id="panel-runbook")

    def compose(self) -> ComposeResult:
        yield Static(Text("Runbook"), id="runbook-title", classes="title")
        yield RunbookList(id="runbook")

    async def load(self, svc: Services, shown: Change | None, change: Change) -> None:
        incident = change.incident
        runbook = None if incident is None else svc.triage.runbook_of(incident)
        checks = {} if incident is None else await svc.triage.runbook_checks(incident.id)
        self.query_one(RunbookList).show(runbook, checks)
        heading = "Runbook"
        if runbook is not None:
            done = sum(
                1 for s in runbook.steps if (c := checks.get(s.step_key or "")) and c.checked
            )
            heading = f"Runbook — {runbook.title} — {done}/{len(runbook.steps)} done"
        show_line(self.query_one("#runbook-title", Static), safe(heading, 120))


class TimelinePanel(IncidentPart):
    """The incident's timeline, its newest entries."""

    def __init__(self) -> None:
        super().__init__(id="panel-timeline")

    def compose(self) -> ComposeResult:
        yield Static(Text("Timeline"), classes="title")
        yield TimelineTable(id="timeline")

    async def load(self, svc: Services, shown: Change | None, change: Change) -> None:
        incident = change.incident
        entries = [] if incident is None else await svc.triage.timeline(incident.id)
        self.query_one(TimelineTable).show_entries(entries[-TIMELINE_ROWS:])


class ActionItemsPanel(IncidentPart):
    """The incident's action items: owner, due date, overdue ones loud."""

    def __init__(self) -> None:
        super().__init__(id="panel-actions")

    def compose(self) -> ComposeResult:
        yield Static(Text("Action items"), classes="title")
        yield ActionItemTable(id="action-items")

    async def load(self, svc: Services, shown: Change | None, change: Change) -> None:
        incident = change.incident
        items = [] if incident is None else await svc.triage.action_items(incident_id=incident.id)
        self.query_one(ActionItemTable).show_items(items, datetime.now(UTC).date())
