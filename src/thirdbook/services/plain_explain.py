"""`ExplainService`'s explanation of a decision the store holds, made without pydantic.

For `explain` by request id or subject read quickly (`services.quick_explain`): importing
pydantic and building its validators costs a start several times what explaining does.
The same reads as `ExplainService` (the events through `QuickReads.events`, which lists
what `EventQueries.page` does; the rest through `ExplainQueries`, the queries the other
tables' classes use; the registry file as `RegistryService.current` reads it), the same
sentences (`domain.explain_notes`), and plain objects (`domain.plain_events`,
`domain.plain_explanation`) that render alike. Wherever the models must decide it raises
`Unsure`, and the caller asks `ExplainService`: a line or a registry the plain reading is
not certain of, a decision with a trace to join, a row the models would not take.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from thirdbook import locations
from thirdbook.control_file import (
    ControlFileIOError,
    ControlFileRefusedError,
    read_control,
    target_of,
)
from thirdbook.domain.clock import from_us, to_us
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
from thirdbook.domain.explain_render import summary_of
from thirdbook.domain.plain_events import InferenceEvent, Unsure, read_stored_line
from thirdbook.domain.plain_explanation import (
    Citation,
    Explanation,
    ModelPart,
    Related,
    RouteWhy,
    SnapshotHold,
)
from thirdbook.domain.plain_registry import registered_hash

if TYPE_CHECKING:
    from thirdbook.store.inline import InlineStore
    from thirdbook.store.quick_reads import EventRow, QuickReads

__all__ = ["PlainExplain", "Unsure"]

_RELATED_KINDS = ("feedback", "agent_action", "inquiry")
_MOVE_HOWS = ("first seen", "observed", "rollback")


def _text(value: Any, *, none: bool = True) -> Any:
    if value is None and none:
        return None
    if type(value) is not str:
        raise Unsure("a column the models would not take")
    return value


class PlainExplain:
    """Explain decisions in one store (read inline) without pydantic."""

    def __init__(
        self, reads: QuickReads, store: InlineStore, registry: Path | None, *, follow: bool
    ) -> None:
        """`registry`: the configured registry file (None: none); `follow`: whether a link
        there is followed."""
        self.reads = reads
        self.store = store
        self.registry = registry
        self.follow = follow
        self.evidence = locations.evidence_dir(reads.path)

    def _events(
        self,
        *,
        kind: str | None = None,
        request_id: str | None = None,
        subject: str | None = None,
        limit: int = 50,
    ) -> list[EventRow]:
        """What `EventQueries.page` lists first (`QuickReads.events`)."""
        found = self.reads.events(
            kind=kind,
            model=None,
            model_version=None,
            request_id=request_id,
            subject=subject,
            limit=limit,
        )
        if found is None:
            raise Unsure("the store did not answer")
        return found

    async def explain(self, *, request_id: str | None, subject: str | None) -> Explanation | None:
        """The decision with `request_id` (else the newest about `subject`) explained, as
        `ExplainService.explain` explains it; None when the store holds no such decision."""
        if request_id:
            rows = self._events(kind="inference", request_id=request_id, limit=1)
        elif subject:
            rows = self._events(kind="inference", subject=subject, limit=1)
        else:
            rows = []
        if not rows:
            return None
        s = rows[0]
        e = read_stored_line(s.raw)
        if not isinstance(e, InferenceEvent):
            raise Unsure("not a decision")
        if e.trace_id:
            raise Unsure("a trace to join")
        at_us = to_us(s.ts)
        keys = [k for k in (e.request_id, e.subject) if k]
        return Explanation(
            event_id=s.id,
            request_id=e.request_id,
            subject=e.subject,
            ts=s.ts,
            source=s.source,
            path=s.path,
            byte_offset=s.byte_offset,
            model=await self._model_part(e, at_us),
            prompt=e.prompt,
            response=e.response,
            action=e.action,
            route=await self._route_why(e, at_us),
            related=self._related_to(e),
            citations=await self._citations([s.id], keys),
            snapshots=await self._snapshots(s),
        )

    async def _serving(self, model: str, at_us: int) -> dict[str, Any] | None:
        """The serving alias's move in force, checked as `AliasMove` checks it."""
        move = await self.store.explain.alias_at(model, "serving", at_us)
        if move is None:
            return None
        for name in ("model", "alias", "registry_sha256"):
            _text(move[name], none=False)
        for name in ("from_version", "to_version", "by_user"):
            _text(move[name])
        if move["how"] not in _MOVE_HOWS or type(move["at_us"]) is not int:
            raise Unsure("a move the models would not take")
        if move["incident_id"] is not None and type(move["incident_id"]) is not int:
            raise Unsure("a move the models would not take")
        return move

    async def _model_part(self, e: InferenceEvent, at_us: int) -> ModelPart:
        model = e.model
        if model is None:
            return ModelPart(model=None, check="unknown", check_note=NO_MODEL)
        move = await self._serving(model.name, at_us)
        copy = None if move is None else move["registry_sha256"]
        kept = None if not copy else locations.evidence_object(self.evidence, copy)
        if copy and kept is not None and kept.is_file():
            try:
                data: bytes | None = kept.read_bytes()
            except OSError as exc:
                raise Unsure(str(exc)) from exc
            whence = registry_then(copy)
        else:
            data, whence = self._registry_now(), REGISTRY_NOW
        if data is None:
            return ModelPart(model=model, check="unknown", check_note=NO_REGISTRY)
        registry_hash, check, note = weights_check(
            model.name,
            model.version,
            model.weights_hash,
            registered_hash(data, model.name, model.version),
            whence,
        )
        return ModelPart(model=model, registry_hash=registry_hash, check=check, check_note=note)

    def _registry_now(self) -> bytes | None:
        """The registry file's bytes as `RegistryService.current` reads them (None: none
        configured, none there, or one it refuses)."""
        if self.registry is None:
            return None
        try:
            return read_control(target_of(self.registry, follow=self.follow))
        except (ControlFileRefusedError, ControlFileIOError):
            return None

    async def _route_why(self, e: InferenceEvent, at_us: int) -> RouteWhy:
        name = e.model.name if e.model is not None else e.routed_from
        if name is None:
            return RouteWhy(route=e.route, routed_from=e.routed_from)
        move = await self._serving(name, at_us)
        held = await self.store.explain.containment_at(name, at_us)
        return RouteWhy(
            route=e.route,
            routed_from=e.routed_from,
            serving_version=None if move is None else move["to_version"],
            serving_since=None if move is None else from_us(move["at_us"]),
            containment=None if held is None else containment_note(held),
        )

    def _related_to(self, e: InferenceEvent) -> tuple[Related, ...]:
        found: dict[int, Related] = {}
        pages = [self._events(request_id=e.request_id)]
        if e.subject:
            pages.append(self._events(subject=e.subject))
        for page in pages:
            for row in page:
                if row.kind not in _RELATED_KINDS:
                    continue
                summary = summary_of(read_stored_line(row.raw))
                found[row.id] = Related(event_id=row.id, kind=row.kind, ts=row.ts, summary=summary)
        return tuple(sorted(found.values(), key=lambda r: r.event_id))

    async def _citations(self, event_ids: list[int], keys: list[str]) -> tuple[Citation, ...]:
        queries = self.store.explain
        alert_ids = await queries.alerts_citing(event_ids, keys)
        citations: list[Citation] = []
        for alert_id in alert_ids:
            summary = await queries.alert_summary(alert_id)
            if summary is not None:
                citations.append(Citation(kind="alert", id=alert_id, summary=summary))
        for incident_id in await queries.incident_of_alerts(alert_ids):
            line = await queries.incident_line(incident_id)
            if line is not None:
                summary = incident_summary(*line)
                citations.append(Citation(kind="incident", id=incident_id, summary=summary))
        return tuple(citations)

    async def _snapshots(self, s: EventRow) -> tuple[SnapshotHold, ...]:
        holds = snapshot_holds(await self.store.explain.complete_snapshots(), s.ts)
        return tuple(
            SnapshotHold(
                snapshot_id=snapshot_id,
                incident_id=incident_id,
                events_sha256=events_sha256,
                manifest_sha256=manifest_sha256,
            )
            for snapshot_id, incident_id, events_sha256, manifest_sha256 in holds
        )
