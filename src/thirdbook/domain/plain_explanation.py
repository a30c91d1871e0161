"""An explanation made without pydantic (`explain` read quickly): `domain.explanation`'s
models as plain objects (dataclasses, as in `plain_events`), the same fields in the same
order, with the decision's parts as `domain.plain_events` reads them. The renderers
(`domain.explain_render`) take either; `model_dump(mode="json")` gives what the model's
gives (tests/test_plain_events.py checks the fields mirror the models'). A decision read
from the log, an inquiry and a trace are left to the models: here they are never there.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from datetime import datetime
from typing import Any, Literal

from thirdbook.domain.explain_notes import WeightsCheck, missing_parts
from thirdbook.domain.plain_events import DownstreamAction, ModelRef, Prompt, Response


def _json(value: Any) -> Any:
    """`value` as pydantic's JSON mode gives it: a time in ISO 8601 (`Z` for UTC), parts as
    objects of their fields in order, sequences as lists."""
    if isinstance(value, datetime):
        shown = value.isoformat()
        return shown[:-6] + "Z" if shown.endswith("+00:00") else shown
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _json(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, tuple | list):
        return [_json(item) for item in value]
    return value


@dataclass(kw_only=True, repr=False, eq=False)
class ModelPart:
    """`explanation.ModelPart`."""

    model: ModelRef | None
    registry_hash: str | None = None
    check: WeightsCheck = "unknown"
    check_note: str = ""

    @property
    def present(self) -> bool:
        """Name, version and weights hash all logged."""
        return self.model is not None and bool(self.model.weights_hash)


@dataclass(kw_only=True, repr=False, eq=False)
class RouteWhy:
    """`explanation.RouteWhy`."""

    route: str
    routed_from: str | None = None
    serving_version: str | None = None
    serving_since: datetime | None = None
    containment: str | None = None


@dataclass(kw_only=True, repr=False, eq=False)
class Related:
    """`explanation.Related` (of a stored event: `where` is None)."""

    event_id: int
    kind: str
    ts: datetime
    summary: str
    where: None = None


@dataclass(kw_only=True, repr=False, eq=False)
class Citation:
    """`explanation.Citation`."""

    kind: Literal["alert", "incident"]
    id: int
    summary: str


@dataclass(kw_only=True, repr=False, eq=False)
class SnapshotHold:
    """`explanation.SnapshotHold`."""

    snapshot_id: int
    incident_id: int
    events_sha256: str | None
    manifest_sha256: str | None


@dataclass(kw_only=True, repr=False, eq=False)
class Explanation:
    """`explanation.Explanation` of a decision in the store (no inquiry, no trace)."""

    event_id: int
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
    related: tuple[Related, ...] = field(default=())
    citations: tuple[Citation, ...] = field(default=())
    snapshots: tuple[SnapshotHold, ...] = field(default=())
    inquiry: None = None
    trace: None = None
    provisional: Literal[False] = False

    def missing(self) -> list[str]:
        """The four things on tape that were not logged."""
        return missing_parts(self.model.present, self.prompt, self.response, self.action)

    def model_dump(self, *, mode: Literal["json"]) -> dict[str, Any]:
        """What `explanation.Explanation.model_dump(mode="json")` gives."""
        dumped: dict[str, Any] = _json(self)
        return dumped
