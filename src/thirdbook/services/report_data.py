"""What one post-incident report is written from, read from the store in one go."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from thirdbook.domain.alerts import Alert
from thirdbook.domain.evidence import ContainmentState, SnapshotRecord
from thirdbook.domain.incidents import ActionItem, Incident, TimelineEntry
from thirdbook.domain.recovery import DecisionState
from thirdbook.domain.regulatory import RegulatoryConfig, SeriousMark
from thirdbook.domain.replay import ReplayRun
from thirdbook.domain.roles import RoleHolder
from thirdbook.services.review import Review
from thirdbook.store.report_queries import MoneyMoved, RouteImpact


@dataclass(frozen=True)
class ReportData:
    """What one report is written from, read in one go."""

    incident: Incident
    timeline: list[TimelineEntry]
    alerts: list[Alert]
    window: tuple[datetime, datetime]
    impacts: list[RouteImpact]
    subjects: int
    money: list[MoneyMoved]
    containment: list[ContainmentState]
    snapshots: list[SnapshotRecord]
    replays: list[ReplayRun]
    action_items: list[ActionItem]
    serious: SeriousMark | None
    config: RegulatoryConfig
    generated_at: datetime
    decisions: list[DecisionState] = field(default_factory=list)
    """The recovery decisions, oldest first, with what they wrote and when it was observed."""
    review: Review | None = None
    roles: dict[str, RoleHolder] = field(default_factory=dict)
    """Who holds each of the incident's roles (commander, scribe, communications)."""
    """The blameless review as it stands (findings, measured times, the runbook's diff)."""
    bundle_note: str = field(default="")
    """Said where the bundle hash goes: a report written into a bundle cannot hold the
    hash of the bundle that holds it."""

    def of_kind(self, *kinds: str) -> list[TimelineEntry]:
        """The timeline entries of these kinds, oldest first."""
        return [e for e in self.timeline if e.kind in kinds]
