"""Quarantined targets, each tied to the incident that quarantined it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from thirdbook.domain.clock import now_us
from thirdbook.domain.incidents import Actor
from thirdbook.store.incidents import add_timeline_entry, existing_incident

if TYPE_CHECKING:
    from thirdbook.domain.evidence import QuarantineTarget
    from thirdbook.store.connection import StoreConnection


class Quarantine:
    """Add targets (on the timeline, audited) and look them up."""

    def __init__(self, store: StoreConnection) -> None:
        self._store = store

    async def add(
        self, incident_id: int, targets: list[QuarantineTarget], actor: Actor, note: str
    ) -> None:
        """Record quarantined targets in one transaction, with one timeline entry."""
        async with self._store.write() as conn:
            await existing_incident(conn, incident_id)
            for t in targets:
                await conn.execute(
                    "INSERT INTO quarantine (incident_id, target, kind, sha256, by_user, "
                    "added_us) VALUES (?, ?, ?, ?, ?, ?)",
                    (incident_id, t.target, t.kind, t.sha256, actor.user, now_us()),
                )
            await add_timeline_entry(conn, incident_id, actor, "containment", note)

    async def matching(self, target: str, sha256: str | None) -> list[tuple[int, str, str]]:
        """(incident, target, kind) of quarantine entries for this path, id or content."""
        rows = await self._store.fetchall(
            "SELECT incident_id, target, kind FROM quarantine WHERE target = ? "
            "OR (? IS NOT NULL AND sha256 = ?) "
            "OR (kind = 'directory' AND substr(?, 1, length(target) + 1) = target || '/')",
            (target, sha256, sha256, target),
        )
        return [(int(r[0]), str(r[1]), str(r[2])) for r in rows]

    async def listed(self) -> list[tuple[int, str, str, str | None]]:
        """Every entry: (incident, target, kind, sha256)."""
        rows = await self._store.fetchall(
            "SELECT incident_id, target, kind, sha256 FROM quarantine ORDER BY id"
        )
        return [(int(r[0]), str(r[1]), str(r[2]), r[3]) for r in rows]
