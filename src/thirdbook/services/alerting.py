"""Triggers wired to ingest: every committed event is judged once, and firings become alerts.

An inquiry is judged on its decision as its trace tells it (OTLP's content and spans joined).
An inquiry read before its decision (a backlog whose files are read one after another) is
judged again when that decision arrives, which updates its alert to what the record lacks.
"""

from __future__ import annotations

from thirdbook.domain.alerts import Alert, Firing
from thirdbook.domain.events import InferenceEvent, InquiryEvent, parse_stored_line
from thirdbook.domain.records import EventFilter
from thirdbook.domain.rules import TriggerSettings
from thirdbook.services.decisions import DecisionLookup
from thirdbook.store import Store
from thirdbook.triggers.engine import TriggerEngine

WARM_UP_EVENTS = 2000
"""After a restart the engine relearns its windows from this many recent signal events."""
SIGNAL_KINDS = ("metric", "feedback")
AWAITED = 1000
"""The most inquiries remembered while their decision has not arrived (the newest)."""


class Alerting:
    """Runs the trigger engine over what ingest commits and records the alerts."""

    def __init__(self, store: Store, settings: TriggerSettings, decisions: DecisionLookup) -> None:
        self.store = store
        self.decisions = decisions
        self.engine = TriggerEngine(settings)
        self.raised: list[Alert] = []
        self._warm = False
        self._awaited: dict[str, tuple[InquiryEvent, int]] = {}
        """Inquiries whose decision was not in the store, by the request id (or subject)
        that names it."""

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
        arrived = [raw for _, kind, raw in committed if kind == "inference" and self._awaited]
        for event_id, kind, raw in committed:
            if kind == "inference":
                continue  # decisions are judged when someone asks about them
            event = parse_stored_line(raw)
            if event is None:
                continue
            if isinstance(event, InquiryEvent):
                firing = await self._judge(event, event_id)
                firings = [] if firing is None else [firing]
            else:
                firings = self.engine.observe(event, event_id)
            for firing in firings:
                self.raised.append(await self.store.alerts.record(firing))
        for firing in await self._late_decisions(arrived):
            self.raised.append(await self.store.alerts.record(firing))
        del self.raised[:-100]

    async def _judge(self, inquiry: InquiryEvent, event_id: int) -> Firing | None:
        """The inquiry judged on its decision, joined with its trace; remembered while its
        decision has not arrived."""
        found = await self.decisions.for_inquiry(inquiry)
        decision = None
        if found is None:
            about = inquiry.request_id or inquiry.subject
            if about:
                self._awaited.pop(about, None)
                self._awaited[about] = (inquiry, event_id)
                while len(self._awaited) > AWAITED:
                    del self._awaited[next(iter(self._awaited))]
        else:
            [decision] = await self.store.traces.joined([found.event])
        return self.engine.judge_inquiry(
            inquiry, event_id, decision, None if found is None else found.id
        )

    async def _late_decisions(self, arrived: list[bytes]) -> list[Firing]:
        """The awaited inquiries whose decision is among the committed lines, judged again
        (a line is only read when it holds an awaited id)."""
        firings = []
        for raw in arrived:
            named = [k for k in self._awaited if k.encode() in raw]
            event = parse_stored_line(raw) if named else None
            if not isinstance(event, InferenceEvent):
                continue
            for key in named:
                if key in (event.request_id, event.subject):
                    inquiry, inquiry_id = self._awaited.pop(key)
                    firing = await self._judge(inquiry, inquiry_id)
                    if firing is not None:
                        firings.append(firing)
        return firings
