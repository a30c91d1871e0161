"""The panels that show one part of the active incident: its runbook, its timeline and its
action items. Each reads its part when the incident or its timeline changes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Static

from thirdbook.tui.panels.panel import Change, Panel, incident_moved
from thirdbook.tui.safe_text import safe
from thirdbook.tui.widgets.action_item_table import ActionItemTable
from thirdbook.tui.widgets.one_line import show_line
from thirdbook.tui.widgets.runbook_document import RunbookDocument
from thirdbook.tui.widgets.runbook_list import RunbookList
from thirdbook.tui.widgets.timeline_table import TimelineTable

if TYPE_CHECKING:
    from thirdbook.domain.changes import StoreMarks
    from thirdbook.domain.incidents import Incident
    from thirdbook.services.factory import Services

TIMELINE_ROWS = 100


class IncidentPart(Panel):
    """A panel of one part of the active incident: it reads when the incident or a timeline
    moved."""

    def wants(self, shown: Change, change: Change) -> bool:
        return incident_moved(shown, change)


class RunbookPanel(IncidentPart):
    """The incident's runbook: its checklist of steps, or (`m`) the runbook rendered as a
    document with the same steps' boxes. Whichever of the two has the focus is the one
    showing, so keys that go to the checklist (`3`, space) bring it back."""

    def __init__(self) -> None:
        super().__init__(id="panel-runbook")

    def compose(self) -> ComposeResult:
        yield Static(Text("Runbook"), id="runbook-title", classes="title")
        yield RunbookList(id="runbook")
        yield RunbookDocument(id="runbook-document")

    def read(self, document: bool) -> Widget:
        """Show the document (or the checklist), and return it, for the focus."""
        shown = self.query_one(RunbookDocument)
        shown.display = document
        self.query_one(RunbookList).display = not document
        if document:
            shown.draw()
        return shown if document else self.query_one(RunbookList)

    def toggle(self) -> Widget:
        """From the document, the checklist; from anywhere else, the document."""
        return self.read(self.screen.focused is not self.query_one(RunbookDocument))

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        """The view holding the focus is the one showing (asked when the focus moved, so a
        late message never shows the other)."""
        focused = self.screen.focused
        if isinstance(focused, RunbookDocument | RunbookList):
            self.read(isinstance(focused, RunbookDocument))

    async def load(self, svc: Services, shown: Change | None, change: Change) -> None:
        incident = change.incident
        runbook = None if incident is None else svc.triage.runbook_of(incident)
        checks = {} if incident is None else await svc.triage.runbook_checks(incident.id)
        self.query_one(RunbookList).show(runbook, checks)
        checked = {key for key, c in checks.items() if c.checked}
        heading = "Runbook"
        if runbook is not None:
            done = sum(1 for s in runbook.steps if s.step_key in checked)
            heading = f"Runbook — {runbook.title} — {done}/{len(runbook.steps)} done"
        show_line(self.query_one("#runbook-title", Static), safe(heading, 120))
        from thirdbook.domain.runbook_document import document

        body = None if runbook is None else document(runbook, checked)
        self.query_one(RunbookDocument).show(body)

    def reload(self, marks: StoreMarks | None, incident: Incident | None) -> None:
        """Read the incident's runbook again (after it was edited)."""
        from thirdbook.domain.changes import StoreMarks

        self.offer(Change(marks or StoreMarks(), incident), force=True)


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
