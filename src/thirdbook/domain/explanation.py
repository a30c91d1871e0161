"""An explanation of one decision: the four things on tape (each present or missing), the
route and why, and everything that names or cites it. Pure data; renderers beside it."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from thirdbook.domain.events import DownstreamAction, ModelRef, Prompt, Response
from thirdbook.domain.explain_notes import WeightsCheck, missing_parts


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)  # built when first used


class ModelPart(_Part):
    """The exact model version, and whether its weights hash is the registry's."""

    model: ModelRef | None
    registry_hash: str | None = None
    check: WeightsCheck = "unknown"
    check_note: str = ""

    @property
    def present(self) -> bool:
        """Name, version and weights hash all logged."""
        return self.model is not None and bool(self.model.weights_hash)


class RouteWhy(_Part):
    """The route a request took and what was in force at the time."""

    route: str
    routed_from: str | None = None
    serving_version: str | None = None
    serving_since: datetime | None = None
    containment: str | None = None


class Related(_Part):
    """An event naming the same request id or subject."""

    event_id: int | None
    """None for an event read from the log, not yet ingested (`where` says where)."""
    kind: str
    ts: datetime
    summary: str
    where: str | None = None


class Citation(_Part):
    """An alert or incident citing the decision."""

    kind: Literal["alert", "incident"]
    id: int
    summary: str


class SnapshotHold(_Part):
    """A snapshot whose window holds the decision, with its events object's hash."""

    snapshot_id: int
    incident_id: int
    events_sha256: str | None
    manifest_sha256: str | None


class TracePart(_Part):
    """A span of the decision's trace that is in the store."""

    event_id: int
    span_id: str
    operation: str
    summary: str
    joined: bool = Field(description="Whether it is part of the decision (fed its prompt).")


class TraceJoin(_Part):
    """The decision's OpenTelemetry trace: its spans in the store, and what never arrived."""

    trace_id: str
    span_id: str | None
    parts: list[TracePart] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list)


class Explanation(_Part):
    """Everything on tape about one decision."""

    event_id: int | None
    """None for a decision read from the log, not yet ingested (`provisional`)."""
    request_id: str
    subject: str | None
    ts: datetime
    source: str
    path: str
    byte_offset: int
    model: ModelPart
    prompt: Prompt | None
    response: Response | None
    action: DownstreamAction | None
    route: RouteWhy
    related: list[Related] = Field(default_factory=list)
    citations: list[Citation] = Field(default_factory=list)
    snapshots: list[SnapshotHold] = Field(default_factory=list)
    inquiry: dict[str, Any] | None = None
    trace: TraceJoin | None = None
    provisional: bool = False
    """Read from the log, not yet ingested: what only the store can say (the alerts citing
    it by event, the snapshots holding it) is not available until it is."""

    def missing(self) -> list[str]:
        """The four things on tape that were not logged."""
        return missing_parts(self.model.present, self.prompt, self.response, self.action)
