"""Triage: declare, attach, dismiss, severity, phase, runbook steps, action items, roles
(the commander's handover); and reads of incidents, timelines, roles and rule precision."""

from __future__ import annotations

from datetime import date

from thirdbook.domain import clock
from thirdbook.domain.errors import TriageRefusedError
from thirdbook.domain.incidents import (
    ActionItem,
    Incident,
    RulePrecision,
    TimelineEntry,
)
from thirdbook.domain.roles import RoleHolder
from thirdbook.domain.runbooks import Runbook, RunbookChoice, StepCheck
from thirdbook.services.acting import Acting
from thirdbook.services.runbooks import RunbookLibrary
from thirdbook.store import Store

MAX_NOTE_CHARS = 4000
"""A note on the timeline is a few lines; a longer text belongs in the evidence."""


class TriageService:
    """The console's triage actions (each as the OS user, audited) and incident reads."""

    def __init__(self, store: Store, acting: Acting, runbooks: RunbookLibrary) -> None:
        self.store = store
        self.acting = acting
        self.runbooks = runbooks

    def runbook_of(self, incident: Incident) -> Runbook | None:
        """The runbook an incident follows (as the files say now)."""
        return self.runbooks.get(incident.runbook)

    async def runbook_for_alert(self, alert_id: int) -> RunbookChoice | None:
        """The runbook an incident declared from this alert would follow, and why."""
        alert = await self.store.alerts.get(alert_id)
        if alert is None:
            raise TriageRefusedError(f"there is no alert #{alert_id}")
        return self.runbooks.choice([alert])

    async def declare(
        self, alert_ids: list[int], *, title: str, severity: str, blast_radius: str
    ) -> Incident:
        """Declare an incident from open alerts, as the OS user of this process; it follows
        the runbook for its alerts (the most specific for the first alert that has one: a
        runbook matching its rule or key, else one for its kind, else the general one)."""
        detail = {
            "alerts": alert_ids,
            "title": title,
            "severity": severity,
            "blast_radius": blast_radius,
        }
        async with self.acting.act("declare", detail) as actor:
            alerts = [await self.store.alerts.get(a) for a in alert_ids]
            runbook = self.runbooks.choose([a for a in alerts if a is not None])
            return await self.store.incidents.declare(
                alert_ids,
                title=title,
                severity=severity,
                blast_radius=blast_radius,
                actor=actor,
                runbook=None if runbook is None else runbook.name,
                runbook_copy=None if runbook is None else self.runbooks.text_of(runbook.name),
            )

    async def attach(self, alert_id: int, incident_id: int) -> None:
        """Attach an open alert to an open incident."""
        async with self.acting.act("attach", {"alert": alert_id}, incident_id) as actor:
            await self.store.incidents.attach(alert_id, incident_id, actor)

    async def dismiss(self, alert_id: int, reason: str) -> None:
        """Dismiss an open alert with a reason."""
        async with self.acting.act("dismiss", {"alert": alert_id, "reason_given": reason}) as actor:
            await self.store.incidents.dismiss(alert_id, reason, actor)

    async def set_severity(self, incident_id: int, severity: str) -> None:
        """Change an incident's severity."""
        async with self.acting.act("severity", {"to": severity}, incident_id) as actor:
            await self.store.incidents.set_severity(incident_id, severity, actor)

    async def set_phase(self, incident_id: int, phase: str) -> None:
        """Move an incident to another phase (detected ... closed)."""
        async with self.acting.act("phase", {"to": phase}, incident_id) as actor:
            await self.store.incidents.set_phase(incident_id, phase, actor)

    async def add_note(self, incident_id: int, text: str) -> None:
        """A free-text note on the incident's timeline, with who and when."""
        note = text.strip()
        async with self.acting.act("note", {"length": len(note)}, incident_id) as actor:
            if not note:
                raise TriageRefusedError("a note needs some text")
            if len(note) > MAX_NOTE_CHARS:
                raise TriageRefusedError(
                    f"a note is at most {MAX_NOTE_CHARS:,} characters (this one is "
                    f"{len(note):,}); put a longer text in a file and attach it as evidence"
                )
            await self.store.incidents.add_note(incident_id, note, actor)

    async def handover(self, incident_id: int, user: str, role: str = "commander") -> RoleHolder:
        """Give an incident's role (the commander's, unless another is named) to `user`, as
        the OS user of this process; on the timeline ("handover") and audited."""
        detail = {"role": role, "to": user}
        async with self.acting.act("handover", detail, incident_id) as actor:
            return await self.store.roles.assign(incident_id, role, user, actor)

    async def roles(self, incident_id: int) -> dict[str, RoleHolder]:
        """Who holds each of an incident's roles, with who gave it and when (the declarer is
        commander until a handover)."""
        return await self.store.roles.roles(incident_id)

    async def incidents(self, limit: int = 50, before_id: int | None = None) -> list[Incident]:
        """The newest incidents (older than `before_id`, when given)."""
        return await self.store.incidents.newest(limit, before_id)

    async def incident(self, incident_id: int) -> Incident | None:
        """One incident."""
        return await self.store.incidents.get(incident_id)

    async def runbook_checks(self, incident_id: int) -> dict[str, StepCheck]:
        """Which runbook steps are checked on an incident, by step key."""
        return await self.store.incidents.checks(incident_id)

    async def check_step(self, incident_id: int, step_key: str, checked: bool) -> None:
        """Check or uncheck a step of the incident's runbook; recorded on the timeline."""
        detail = {"step": step_key, "checked": checked}
        async with self.acting.act("runbook", detail, incident_id) as actor:
            incident = await self.store.incidents.get(incident_id)
            if incident is None:
                raise TriageRefusedError(f"there is no incident #{incident_id}")
            book = self.runbook_of(incident)
            step = next((s for s in book.steps if s.step_key == step_key), None) if book else None
            if step is None:
                raise TriageRefusedError(f"incident #{incident_id}'s runbook has no such step")
            await self.store.incidents.check_step(incident_id, step, checked, actor)

    async def timeline(self, incident_id: int) -> list[TimelineEntry]:
        """An incident's timeline, oldest first."""
        if await self.store.incidents.get(incident_id) is None:
            raise TriageRefusedError(f"there is no incident #{incident_id}")
        return await self.store.incidents.timeline(incident_id)

    async def add_action_item(
        self,
        incident_id: int,
        *,
        title: str,
        owner: str,
        due: date | None,
        kind: str | None = None,
        finding_id: int | None = None,
    ) -> ActionItem:
        """A new action item: exactly one owner and a due date, both required; its type
        (detect, prevent, correct) and the finding it answers, if given."""
        detail = {
            "title": title,
            "owner": owner,
            "due": None if due is None else due.isoformat(),
            "kind": kind,
            "finding": finding_id,
        }
        async with self.acting.act("action", detail, incident_id) as actor:
            return await self.store.action_items.add(
                incident_id,
                title=title,
                owner=owner,
                due=due,
                actor=actor,
                kind=kind,
                finding_id=finding_id,
            )

    async def close_action_item(self, item_id: int, resolution: str) -> ActionItem:
        """Close an action item with a short resolution."""
        async with self.acting.act(
            "close-action", {"item": item_id, "resolution": resolution}
        ) as a:
            return await self.store.action_items.close(item_id, resolution, a)

    async def action_items(
        self, *, incident_id: int | None = None, overdue: bool = False, today: date | None = None
    ) -> list[ActionItem]:
        """Action items by due date; with `overdue`, only open ones past their date."""
        items = await self.store.action_items.listed(incident_id=incident_id, open_only=overdue)
        if overdue:
            day = today or clock.today()
            items = [i for i in items if i.overdue(day)]
        return items

    async def precision(self) -> list[RulePrecision]:
        """Each rule's precision: declared (or attached) over fired."""
        return await self.store.incidents.precision()
