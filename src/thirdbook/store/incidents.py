"""Triage and incidents: declare, attach, dismiss, change severity; every step on the timeline.

Each operation checks the state it changes inside its own `BEGIN IMMEDIATE` transaction, so
two responders triaging one alert at once end with one winner and a clear refusal.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Any

from thirdbook.domain.changes import StoreMarks
from thirdbook.domain.clock import now_us
from thirdbook.domain.errors import TriageRefusedError
from thirdbook.domain.incidents import PHASES, Actor, Incident, RulePrecision, TimelineEntry
from thirdbook.domain.records import from_us
from thirdbook.domain.runbooks import STEP_ACTIONS, RunbookLine, StepCheck
from thirdbook.store.audit import append_audit

if TYPE_CHECKING:
    import aiosqlite

    from thirdbook.store.connection import StoreConnection


_INCIDENT = "id, title, severity, blast_radius, phase, commander, declared_us, runbook"


async def add_timeline_entry(
    conn: aiosqlite.Connection,
    incident_id: int,
    actor: Actor,
    kind: str,
    detail: str,
    audited: dict[str, Any] | None = None,
) -> None:
    """Record a change on an incident's timeline, and in the audit chain, inside the caller's
    transaction: the change, its timeline entry and its audit record commit together.
    `audited` adds fields to the audit record that `verify` reads (not on the timeline)."""
    await conn.execute(
        "INSERT INTO timeline (incident_id, at_us, user, uid, origin, kind, detail) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (incident_id, now_us(), actor.user, actor.uid, actor.origin, kind, detail),
    )
    await append_audit(
        conn, actor, kind, "done", {"timeline": detail, **(audited or {})}, incident_id
    )


async def _open_alert(conn: aiosqlite.Connection, alert_id: int) -> tuple[str, str]:
    async with conn.execute("SELECT status, summary FROM alerts WHERE id = ?", (alert_id,)) as c:
        row = await c.fetchone()
    if row is None:
        raise TriageRefusedError(f"there is no alert #{alert_id}")
    if row[0] != "open":
        raise TriageRefusedError(f"alert #{alert_id} is already {row[0]}")
    return str(row[0]), str(row[1])


async def existing_incident(conn: aiosqlite.Connection, incident_id: int) -> tuple[str, str]:
    """(phase, severity) of an incident, or a refusal naming the missing one."""
    async with conn.execute(
        "SELECT phase, severity FROM incidents WHERE id = ?", (incident_id,)
    ) as cursor:
        row = await cursor.fetchone()
    if row is None:
        raise TriageRefusedError(f"there is no incident #{incident_id}")
    return str(row[0]), str(row[1])


class Incidents:
    """Incidents, their alerts and their timeline."""

    def __init__(self, store: StoreConnection) -> None:
        self._store = store

    async def declare(
        self,
        alert_ids: list[int],
        *,
        title: str,
        severity: str,
        blast_radius: str,
        actor: Actor,
        runbook: str | None = None,
        runbook_copy: tuple[str, str] | None = None,
    ) -> Incident:
        """Declare an incident from open alerts (at least one), following `runbook`;
        `runbook_copy` (its path and text now) is kept for the review's runbook diff."""
        if not title.strip():
            raise TriageRefusedError("an incident needs a title")
        if not alert_ids:
            raise TriageRefusedError("an incident is declared from at least one alert")
        at = now_us()
        async with self._store.write() as conn:
            summaries = [(await _open_alert(conn, a))[1] for a in alert_ids]
            cursor = await conn.execute(
                "INSERT INTO incidents (title, severity, blast_radius, commander, declared_us, "
                "updated_us, runbook) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (title.strip(), severity, blast_radius, actor.user, at, at, runbook),
            )
            incident_id = int(cursor.lastrowid or 0)
            if runbook is not None and runbook_copy is not None:
                await conn.execute(
                    "INSERT INTO runbook_copies (incident_id, name, path, text, at_us) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (incident_id, runbook, *runbook_copy, at),
                )
            recommended = "kill switch" if blast_radius == "high" else "rollback"
            await add_timeline_entry(
                conn,
                incident_id,
                actor,
                "declared",
                f"{severity}, blast radius {blast_radius} (recommended: "
                f"{recommended}): {title.strip()}",
            )
            for alert_id, summary in zip(alert_ids, summaries, strict=True):
                await conn.execute(
                    "UPDATE alerts SET status = 'declared', incident_id = ?, triaged_by = ?, "
                    "triaged_us = ? WHERE id = ?",
                    (incident_id, actor.user, at, alert_id),
                )
                await add_timeline_entry(
                    conn, incident_id, actor, "alert", f"#{alert_id}: {summary}"
                )
        found = await self.get(incident_id)
        assert found is not None
        return found

    async def attach(self, alert_id: int, incident_id: int, actor: Actor) -> None:
        """Attach an open alert to an incident that is not closed."""
        at = now_us()
        async with self._store.write() as conn:
            _, summary = await _open_alert(conn, alert_id)
            phase, _ = await existing_incident(conn, incident_id)
            if phase == "closed":
                raise TriageRefusedError(f"incident #{incident_id} is closed")
            await conn.execute(
                "UPDATE alerts SET status = 'attached', incident_id = ?, triaged_by = ?, "
                "triaged_us = ? WHERE id = ?",
                (incident_id, actor.user, at, alert_id),
            )
            await add_timeline_entry(
                conn, incident_id, actor, "alert", f"#{alert_id} attached: {summary}"
            )

    async def dismiss(self, alert_id: int, reason: str, actor: Actor) -> None:
        """Dismiss an open alert; the reason is the evidence for calibrating the rule."""
        if not reason.strip():
            raise TriageRefusedError("dismissing an alert needs a reason")
        async with self._store.write() as conn:
            await _open_alert(conn, alert_id)
            await conn.execute(
                "UPDATE alerts SET status = 'dismissed', triage_reason = ?, triaged_by = ?, "
                "triaged_us = ? WHERE id = ?",
                (reason.strip(), actor.user, now_us(), alert_id),
            )
            await append_audit(
                conn, actor, "dismiss", "done", {"alert": alert_id, "reason": reason.strip()}
            )

    async def set_severity(self, incident_id: int, severity: str, actor: Actor) -> None:
        """Change an incident's severity; the change goes on the timeline."""
        async with self._store.write() as conn:
            _, before = await existing_incident(conn, incident_id)
            if before == severity:
                raise TriageRefusedError(f"incident #{incident_id} is already {severity}")
            await conn.execute(
                "UPDATE incidents SET severity = ?, updated_us = ? WHERE id = ?",
                (severity, now_us(), incident_id),
            )
            await add_timeline_entry(conn, incident_id, actor, "severity", f"{before} → {severity}")

    async def note(self, incident_id: int, actor: Actor, kind: str, detail: str) -> None:
        """Put an action on an incident's timeline (and in the audit chain)."""
        async with self._store.write() as conn:
            await existing_incident(conn, incident_id)
            await add_timeline_entry(conn, incident_id, actor, kind, detail)

    async def set_phase(self, incident_id: int, phase: str, actor: Actor) -> None:
        """Move an incident to another phase; a closed incident stays closed."""
        if phase not in PHASES:
            raise TriageRefusedError(f"{phase!r} is not a phase ({', '.join(PHASES)})")
        async with self._store.write() as conn:
            before, _ = await existing_incident(conn, incident_id)
            if before == phase:
                raise TriageRefusedError(f"incident #{incident_id} is already {phase}")
            if before == "closed":
                raise TriageRefusedError(f"incident #{incident_id} is closed")
            await conn.execute(
                "UPDATE incidents SET phase = ?, updated_us = ? WHERE id = ?",
                (phase, now_us(), incident_id),
            )
            await add_timeline_entry(conn, incident_id, actor, "phase", f"{before} → {phase}")

    async def add_note(self, incident_id: int, text: str, actor: Actor) -> None:
        """A free-text note on an incident's timeline (and in the audit chain), in any phase:
        a review goes on after the incident is closed."""
        async with self._store.write() as conn:
            await existing_incident(conn, incident_id)
            await add_timeline_entry(conn, incident_id, actor, "note", text)

    async def check_step(
        self,
        incident_id: int,
        step: RunbookLine,
        checked: bool,
        actor: Actor,
        by_action: str | None = None,
    ) -> None:
        """Check (or uncheck) a runbook step of an incident; the check goes on the timeline
        (`by_action`: checked by that action, which just succeeded)."""
        if step.step_key is None:
            raise TriageRefusedError("only a runbook step can be checked")
        async with self._store.write() as conn:
            phase, _ = await existing_incident(conn, incident_id)
            if phase == "closed":
                raise TriageRefusedError(f"incident #{incident_id} is closed")
            await conn.execute(
                "INSERT INTO runbook_checks (incident_id, step_key, checked, by_user, at_us, "
                "by_action) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (incident_id, step_key) DO "
                "UPDATE SET checked = excluded.checked, by_user = excluded.by_user, "
                "at_us = excluded.at_us, by_action = excluded.by_action",
                (incident_id, step.step_key, int(checked), actor.user, now_us(), by_action),
            )
            verb = "checked" if checked else "unchecked"
            if by_action is not None:
                verb = f"checked by {STEP_ACTIONS.get(by_action, by_action)}"
            audited = None if by_action is None else {"by_action": by_action}
            await add_timeline_entry(
                conn, incident_id, actor, "runbook", f"{verb}: {step.text}", audited
            )

    async def checks(self, incident_id: int) -> dict[str, StepCheck]:
        """The runbook steps checked (or unchecked again) on an incident, by step key."""
        rows = await self._store.fetchall(
            "SELECT step_key, checked, by_user, by_action FROM runbook_checks "
            "WHERE incident_id = ?",
            (incident_id,),
        )
        return {
            r[0]: StepCheck(step_key=r[0], checked=bool(r[1]), by=r[2], by_action=r[3])
            for r in rows
        }

    async def get(self, incident_id: int) -> Incident | None:
        """One incident with its alerts."""
        row = await self._store.fetchone(
            f"SELECT {_INCIDENT} FROM incidents WHERE id = ?", (incident_id,)
        )
        return None if row is None else await self._incident(row)

    async def newest(self, limit: int = 50, before_id: int | None = None) -> list[Incident]:
        """The newest incidents (older than `before_id`, when given)."""
        rows = await self._store.fetchall(
            f"SELECT {_INCIDENT} FROM incidents WHERE id < ? ORDER BY id DESC LIMIT ?",
            (before_id if before_id is not None else 1 << 62, limit),
        )
        return [await self._incident(row) for row in rows]

    async def _incident(self, row: sqlite3.Row) -> Incident:
        alerts = await self._store.fetchall(
            "SELECT id FROM alerts WHERE incident_id = ? ORDER BY id", (row[0],)
        )
        closed = None
        if row[4] == "closed":  # a closed incident stays closed: its one "→ closed" entry
            closed = await self._store.fetchone(
                "SELECT max(at_us) FROM timeline WHERE incident_id = ? AND kind = 'phase' "
                "AND detail LIKE '%→ closed'",
                (row[0],),
            )
        return Incident(
            id=row[0],
            title=row[1],
            severity=row[2],
            blast_radius=row[3],
            phase=row[4],
            commander=row[5],
            declared_at=from_us(row[6]),
            alert_ids=tuple(a[0] for a in alerts),
            runbook=row[7],
            closed_at=None if closed is None or closed[0] is None else from_us(closed[0]),
        )

    async def timeline(self, incident_id: int) -> list[TimelineEntry]:
        """Everything that happened to an incident, oldest first."""
        rows = await self._store.fetchall(
            "SELECT id, incident_id, at_us, user, uid, origin, kind, detail FROM timeline "
            "WHERE incident_id = ? ORDER BY id",
            (incident_id,),
        )
        return [
            TimelineEntry(
                id=r[0],
                incident_id=r[1],
                at=from_us(r[2]),
                actor=Actor(user=r[3], uid=r[4], origin=r[5]),
                kind=r[6],
                detail=r[7],
            )
            for r in rows
        ]

    async def marks(self) -> StoreMarks:
        """The high-water marks a console compares each tick (one statement, each part an
        index lookup or a count over the small alerts table)."""
        row = await self._store.fetchone(
            "SELECT (SELECT max(updated_us) FROM alerts), (SELECT max(triaged_us) FROM alerts), "
            "(SELECT count(*) FROM alerts), (SELECT max(id) FROM timeline), "
            "(SELECT max(id) FROM events), (SELECT max(id) FROM snapshots), "
            "(SELECT max(id) FROM containment)"
        )
        if row is None:
            return StoreMarks()
        return StoreMarks(
            alerts=(row[0], row[1], int(row[2] or 0)),
            timeline=row[3],
            events=row[4],
            evidence=(row[5], row[6]),
        )

    async def precision(self) -> list[RulePrecision]:
        """Per rule: alerts fired, declared or attached, dismissed, still open."""
        rows = await self._store.fetchall(
            "SELECT rule, count(*), sum(status IN ('declared', 'attached')), "
            "sum(status = 'dismissed'), sum(status = 'open') FROM alerts GROUP BY rule "
            "ORDER BY rule"
        )
        return [
            RulePrecision(rule=r[0], fired=r[1], declared=r[2], dismissed=r[3], open=r[4])
            for r in rows
        ]
