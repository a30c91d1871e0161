"""Triggers wired to ingest: every committed event is judged once, and firings become alerts."""

from __future__ import annotations

from pydantic import ValidationError

from thirdbook.domain.alerts import Alert
from thirdbook.domain.events import (
    EVENT_ADAPTER,
    Event,
    InferenceEvent,
    InquiryEvent,
    within_range,
)
from thirdbook.domain.records import EventFilter
from thirdbook.domain.rules import TriggerSettings
from thirdbook.ingest.parse import BOM
from thirdbook.store import Store
from thirdbook.triggers.engine import TriggerEngine

WARM_UP_EVENTS = 2000
"""After a restart the engine relearns its windows from this many recent signal events."""
SIGNAL_KINDS = ("metric", "feedback")


def stored_event(raw: bytes) -> Event | None:
    """The event model of a stored raw line (None if it no longer validates, as a NaN an
    older version let in does not), its times within the store's range."""
    try:
        return within_range(EVENT_ADAPTER.validate_json(raw.removeprefix(BOM)))
    except ValidationError:  # it was valid when ingested; never let a surprise stop ingest
        return None


class Alerting:
    """Runs the trigger engine over what ingest commits and records the alerts."""

    def __init__(self, store: Store, settings: TriggerSettings) -> None:
        self.store = store
        self.engine = TriggerEngine(settings)
        self.raised: list[Alert] = []
        self._warm = False

    async def warm_up(self, before_id: int | None = None) -> None:
        """Feed the recent metrics and reports (older than `before_id`) back in, without
        raising alerts again."""
        self._warm = True
        for kind in SIGNAL_KINDS:
            page = await self.store.events.page(
                EventFilter(kind=kind), before_id=before_id, limit=WARM_UP_EVENTS
            )
            for stored in reversed(page.items):
                event = stored_event(stored.raw)
                if event is not None:
                    self.engine.observe(event, stored.id)

    async def on_commit(self, committed: list[tuple[int, str, bytes]]) -> None:
        """Judge a committed batch: (event id, kind, raw line) for each event."""
        if not self._warm and committed:
            await self.warm_up(before_id=committed[0][0])
        for event_id, kind, raw in committed:
            if kind == "inference":
                continue  # decisions are judged when someone asks about them
            event = stored_event(raw)
            if event is None:
                continue
            if isinstance(event, InquiryEvent):
                decision, decision_id = await self._decision(event)
                firing = self.engine.judge_inquiry(event, event_id, decision, decision_id)
                firings = [] if firing is None else [firing]
            else:
                firings = self.engine.observe(event, event_id)
            for firing in firings:
                self.raised.append(await self.store.alerts.record(firing))
        del self.raised[:-100]

    async def _decision(self, inquiry: InquiryEvent) -> tuple[InferenceEvent | None, int | None]:
        """The decision an inquiry is about: by request id, else the subject's latest."""
        where = (
            EventFilter(kind="inference", request_id=inquiry.request_id)
            if inquiry.request_id
            else EventFilter(kind="inference", subject=inquiry.subject)
            if inquiry.subject
            else None
        )
        if where is None:
            return None, None
        page = await self.store.events.page(where, limit=1)
        if not page.items:
            return None, None
        decision = stored_event(page.items[0].raw)
        if not isinstance(decision, InferenceEvent):
            return None, None
        return decision, page.items[0].id
