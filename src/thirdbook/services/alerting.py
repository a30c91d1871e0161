"""Triggers wired to ingest: every committed event is judged once, and firings become alerts."""

from __future__ import annotations

from thirdbook.domain.alerts import Alert
from thirdbook.domain.events import InquiryEvent, parse_stored_line
from thirdbook.domain.records import EventFilter
from thirdbook.domain.rules import TriggerSettings
from thirdbook.services.decisions import DecisionLookup
from thirdbook.store import Store
from thirdbook.triggers.engine import TriggerEngine

WARM_UP_EVENTS = 2000
"""After a restart the engine relearns its windows from this many recent signal events."""
SIGNAL_KINDS = ("metric", "feedback")


class Alerting:
    """Runs the trigger engine over what ingest commits and records the alerts."""

    def __init__(self, store: Store, settings: TriggerSettings, decisions: DecisionLookup) -> None:
        self.store = store
        self.decisions = decisions
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
                event = parse_stored_line(stored.raw)
                if event is not None:
                    self.engine.observe(event, stored.id)

    async def on_commit(self, committed: list[tuple[int, str, bytes]]) -> None:
        """Judge a committed batch: (event id, kind, raw line) for each event."""
        if committed:  # band overrides from restore decisions, as they stand now
            self.engine.overrides = await self.store.recovery.band_overrides()
        if not self._warm and committed:
            await self.warm_up(before_id=committed[0][0])
        for event_id, kind, raw in committed:
            if kind == "inference":
                continue  # decisions are judged when someone asks about them
            event = parse_stored_line(raw)
            if event is None:
                continue
            if isinstance(event, InquiryEvent):
                found = await self.decisions.for_inquiry(event)
                firing = self.engine.judge_inquiry(
                    event,
                    event_id,
                    None if found is None else found.event,
                    None if found is None else found.id,
                )
                firings = [] if firing is None else [firing]
            else:
                firings = self.engine.observe(event, event_id)
            for firing in firings:
                self.raised.append(await self.store.alerts.record(firing))
        del self.raised[:-100]
