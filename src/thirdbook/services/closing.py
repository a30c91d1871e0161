"""What is still open on an incident: what its commander is told before closing it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from thirdbook.domain.alerts import Alert
from thirdbook.domain.incidents import ActionItem, Incident
from thirdbook.domain.records import Page
from thirdbook.domain.runbooks import Runbook, StepCheck

OPEN_ALERTS_READ = 200
"""Open alerts are read up to this many (newest first); more are counted as "200 or more"."""


class IncidentReads(Protocol):
    """The reads `still_open` needs (the triage service has them)."""

    def runbook_of(self, incident: Incident) -> Runbook | None: ...

    async def runbook_checks(self, incident_id: int) -> dict[str, StepCheck]: ...

    async def action_items(self, *, incident_id: int | None = None) -> list[ActionItem]: ...

    async def alerts(
        self, *, status: str | None = None, before_id: int | None = None, limit: int = 50
    ) -> Page[Alert]: ...


@dataclass(frozen=True)
class StillOpen:
    """The incident's unchecked runbook steps and open action items, and the alerts nobody
    has triaged yet (open in Live triggers)."""

    steps: tuple[str, ...]
    items: tuple[ActionItem, ...]
    alerts: tuple[Alert, ...]

    @property
    def nothing(self) -> bool:
        """Nothing is left open."""
        return not (self.steps or self.items or self.alerts)

    def lines(self, most: int = 3) -> list[str]:
        """One line per kind of thing left open, naming the first few (`most`)."""

        def listed(names: list[str]) -> str:
            more = len(names) - most
            return ", ".join(names[:most]) + (f" and {more} more" if more > 0 else "")

        lines = []
        if self.steps:
            count = _count(len(self.steps), "runbook step", "unchecked")
            lines.append(f"{count}, first: {self.steps[0]}")
        if self.items:
            count = _count(len(self.items), "action item", "open")
            lines.append(f"{count}: {listed([f'#{i.id} {i.owner}' for i in self.items])}")
        if self.alerts:
            many = len(self.alerts) >= OPEN_ALERTS_READ
            count = _count(len(self.alerts), "alert", "open in Live triggers", many)
            kinds = [f"#{a.id} {a.kind.replace('_', ' ')}" for a in self.alerts]
            lines.append(f"{count}: {listed(kinds)}")
        return lines


def _count(n: int, noun: str, state: str, at_least: bool = False) -> str:
    return f"{n}{' or more' if at_least else ''} {noun}{'' if n == 1 else 's'} {state}"


async def still_open(reads: IncidentReads, incident: Incident) -> StillOpen:
    """What is still open on `incident`: its unchecked runbook steps, its open action items,
    and the open (untriaged) alerts."""
    runbook = reads.runbook_of(incident)
    checks = await reads.runbook_checks(incident.id)
    steps = tuple(
        step.text
        for step in (runbook.steps if runbook is not None else ())
        if not ((check := checks.get(step.step_key or "")) is not None and check.checked)
    )
    items = tuple(
        i for i in await reads.action_items(incident_id=incident.id) if i.status == "open"
    )
    alerts = await reads.alerts(status="open", limit=OPEN_ALERTS_READ)
    return StillOpen(steps=steps, items=items, alerts=tuple(alerts.items))
