"""Alerts: what the triggers said, one open alert per rule and key."""

from __future__ import annotations

import json
import sqlite3
from typing import TYPE_CHECKING

from thirdbook.domain.alerts import Alert, Firing
from thirdbook.domain.calibration import AlertFact
from thirdbook.domain.clock import now_us
from thirdbook.domain.records import Page, from_us, to_us

if TYPE_CHECKING:
    from thirdbook.store.connection import StoreConnection

MAX_EVENT_IDS = 200
"""An alert remembers at most this many of the events that made it fire (the latest)."""

_COLUMNS = "id, rule, kind, key, status, summary, fired, event_ids, first_at_us, last_at_us"


def _alert(row: sqlite3.Row) -> Alert:
    return Alert(
        id=row[0],
        rule=row[1],
        kind=row[2],
        key=row[3],
        status=row[4],
        summary=row[5],
        fired=row[6],
        event_ids=tuple(json.loads(row[7])),
        first_at=from_us(row[8]),
        last_at=from_us(row[9]),
    )


class Alerts:
    """Record firings and read alerts back."""

    def __init__(self, store: StoreConnection) -> None:
        self._store = store

    async def record(self, firing: Firing) -> Alert:
        """A new open alert, or the live one for this rule and key, updated.

        Live means open, or declared into (or attached to) an incident that is not closed:
        a model that keeps drifting during its incident updates the alert behind it instead
        of raising new ones beside it. After a dismissal, or once the incident is closed, a
        new firing is a new alert.
        """
        at = to_us(firing.at)
        async with self._store.write() as conn:
            async with conn.execute(
                f"SELECT {', '.join('a.' + c for c in _COLUMNS.split(', '))} FROM alerts a "
                "LEFT JOIN incidents i ON i.id = a.incident_id WHERE a.rule = ? AND a.key = ? "
                "AND (a.status = 'open' OR (a.status IN ('declared', 'attached') "
                "AND i.phase != 'closed')) ORDER BY a.status = 'open' DESC, a.id DESC LIMIT 1",
                (firing.rule, firing.key),
            ) as cursor:
                row = await cursor.fetchone()
            if row is None:
                cursor = await conn.execute(
                    "INSERT INTO alerts (rule, kind, key, summary, event_ids, first_at_us, "
                    "last_at_us, created_us, updated_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        firing.rule,
                        firing.kind,
                        firing.key,
                        firing.summary,
                        json.dumps(list(firing.event_ids)[-MAX_EVENT_IDS:]),
                        at,
                        at,
                        now_us(),
                        now_us(),
                    ),
                )
                alert_id = int(cursor.lastrowid or 0)
            else:
                existing = _alert(row)
                ids = sorted(set(existing.event_ids) | set(firing.event_ids))[-MAX_EVENT_IDS:]
                alert_id = existing.id
                await conn.execute(
                    "UPDATE alerts SET fired = fired + 1, summary = ?, event_ids = ?, "
                    "first_at_us = min(first_at_us, ?), last_at_us = max(last_at_us, ?), "
                    "updated_us = ? WHERE id = ?",
                    (firing.summary, json.dumps(ids), at, at, now_us(), alert_id),
                )
        found = await self.get(alert_id)
        assert found is not None
        return found

    async def get(self, alert_id: int) -> Alert | None:
        """One alert by id."""
        row = await self._store.fetchone(f"SELECT {_COLUMNS} FROM alerts WHERE id = ?", (alert_id,))
        return None if row is None else _alert(row)

    async def page(
        self, *, status: str | None = None, before_id: int | None = None, limit: int = 50
    ) -> Page[Alert]:
        """Newest alerts first, optionally of one status."""
        conditions = [("status = ?", status), ("id < ?", before_id)]
        clauses = [c for c, v in conditions if v is not None]
        params: list[object] = [v for _, v in conditions if v is not None]
        sql = f"SELECT {_COLUMNS} FROM alerts"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        rows = await self._store.fetchall(sql + " ORDER BY id DESC LIMIT ?", (*params, limit + 1))
        items = [_alert(r) for r in rows[:limit]]
        return Page[Alert](items=items, next_key=items[-1].id if len(rows) > limit else None)

    async def facts(self) -> list[AlertFact]:
        """Every alert's triage facts with its incident's title and declaration, oldest
        first: what the near-miss register and calibration are computed from."""
        rows = await self._store.fetchall(
            "SELECT a.id, a.rule, a.key, a.status, a.first_at_us, a.triaged_us, a.triaged_by, "
            "a.triage_reason, a.incident_id, i.title, i.declared_us FROM alerts a "
            "LEFT JOIN incidents i ON i.id = a.incident_id ORDER BY a.id"
        )
        return [
            AlertFact(
                id=r[0],
                rule=r[1],
                key=r[2],
                status=r[3],
                fired_at=from_us(r[4]),
                triaged_at=None if r[5] is None else from_us(r[5]),
                triaged_by=r[6],
                reason=r[7],
                incident_id=r[8],
                incident_title=r[9],
                incident_declared_at=None if r[10] is None else from_us(r[10]),
            )
            for r in rows
        ]
