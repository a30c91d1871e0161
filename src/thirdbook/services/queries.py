"""Reads for the console and scripts: alerts, events, rejects, ingest notes, the drift series
of an alert, the audit chain; and showing a line's masked secrets (an audited action)."""

from __future__ import annotations

from typing import Any

from thirdbook.domain import clock
from thirdbook.domain.alerts import Alert
from thirdbook.domain.audit import AuditRecord, ChainHead
from thirdbook.domain.changes import StoreMarks
from thirdbook.domain.drift import DriftSeries
from thirdbook.domain.errors import TriageRefusedError
from thirdbook.domain.records import EventFilter, IngestNote, Page, Reject, StoredEvent
from thirdbook.domain.recovery import effective_rule
from thirdbook.domain.rules import TriggerSettings
from thirdbook.domain.secrets import find_secrets
from thirdbook.services.acting import Acting, need_reason
from thirdbook.services.drift_series import drift_series
from thirdbook.store import Store


class QueryService:
    """What the store holds, newest first, paged by id."""

    def __init__(self, store: Store, acting: Acting, triggers: TriggerSettings) -> None:
        """`triggers`: the rules in force (a drift alert's band comes from its rule)."""
        self.store = store
        self.acting = acting
        self.triggers = triggers

    async def alerts(
        self, *, status: str | None = None, before_id: int | None = None, limit: int = 50
    ) -> Page[Alert]:
        """One page of alerts, newest first."""
        return await self.store.alerts.page(status=status, before_id=before_id, limit=limit)

    async def events(
        self, where: EventFilter | None = None, *, before_id: int | None = None, limit: int = 50
    ) -> Page[StoredEvent]:
        """One page of events, newest first."""
        return await self.store.events.page(where, before_id=before_id, limit=limit)

    async def rejects(self, *, before_id: int | None = None, limit: int = 50) -> Page[Reject]:
        """One page of rejected lines, newest first."""
        return await self.store.events.rejects_page(before_id=before_id, limit=limit)

    async def notes(self, kinds: list[str] | None = None, limit: int = 50) -> list[IngestNote]:
        """What ingest noticed: truncations, gaps, rotations, pauses."""
        return await self.store.ingest.notes(kinds=kinds, limit=limit)

    async def marks(self) -> StoreMarks:
        """What the store holds, as high-water marks: one cheap query a console makes each
        tick to learn which panels have something new (see `StoreMarks`)."""
        return await self.store.incidents.marks()

    async def drift_series(self, alert: Alert, windows: int = 120) -> DriftSeries | None:
        """A drift alert's chart: its model's newest `windows` metric windows and the
        incident's own (see `services.drift_series`), with the band."""
        rule = next((r for r in self.triggers.drift if r.name == alert.rule), None)
        if rule is None or alert.kind != "drift":
            return None
        # The band in force now: a restore's override, while it lasts, is the rule's band.
        rule = effective_rule(rule, await self.store.recovery.band_overrides(), clock.now())
        return await drift_series(self.store, rule, alert, windows)

    async def audit_records(self, incident_id: int | None = None) -> list[AuditRecord]:
        """The audit chain's records, oldest first (only one incident's, when given)."""
        if incident_id is not None:
            return await self.store.audit.for_incident(incident_id)
        return [r async for page in self.store.audit.walk() for r in page]

    async def audit_head(self) -> ChainHead | None:
        """The audit chain's head (None while it is empty)."""
        return await self.store.audit.head()

    async def reveal_secrets(
        self, event_id: int, reason: str, incident_id: int | None = None
    ) -> tuple[StoredEvent, list[str]]:
        """An event whose masked secrets are to be shown, and their kinds: an explicit action,
        audited with the reason (refused without one, or when nothing is masked)."""
        detail = {"event": event_id, "reason": reason}
        async with self.acting.act("reveal-secrets", detail, incident_id) as actor:
            need_reason(reason)
            page = await self.store.events.page(None, before_id=event_id + 1, limit=1)
            if not page.items or page.items[0].id != event_id:
                raise TriageRefusedError(f"there is no event #{event_id}")
            event = page.items[0]
            kinds = [s.kind for s in find_secrets(event.raw.decode(errors="backslashreplace"))]
            if not kinds:
                raise TriageRefusedError("nothing is masked in this line")
            await self.acting.done(actor, "reveal-secrets", {**detail, "kinds": kinds}, incident_id)
            return event, kinds

    async def audited_reveal(self, detail: dict[str, Any], incident_id: int | None = None) -> None:
        """Record that secrets were shown (what, to whom, why) in the audit chain."""
        async with self.acting.act("reveal-secrets", detail, incident_id) as actor:
            need_reason(detail.get("reason"))
            await self.acting.done(actor, "reveal-secrets", detail, incident_id)
