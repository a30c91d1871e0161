"""Recovery decisions, their band overrides, and quarantine audit sign-offs."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from thirdbook.domain.clock import now_us
from thirdbook.domain.errors import TriageRefusedError
from thirdbook.domain.incidents import PHASES, Actor
from thirdbook.domain.records import from_us, to_us
from thirdbook.domain.recovery import BandOverride, QuarantineSignOff, RecoveryDecision
from thirdbook.store.incidents import add_timeline_entry, existing_incident

if TYPE_CHECKING:
    from datetime import datetime

    from thirdbook.store.connection import StoreConnection

_DECISION = "id, incident_id, kind, at_us, by_user, summary, detail, override"
_BAND = "rule, low, high, since_us, until_us, decision_id, incident_id"


class Recovery:
    """Record a decision (on the timeline, audited, moving the incident to recovering) and
    read decisions, band overrides and sign-offs back."""

    def __init__(self, store: StoreConnection) -> None:
        self._store = store

    async def record(
        self,
        incident_id: int,
        kind: str,
        summary: str,
        detail: dict[str, Any],
        actor: Actor,
        *,
        override: str | None = None,
        bands: list[tuple[str, float | None, float | None, datetime]] | None = None,
    ) -> RecoveryDecision:
        """One decision, its band overrides (rule, low, high, until) from now, its timeline
        entry ("decision") and the move to "recovering" (if the incident is before it), all
        in one transaction."""
        at = now_us()
        async with self._store.write() as conn:
            phase, _ = await existing_incident(conn, incident_id)
            if phase == "closed":
                raise TriageRefusedError(f"incident #{incident_id} is closed")
            cursor = await conn.execute(
                "INSERT INTO recovery_decisions (incident_id, kind, at_us, by_user, summary, "
                "detail, override) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (incident_id, kind, at, actor.user, summary, json.dumps(detail), override),
            )
            decision_id = int(cursor.lastrowid or 0)
            for rule, low, high, until in bands or []:
                await conn.execute(
                    f"INSERT INTO band_overrides ({_BAND}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (rule, low, high, at, to_us(until), decision_id, incident_id),
                )
            await add_timeline_entry(
                conn,
                incident_id,
                actor,
                "decision",
                summary,
                {"decision": decision_id, "kind": kind, "detail": detail, "override": override},
            )
            if PHASES.index(phase) < PHASES.index("recovering"):
                await conn.execute(
                    "UPDATE incidents SET phase = 'recovering', updated_us = ? WHERE id = ?",
                    (at, incident_id),
                )
                await add_timeline_entry(conn, incident_id, actor, "phase", f"{phase} → recovering")
        found = await self.decisions(incident_id)
        return next(d for d in found if d.id == decision_id)

    async def decisions(self, incident_id: int) -> list[RecoveryDecision]:
        """An incident's decisions, oldest first."""
        rows = await self._store.fetchall(
            f"SELECT {_DECISION} FROM recovery_decisions WHERE incident_id = ? ORDER BY id",
            (incident_id,),
        )
        return [
            RecoveryDecision(
                id=r[0],
                incident_id=r[1],
                kind=r[2],
                at=from_us(r[3]),
                by=r[4],
                summary=r[5],
                detail=json.loads(r[6]),
                override=r[7],
            )
            for r in rows
        ]

    async def band_overrides(self, incident_id: int | None = None) -> list[BandOverride]:
        """Every band override (of one incident, when given), oldest first."""
        where, params = ("WHERE incident_id = ?", (incident_id,)) if incident_id else ("", ())
        rows = await self._store.fetchall(
            f"SELECT {_BAND} FROM band_overrides {where} ORDER BY id", params
        )
        return [
            BandOverride(
                rule=r[0],
                low=r[1],
                high=r[2],
                since=from_us(r[3]),
                until=from_us(r[4]),
                decision_id=r[5],
                incident_id=r[6],
            )
            for r in rows
        ]

    async def sign_off(self, incident_id: int, reason: str, actor: Actor, note: str) -> None:
        """Sign off an incident's quarantine audit (on the timeline, audited); refused when
        it has nothing quarantined or is signed off already."""
        async with self._store.write() as conn:
            await existing_incident(conn, incident_id)
            async with conn.execute(
                "SELECT count(*) FROM quarantine WHERE incident_id = ?", (incident_id,)
            ) as cursor:
                row = await cursor.fetchone()
            if not row or not row[0]:
                raise TriageRefusedError(
                    f"incident #{incident_id} has quarantined nothing: there is no quarantine "
                    "audit to sign off"
                )
            async with conn.execute(
                "SELECT by_user FROM quarantine_signoffs WHERE incident_id = ?", (incident_id,)
            ) as cursor:
                done = await cursor.fetchone()
            if done is not None:
                raise TriageRefusedError(
                    f"incident #{incident_id}'s quarantine audit is already signed off "
                    f"(by {done[0]})"
                )
            await conn.execute(
                "INSERT INTO quarantine_signoffs (incident_id, by_user, at_us, reason) "
                "VALUES (?, ?, ?, ?)",
                (incident_id, actor.user, now_us(), reason),
            )
            await add_timeline_entry(
                conn, incident_id, actor, "quarantine-sign-off", note, {"reason": reason}
            )

    async def sign_offs(self) -> dict[int, QuarantineSignOff]:
        """Every signed-off quarantine audit, by incident."""
        rows = await self._store.fetchall(
            "SELECT incident_id, by_user, at_us, reason FROM quarantine_signoffs"
        )
        return {
            int(r[0]): QuarantineSignOff(incident_id=r[0], by=r[1], at=from_us(r[2]), reason=r[3])
            for r in rows
        }
