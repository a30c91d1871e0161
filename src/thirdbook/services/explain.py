"""Explaining a decision from what is on tape, and answering an inquiry with it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from thirdbook.domain.control import Registry
from thirdbook.domain.events import (
    InferenceEvent,
    InquiryEvent,
    SpanEvent,
    parse_stored_line,
)
from thirdbook.domain.explain_notes import (
    NO_MODEL,
    NO_REGISTRY,
    REGISTRY_NOW,
    containment_note,
    incident_summary,
    registry_then,
    snapshot_holds,
    weights_check,
)
from thirdbook.domain.explain_render import as_dict, as_markdown, summary_of
from thirdbook.domain.explanation import (
    Citation,
    Explanation,
    ModelPart,
    Related,
    RouteWhy,
    SnapshotHold,
)
from thirdbook.domain.records import EventFilter, StoredEvent, to_us
from thirdbook.services.decisions import Decision, DecisionLookup
from thirdbook.services.explain_trace import decision_of_trace, join_trace

# What explaining is given, not what it imports: `explain` read quickly
# (`services.quick_explain`) builds no `Acting` and imports none of these.
if TYPE_CHECKING:
    from thirdbook.domain.alerts import Alert
    from thirdbook.evidence.objects import ObjectStore
    from thirdbook.services.acting import Acting
    from thirdbook.services.registry import RegistryService
    from thirdbook.store import Store

_INQUIRY_SCAN = 20_000


class UnknownDecisionError(LookupError):
    """No decision (or inquiry) has that id."""


@dataclass(frozen=True)
class Answer:
    """An inquiry answered: the evidence objects, where it was recorded, and how fast."""

    inquiry_id: str
    request_id: str
    markdown_sha256: str
    json_sha256: str
    incident_id: int | None
    elapsed_s: float
    by: str

    def sentence(self) -> str:
        """What the commander reads."""
        where = (
            f"on incident #{self.incident_id}'s timeline and in the audit chain"
            if self.incident_id is not None
            else "in the audit chain (no incident cites this inquiry or its decision)"
        )
        return (
            f"inquiry {self.inquiry_id} answered by {self.by} {self.elapsed_s:.0f} s after it "
            f"arrived; explanation kept as evidence {self.markdown_sha256} (Markdown) and "
            f"{self.json_sha256} (JSON), recorded {where}"
        )


class ExplainService:
    """Gather everything on tape about one decision."""

    def __init__(
        self,
        store: Store,
        decisions: DecisionLookup,
        objects: ObjectStore,
        acting: Acting | None,
        registry: RegistryService | None = None,
    ) -> None:
        """`acting`: how an answer is recorded (None: this service only explains)."""
        self.store = store
        self.decisions = decisions
        self.objects = objects
        self.acting = acting
        self.registry = registry

    async def inquiry(self, inquiry_id: str) -> tuple[StoredEvent, InquiryEvent] | None:
        """The newest inquiry with that id."""
        before: int | None = None
        seen = 0
        while seen < _INQUIRY_SCAN:
            page = await self.store.events.page(
                EventFilter(kind="inquiry"), before_id=before, limit=500
            )
            for stored in page.items:
                event = parse_stored_line(stored.raw)
                if isinstance(event, InquiryEvent) and event.inquiry_id == inquiry_id:
                    return stored, event
            seen += len(page.items)
            if page.next_key is None:
                return None
            before = page.next_key
        return None

    async def explain(
        self,
        *,
        request_id: str | None = None,
        subject: str | None = None,
        inquiry_id: str | None = None,
    ) -> Explanation:
        """The explanation of a decision by request id, subject (its newest) or inquiry."""
        inquiry: dict[str, Any] | None = None
        if inquiry_id is not None:
            found = await self.inquiry(inquiry_id)
            if found is None:
                raise UnknownDecisionError(f"no inquiry {inquiry_id!r} is in the store")
            stored_inq, event = found
            decision = await self.decisions.for_inquiry(event)
            inquiry = {**event.model_dump(mode="json"), "event_id": stored_inq.id}
            if decision is None:
                raise UnknownDecisionError(
                    f"inquiry {inquiry_id!r} names no decision in the store "
                    f"(request {event.request_id or '-'}, subject {event.subject or '-'})"
                )
        else:
            decision = await self.decisions.find(request_id=request_id, subject=subject)
            if decision is None:
                what = f"request id {request_id!r}" if request_id else f"subject {subject!r}"
                raise UnknownDecisionError(f"no decision with {what} is in the store")
        return await self._explain(decision, inquiry)

    async def for_event(self, stored: StoredEvent) -> Explanation:
        """The explanation a selected event leads to: a decision's own, an inquiry's, or that
        of the decision another event names by request id or subject."""
        event = parse_stored_line(stored.raw)
        if isinstance(event, InferenceEvent):
            return await self._explain(Decision(stored, event), None)
        if isinstance(event, InquiryEvent):
            return await self.explain(inquiry_id=event.inquiry_id)
        if isinstance(event, SpanEvent):
            found = await decision_of_trace(self.store, event)
            if found is None:
                raise UnknownDecisionError(
                    f"span #{stored.id} is part of trace {event.request_id}, whose decision "
                    "is not in the store (yet)"
                )
            return await self._explain(Decision(*found), None)
        if stored.request_id or stored.subject:
            return await self.explain(request_id=stored.request_id, subject=stored.subject)
        raise UnknownDecisionError(f"event #{stored.id} names no decision (no request or subject)")

    async def for_alert(self, alert: Alert) -> Explanation:
        """The explanation an unexplainable-decision alert asks for, through its inquiry
        (its first event) when that is still in the store, else by its key."""
        if alert.kind != "unexplainable":
            raise UnknownDecisionError(
                f"alert #{alert.id} is a {alert.kind} alert; only an unexplainable-decision "
                "alert names one decision (select an event instead)"
            )
        for stored in await self.store.events.by_ids(alert.event_ids[:1]):
            event = parse_stored_line(stored.raw)
            if isinstance(event, InquiryEvent):
                return await self.explain(inquiry_id=event.inquiry_id)
        decision = await self.decisions.about(alert.key)
        if decision is None:
            raise UnknownDecisionError(f"no decision for {alert.key!r} is in the store")
        return await self._explain(decision, None)

    async def _explain(self, d: Decision, inquiry: dict[str, Any] | None) -> Explanation:
        e, s = d.event, d.stored
        at_us = to_us(s.ts)
        keys = [k for k in (e.request_id, e.subject) if k]
        if inquiry is not None:
            keys.append(str(inquiry["inquiry_id"]))
        prompt, response, trace = await join_trace(self.store, e)
        return Explanation(
            event_id=s.id,
            request_id=e.request_id,
            subject=e.subject,
            ts=s.ts,
            source=s.source,
            path=s.path,
            byte_offset=s.byte_offset,
            model=await self.model_part(e, at_us),
            prompt=prompt,
            response=response,
            action=e.action,
            route=await self.route_why(e, at_us),
            related=await self.related_to(e),
            citations=await self.citations([s.id], keys),
            snapshots=await self._snapshots(s.ts),
            inquiry=inquiry,
            trace=trace,
        )

    async def citations(self, event_ids: list[int], keys: list[str]) -> list[Citation]:
        """The alerts citing those events or keyed by those keys, and their incidents."""
        alert_ids = await self.store.explain.alerts_citing(event_ids, keys)
        citations: list[Citation] = []
        for alert_id in alert_ids:
            alert = await self.store.alerts.get(alert_id)
            if alert is not None:
                citations.append(Citation(kind="alert", id=alert.id, summary=alert.summary))
        for incident_id in await self.store.explain.incident_of_alerts(alert_ids):
            incident = await self.store.incidents.get(incident_id)
            if incident is not None:
                summary = incident_summary(incident.severity, incident.phase, incident.title)
                citations.append(Citation(kind="incident", id=incident.id, summary=summary))
        return citations

    async def model_part(self, e: InferenceEvent, at_us: int) -> ModelPart:
        """The decision's model and whether its weights hash is the registry's then."""
        model = e.model
        if model is None:
            return ModelPart(model=None, check="unknown", check_note=NO_MODEL)
        move = await self.store.registry_history.pointing_at(model.name, "serving", at_us)
        registry, whence = None, ""
        if move is not None and move.registry_sha256 and self.objects.has(move.registry_sha256):
            registry = _parse(self.objects.path_of(move.registry_sha256).read_bytes())
            whence = registry_then(move.registry_sha256)
        if registry is None and self.registry is not None:
            registry = self.registry.current()
            whence = REGISTRY_NOW
        if registry is None:
            return ModelPart(model=model, check="unknown", check_note=NO_REGISTRY)
        known = registry.models.get(model.name)
        version = None if known is None else known.versions.get(model.version)
        registry_hash, check, note = weights_check(
            model.name,
            model.version,
            model.weights_hash,
            None if version is None else version.weights_hash,
            whence,
        )
        return ModelPart(model=model, registry_hash=registry_hash, check=check, check_note=note)

    async def route_why(self, e: InferenceEvent, at_us: int) -> RouteWhy:
        """The route the decision took, and what the registry and containment held then."""
        name = e.model.name if e.model is not None else e.routed_from
        if name is None:
            return RouteWhy(route=e.route, routed_from=e.routed_from)
        move = await self.store.registry_history.pointing_at(name, "serving", at_us)
        held = await self.store.explain.containment_at(name, at_us)
        return RouteWhy(
            route=e.route,
            routed_from=e.routed_from,
            serving_version=None if move is None else move.to_version,
            serving_since=None if move is None else move.at,
            containment=None if held is None else containment_note(held),
        )

    async def related_to(self, e: InferenceEvent) -> list[Related]:
        """The stored feedback, agent actions and inquiries naming its request or subject."""
        found: dict[int, Related] = {}
        filters = [EventFilter(request_id=e.request_id)]
        if e.subject:
            filters.append(EventFilter(subject=e.subject))
        if e.trace_id:
            filters.append(EventFilter(request_id=e.trace_id))
        for where in filters:
            for stored in (await self.store.events.page(where, limit=50)).items:
                if stored.kind not in ("feedback", "agent_action", "inquiry"):
                    continue
                event = parse_stored_line(stored.raw)
                found[stored.id] = Related(
                    event_id=stored.id, kind=stored.kind, ts=stored.ts, summary=summary_of(event)
                )
        return sorted(found.values(), key=lambda r: r.event_id or 0)

    async def _snapshots(self, ts: datetime) -> list[SnapshotHold]:
        complete = await self.store.snapshots.all_complete()
        holds = snapshot_holds(
            ((s.id, s.incident_id, s.manifest_sha256, s.manifest) for s in complete), ts
        )
        return [
            SnapshotHold(
                snapshot_id=snapshot_id,
                incident_id=incident_id,
                events_sha256=events_sha256,
                manifest_sha256=manifest_sha256,
            )
            for snapshot_id, incident_id, events_sha256, manifest_sha256 in holds
        ]

    async def answer(self, inquiry_id: str, note: str | None = None) -> Answer:
        """Keep the explanation as evidence; put it on the incident's timeline (the one
        citing the inquiry's alert, else an open one citing its decision) and in the audit
        chain, with who answered and how long after the inquiry arrived."""
        if self.acting is None:
            raise TypeError("this ExplainService only explains: it was given no Acting")
        detail: dict[str, Any] = {"inquiry": inquiry_id}
        async with self.acting.act("inquiry answered", detail) as actor:
            explanation = await self.explain(inquiry_id=inquiry_id)
            inquiry = explanation.inquiry or {}
            markdown = as_markdown(explanation)
            if note:
                markdown += f"\n## answer note\n\n{note}\n"
            md_ref = self.objects.put_bytes(markdown.encode())
            body = {**as_dict(explanation), "note": note}
            js_ref = self.objects.put_bytes(json.dumps(body, sort_keys=True).encode())
            arrived = datetime.fromisoformat(str(inquiry["ts"]))
            elapsed = max((datetime.now(UTC) - arrived).total_seconds(), 0.0)
            incident_id = await self._incident_for(explanation, int(inquiry["event_id"]))
            result = Answer(
                inquiry_id=inquiry_id,
                request_id=explanation.request_id,
                markdown_sha256=md_ref.sha256,
                json_sha256=js_ref.sha256,
                incident_id=incident_id,
                elapsed_s=elapsed,
                by=actor.user,
            )
            line = (
                f"inquiry {inquiry_id} about {explanation.request_id} answered "
                f"{elapsed:.0f} s after it arrived; explanation {md_ref.sha256}"
                + (f"; note: {note}" if note else "")
            )
            await self.store.explain.record_answer(
                actor,
                incident_id,
                line,
                {
                    **detail,
                    "request_id": explanation.request_id,
                    "elapsed_s": round(elapsed, 3),
                    "markdown_sha256": md_ref.sha256,
                    "json_sha256": js_ref.sha256,
                    "note": note,
                },
            )
        if incident_id is not None:
            await self.acting.performed("explain", incident_id, actor)
        return result

    async def _incident_for(self, e: Explanation, inquiry_event_id: int) -> int | None:
        keys = [str((e.inquiry or {}).get("inquiry_id"))]
        keys += [k for k in (e.request_id, e.subject) if k]
        by_alert = await self.store.explain.incident_of_alerts(
            await self.store.explain.alerts_citing([inquiry_event_id], keys)
        )
        for incident_id in by_alert:
            return incident_id
        for c in e.citations:
            if c.kind == "incident":
                incident = await self.store.incidents.get(c.id)
                if incident is not None and incident.phase != "closed":
                    return incident.id
        return None


def _parse(data: bytes) -> Registry | None:
    try:
        return Registry.model_validate_json(data)
    except ValueError:
        return None


__all__ = ["Answer", "ExplainService", "UnknownDecisionError"]
