"""Incidents, who acted, and the timeline that records every change."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from thirdbook.domain.calibration import precision_label

Severity = Literal["SEV1", "SEV2", "SEV3", "SEV4"]
BlastRadius = Literal["high", "medium"]
Phase = Literal["detected", "contained", "investigating", "recovering", "reviewing", "closed"]
SEVERITIES: tuple[str, ...] = ("SEV1", "SEV2", "SEV3", "SEV4")
PHASES: tuple[str, ...] = (
    "detected",
    "contained",
    "investigating",
    "recovering",
    "reviewing",
    "closed",
)


class Actor(BaseModel):
    """Who did something, as the operating system says: never a typed-in name."""

    model_config = ConfigDict(frozen=True)

    user: str
    uid: int
    origin: str = Field(description="The SSH client address and port, or 'local'.")

    def __str__(self) -> str:
        return f"{self.user} (uid {self.uid}, {self.origin})"


class Incident(BaseModel):
    """A declared incident."""

    model_config = ConfigDict(frozen=True)

    id: int
    title: str
    severity: Severity
    blast_radius: BlastRadius
    phase: Phase
    commander: str
    declared_at: datetime
    alert_ids: tuple[int, ...]
    runbook: str | None = Field(default=None, description="The runbook's name, if one applies.")
    closed_at: datetime | None = Field(default=None, description="When it was closed, if it is.")

    def elapsed(self, now: datetime) -> timedelta:
        """How long it has run: until `now`, or until its close (a closed incident's clock
        stops)."""
        end = self.closed_at if self.phase == "closed" and self.closed_at is not None else now
        return max(end - self.declared_at, timedelta(0))

    @property
    def recommended_containment(self) -> str:
        """High blast radius: the kill switch. Medium and reversible: roll back."""
        return "kill switch" if self.blast_radius == "high" else "rollback"


def elapsed_clock(incident: Incident, now: datetime) -> str:
    """The incident's running time as h:mm:ss: what the banner, the incident panel and the
    incident list all show, so they never disagree."""
    minutes, seconds = divmod(int(incident.elapsed(now).total_seconds()), 60)
    return f"{minutes // 60:d}:{minutes % 60:02d}:{seconds:02d}"


class TimelineEntry(BaseModel):
    """One change or action on an incident, with who and when."""

    model_config = ConfigDict(frozen=True)

    id: int
    incident_id: int
    at: datetime
    actor: Actor
    kind: str
    detail: str


class RulePrecision(BaseModel):
    """How often a rule's alerts turned out to be real: declared (or attached) over triaged
    (declared, attached or dismissed). Open, untriaged alerts are not misses."""

    model_config = ConfigDict(frozen=True)

    rule: str
    fired: int
    declared: int
    dismissed: int
    open: int

    @property
    def precision(self) -> float | None:
        """Declared (or attached) over triaged; None while none of its alerts is triaged."""
        triaged = self.declared + self.dismissed
        return None if triaged == 0 else self.declared / triaged

    @property
    def label(self) -> str:
        """The precision as shown: "75 %", or "3 open, untriaged" instead of "0 %"."""
        return precision_label(self.declared, self.dismissed, self.open)


class ActionItem(BaseModel):
    """Something to change after an incident: exactly one owner and a due date."""

    model_config = ConfigDict(frozen=True)

    id: int
    incident_id: int
    title: str
    owner: str
    due: date
    status: Literal["open", "done"]
    resolution: str | None
    kind: Literal["detect", "prevent", "correct"] | None = Field(
        default=None, description="Detect it sooner, prevent it, or correct what it did."
    )
    finding_id: int | None = Field(default=None, description="The finding it answers.")

    def overdue(self, today: date) -> bool:
        """Open past its due date."""
        return self.status == "open" and self.due < today
