"""The blameless review's records: findings, the completion, the runbook as it was declared,
and the detection moments the review measures from."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import TYPE_CHECKING

from thirdbook.domain.clock import now_us
from thirdbook.domain.errors import TriageRefusedError
from thirdbook.domain.incidents import Actor
from thirdbook.domain.records import from_us
from thirdbook.domain.review import Finding, ReviewCompletion
from thirdbook.store.incidents import add_timeline_entry, existing_incident

if TYPE_CHECKING:
    from thirdbook.store.connection import StoreConnection

_FINDING = "id, incident_id, kind, text, by_user, at_us, nudge"


def _finding(row: sqlite3.Row) -> Finding:
    return Finding(
        id=row[0],
        incident_id=row[1],
        kind=row[2],
        text=row[3],
        by=row[4],
        at=from_us(row[5]),
        nudge=row[6],
    )


class Reviews:
    """Findings and the review's completion; each change on the timeline and audited."""

    def __init__(self, store: StoreConnection) -> None:
        self._store = store

    async def add_finding(
        self, incident_id: int, *, kind: str, text: str, nudge: str | None, actor: Actor
    ) -> Finding:
        """A new finding of `kind`, with the nudge it was given (advice, kept beside it)."""
        async with self._store.write() as conn:
            await existing_incident(conn, incident_id)
            cursor = await conn.execute(
                "INSERT INTO review_findings (incident_id, kind, text, by_user, at_us, nudge) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (incident_id, kind, text, actor.user, now_us(), nudge),
            )
            finding_id = int(cursor.lastrowid or 0)
            await add_timeline_entry(
                conn,
                incident_id,
                actor,
                "finding",
                f"{kind} #{finding_id}: {text}",
                {"finding": finding_id, "nudged": nudge is not None},
            )
        found = await self.finding(finding_id)
        assert found is not None
        return found

    async def finding(self, finding_id: int) -> Finding | None:
        """One finding by id."""
        row = await self._store.fetchone(
            f"SELECT {_FINDING} FROM review_findings WHERE id = ?", (finding_id,)
        )
        return None if row is None else _finding(row)

    async def findings(self, incident_id: int) -> list[Finding]:
        """An incident's findings, oldest first."""
        rows = await self._store.fetchall(
            f"SELECT {_FINDING} FROM review_findings WHERE incident_id = ? ORDER BY id",
            (incident_id,),
        )
        return [_finding(r) for r in rows]

    async def complete(
        self, incident_id: int, *, no_edit_reason: str | None, summary: str, actor: Actor
    ) -> ReviewCompletion:
        """Mark the review complete (once); `summary` goes on the timeline."""
        async with self._store.write() as conn:
            await existing_incident(conn, incident_id)
            async with conn.execute(
                "SELECT by_user FROM review_completions WHERE incident_id = ?", (incident_id,)
            ) as cursor:
                done = await cursor.fetchone()
            if done is not None:
                raise TriageRefusedError(
                    f"the review of incident #{incident_id} was already completed by {done[0]}"
                )
            await conn.execute(
                "INSERT INTO review_completions (incident_id, by_user, at_us, no_edit_reason) "
                "VALUES (?, ?, ?, ?)",
                (incident_id, actor.user, now_us(), no_edit_reason),
            )
            await add_timeline_entry(conn, incident_id, actor, "review", summary)
        found = await self.completion(incident_id)
        assert found is not None
        return found

    async def completion(self, incident_id: int) -> ReviewCompletion | None:
        """The review's completion, if it is complete."""
        row = await self._store.fetchone(
            "SELECT at_us, by_user, no_edit_reason FROM review_completions WHERE incident_id = ?",
            (incident_id,),
        )
        return (
            None
            if row is None
            else ReviewCompletion(at=from_us(row[0]), by=row[1], no_edit_reason=row[2])
        )

    async def runbook_copy(self, incident_id: int) -> tuple[str, str, str, datetime] | None:
        """The runbook as it was when the incident was declared: name, path, text, when."""
        row = await self._store.fetchone(
            "SELECT name, path, text, at_us FROM runbook_copies WHERE incident_id = ?",
            (incident_id,),
        )
        return None if row is None else (row[0], row[1], row[2], from_us(row[3]))

    async def record_runbook_edit(self, incident_id: int, detail: str, actor: Actor) -> None:
        """A runbook edit made during or after the incident, on its timeline."""
        async with self._store.write() as conn:
            await existing_incident(conn, incident_id)
            await add_timeline_entry(conn, incident_id, actor, "runbook-edit", detail)

    async def detection(self, incident_id: int) -> tuple[datetime | None, datetime | None]:
        """The first bad signal (the earliest event the incident's alerts fired on, or their
        first firing) and when the console raised the first of them."""
        rows = await self._store.fetchall(
            "SELECT event_ids, first_at_us, created_us FROM alerts WHERE incident_id = ?",
            (incident_id,),
        )
        if not rows:
            return None, None
        ids = sorted({int(i) for r in rows for i in json.loads(r[0] or "[]")})[:500]
        earliest = min(int(r[1]) for r in rows)
        if ids:
            marks = ",".join("?" * len(ids))
            row = await self._store.fetchone(
                f"SELECT min(ts_us) FROM events WHERE id IN ({marks})", tuple(ids)
            )
            if row is not None and row[0] is not None:
                earliest = min(earliest, int(row[0]))
        return from_us(earliest), from_us(min(int(r[2]) for r in rows))
