"""What a trigger says when it fires."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

TriggerKind = Literal["drift", "feedback", "unexplainable", "agent_lane"]


class Firing(BaseModel):
    """A rule fired for a key (a model version, an agent, a subject) because of some events."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    rule: str
    kind: TriggerKind
    key: str
    event_ids: tuple[int, ...]
    at: datetime
    summary: str


AlertStatus = Literal["open", "dismissed", "attached", "declared"]


class Alert(BaseModel):
    """A firing as the console shows it: one per rule and key while it is open."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    id: int
    rule: str
    kind: TriggerKind
    key: str
    status: AlertStatus
    summary: str
    fired: int
    event_ids: tuple[int, ...]
    first_at: datetime
    last_at: datetime
