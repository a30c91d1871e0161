"""The regulatory side of a report: the EU AI Act Article 73 clock, and the fields a
regulator or an incident database asks for that the store cannot know (from config).

Article 73 of Regulation (EU) 2024/1689: a provider reports a serious incident not later than
15 days after it became aware of it (73(2)); 2 days for a widespread infringement or a serious
and irreversible disruption of critical infrastructure (73(3)); 10 days for a death (73(4)).
An initial report that is incomplete may be followed by a complete one (73(5)).

A serious marking lives on the incident's timeline (kind "serious"), its detail written and
read back by `serious_detail` / `parse_serious`, so the banner of every console reads it with
one indexed query and no table of its own.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SeriousCategory = Literal["death", "widespread", "critical-infrastructure", "other"]
SERIOUS_CATEGORIES: tuple[str, ...] = ("death", "widespread", "critical-infrastructure", "other")

ARTICLE_73_DAYS: dict[str, int] = {
    "death": 10,
    "widespread": 2,
    "critical-infrastructure": 2,
    "other": 15,
}
"""Days from awareness to the report, by category (Art. 73(2)-(4))."""

ARTICLE_73_WHY: dict[str, str] = {
    "death": "death of a person (Art. 73(4))",
    "widespread": "widespread infringement (Art. 73(3))",
    "critical-infrastructure": "serious disruption of critical infrastructure (Art. 73(3))",
    "other": "other serious incident (Art. 73(2))",
}

_DETAIL = re.compile(
    r"^serious incident \(EU AI Act Art\. 73\): category (?P<category>[a-z-]+); aware "
    r"(?P<aware>\S+); report due (?P<due>\S+)"
)


class SeriousMark(BaseModel):
    """An incident marked serious: the Article 73 clock runs from `aware_at`."""

    model_config = ConfigDict(frozen=True)

    category: SeriousCategory
    aware_at: datetime = Field(description="When the organisation became aware.")
    marked_at: datetime | None = None
    by: str | None = None

    @property
    def deadline(self) -> datetime:
        """When the report is due."""
        return self.aware_at + timedelta(days=ARTICLE_73_DAYS[self.category])

    def left(self, now: datetime) -> timedelta:
        """Time left until the deadline (negative once overdue)."""
        return self.deadline - now

    def due_text(self, now: datetime) -> str:
        """What the banner says: `Art. 73 report due in 1d 4h`, or `... OVERDUE by 3h`."""
        left = self.left(now)
        if left <= timedelta(0):
            return f"Art. 73 report OVERDUE by {span(-left)}"
        return f"Art. 73 report due in {span(left)}"


def span(delta: timedelta) -> str:
    """A duration as days and hours (minutes under a day's last hours): `1d 4h`, `3h 20m`."""
    minutes = int(delta.total_seconds()) // 60
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {mins}m" if hours else f"{mins}m"


def serious_detail(mark: SeriousMark) -> str:
    """The timeline entry's detail for a serious marking (read back by `parse_serious`)."""
    return (
        f"serious incident (EU AI Act Art. 73): category {mark.category}; aware "
        f"{mark.aware_at.isoformat()}; report due {mark.deadline.isoformat()} "
        f"({ARTICLE_73_WHY[mark.category]})"
    )


def parse_serious(
    detail: str, marked_at: datetime | None = None, by: str | None = None
) -> SeriousMark | None:
    """The marking a "serious" timeline entry records; None for a detail it did not write."""
    found = _DETAIL.match(detail)
    if found is None or found["category"] not in ARTICLE_73_DAYS:
        return None
    try:
        aware = datetime.fromisoformat(found["aware"])
    except ValueError:
        return None
    return SeriousMark(
        category=found["category"],
        aware_at=aware,
        marked_at=marked_at,
        by=by,
    )


def report_due(mark: SeriousMark, phase: str) -> str:
    """Which report is due: the initial one (it may be incomplete, Art. 73(5)) while the
    incident is being handled; the complete one once it is in review or closed."""
    if phase in ("reviewing", "closed"):
        return "complete report (the initial one may already have been sent, Art. 73(5))"
    return "initial report (it may be incomplete and completed later, Art. 73(5))"


class RegulatoryConfig(BaseModel):
    """`[report]` in thirdbook.toml: what a report needs that the store cannot know. Each
    field left out is marked "to complete" in the report."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    system_id: str | None = Field(default=None, description="The AI system's identifier.")
    organisation: str | None = Field(default=None, description="Who reports (the provider).")
    sector: str | None = Field(default=None, description="Sector of deployment (CSET).")
    deployer: str | None = Field(default=None, description="Alleged deployer (AIID).")
    developer: str | None = Field(default=None, description="Alleged developer (AIID).")
    autonomy_level: str | None = Field(
        default=None, description="CSET autonomy level: Autonomy1 (no human), 2 or 3."
    )
    harm_domain: str | None = Field(default=None, description="CSET harm domain.")
    stakeholders: str | None = Field(default=None, description="Who is affected, in words.")
