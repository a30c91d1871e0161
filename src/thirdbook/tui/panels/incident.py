"""The Incident panel: the active incident's facts and roles, evidence, containment and
precision."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from thirdbook.tui.panels.panel import Change, Panel
from thirdbook.tui.widgets.incident_panel import IncidentPanel

if TYPE_CHECKING:
    from thirdbook.services.factory import Services

OBSERVE_EVERY_S = 1.0
"""While a containment action is not yet seen in the serving logs, arriving events are
checked for it this often."""


class IncidentRegion(Panel):
    """Reads the incident's evidence and containment when the incident, its snapshots or its
    containment change, the rules' precision when alerts do, and, while a containment action
    waits to be observed, looks for it in new events once a second."""

    def __init__(self) -> None:
        super().__init__(id="panel-incident")
        self.snapshot_step: str | None = None
        """While a snapshot runs: what it is copying."""
        self.awaiting_observation = False
        """Whether a containment action is written but not yet seen in the serving logs."""
        self._observed_at = 0.0

    def compose(self) -> ComposeResult:
        yield Static(Text("Incident"), classes="title")
        yield IncidentPanel(id="incident-panel")

    @property
    def content(self) -> IncidentPanel:
        """The scrolling body."""
        return self.query_one(IncidentPanel)

    def wants(self, shown: Change, change: Change) -> bool:
        before, now = shown.marks, change.marks
        if shown.incident != change.incident or before.evidence != now.evidence:
            return True
        if before.alerts != now.alerts or before.timeline != now.timeline:
            return True
        return (
            self.awaiting_observation
            and before.events != now.events
            and time.monotonic() - self._observed_at > OBSERVE_EVERY_S
        )

    async def load(self, svc: Services, shown: Change | None, change: Change) -> None:
        self._observed_at = time.monotonic()
        incident = change.incident
        snapshots = [] if incident is None else await svc.containment.snapshots(incident.id)
        states = [] if incident is None else await svc.containment.containment_states(incident.id)
        roles = None if incident is None else await svc.triage.roles(incident.id)
        self.awaiting_observation = any(s.observed is None for s in states)
        self.content.show(
            incident,
            await svc.triage.precision(),
            snapshots[0] if snapshots else None,
            self.snapshot_step,
            states,
            roles=roles,
        )

    def show_progress(self, step: str | None) -> None:
        """A snapshot's progress (None: it ended; the next load shows its record)."""
        self.snapshot_step = step
        if step is not None:
            self.content.show_progress(step)
