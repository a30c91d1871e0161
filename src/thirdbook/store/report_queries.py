"""What a post-incident report counts: the window's requests and subjects by route and
version, the money agents moved, and an incident's Article 73 marking."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from thirdbook.domain.records import from_us

if TYPE_CHECKING:
    from thirdbook.store.connection import StoreConnection


class RouteImpact(BaseModel):
    """Requests served in a window by one route of one model version."""

    model_config = ConfigDict(frozen=True)

    route: str
    model: str | None
    version: str | None
    requests: int
    subjects: int


class MoneyMoved(BaseModel):
    """What one agent's actions moved in a window, in one currency."""

    model_config = ConfigDict(frozen=True)

    agent: str | None
    currency: str | None
    actions: int
    total: float


class TimelineMark(BaseModel):
    """A timeline entry as a report reads it: when, who, what."""

    model_config = ConfigDict(frozen=True)

    at: datetime
    user: str
    detail: str


class ReportQueries:
    """Aggregates over the events table (one pass along the time index each) and the
    timeline lookups a report and the banner need."""

    def __init__(self, store: StoreConnection) -> None:
        self._store = store

    async def impact(self, since_us: int, until_us: int) -> tuple[list[RouteImpact], int]:
        """Per route and model version: requests and distinct subjects in the window; and
        the distinct subjects of all of them together."""
        rows = await self._store.fetchall(
            "SELECT coalesce(route, 'model'), model_name, model_version, count(*), "
            "count(DISTINCT subject) FROM events WHERE ts_us >= ? AND ts_us < ? "
            "AND kind = 'inference' GROUP BY 1, 2, 3 ORDER BY 4 DESC, 1, 2, 3",
            (since_us, until_us),
        )
        total = await self._store.fetchone(
            "SELECT count(DISTINCT subject) FROM events WHERE ts_us >= ? AND ts_us < ? "
            "AND kind = 'inference'",
            (since_us, until_us),
        )
        impacts = [
            RouteImpact(route=r[0], model=r[1], version=r[2], requests=r[3], subjects=r[4])
            for r in rows
        ]
        return impacts, int(total[0] or 0) if total else 0

    async def money(self, since_us: int, until_us: int) -> list[MoneyMoved]:
        """Per agent and currency: the actions that carried an amount, and their total."""
        rows = await self._store.fetchall(
            "SELECT model_name, json_extract(CAST(raw AS TEXT), '$.currency') AS currency, "
            "count(*), total(json_extract(CAST(raw AS TEXT), '$.amount')) FROM events "
            "WHERE ts_us >= ? AND ts_us < ? AND kind = 'agent_action' "
            "AND json_type(CAST(raw AS TEXT), '$.amount') IN ('integer', 'real') "
            "GROUP BY 1, 2 ORDER BY 4 DESC",
            (since_us, until_us),
        )
        return [
            MoneyMoved(
                agent=r[0],
                currency=None if r[1] is None else str(r[1]),
                actions=r[2],
                total=float(r[3]),
            )
            for r in rows
        ]

    async def latest_of_kind(self, incident_id: int, kind: str) -> TimelineMark | None:
        """The incident's newest timeline entry of `kind` (along the timeline index)."""
        row = await self._store.fetchone(
            "SELECT at_us, user, detail FROM timeline WHERE incident_id = ? AND kind = ? "
            "ORDER BY id DESC LIMIT 1",
            (incident_id, kind),
        )
        return None if row is None else TimelineMark(at=from_us(row[0]), user=row[1], detail=row[2])
