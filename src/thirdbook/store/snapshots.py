"""Evidence snapshots: started (incomplete) until their manifest is stored."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from thirdbook.domain.clock import now_us
from thirdbook.domain.evidence import SnapshotRecord
from thirdbook.domain.records import from_us
from thirdbook.store.explain import manifest_of

# The audit chain and the incidents' queries are imported by the writes that use them:
# `explain` only lists the snapshots.
if TYPE_CHECKING:
    from thirdbook.domain.incidents import Actor
    from thirdbook.store.connection import StoreConnection

_COLUMNS = "id, incident_id, status, by_user, started_us, finished_us, manifest_sha256, manifest"


_manifest = manifest_of


def _snapshot(row: Any) -> SnapshotRecord:
    return SnapshotRecord(
        id=row[0],
        incident_id=row[1],
        status=row[2],
        by=row[3],
        started=from_us(row[4]),
        finished=None if row[5] is None else from_us(row[5]),
        manifest_sha256=row[6],
        manifest=_manifest(row[7]),
    )


class Snapshots:
    """Start, complete and list snapshots; each step is audited."""

    def __init__(self, store: StoreConnection) -> None:
        self._store = store

    async def start(self, incident_id: int, actor: Actor) -> int:
        """A new incomplete snapshot (audited as started)."""
        from thirdbook.store.audit import append_audit
        from thirdbook.store.incidents import existing_incident

        async with self._store.write() as conn:
            await existing_incident(conn, incident_id)
            cursor = await conn.execute(
                "INSERT INTO snapshots (incident_id, by_user, started_us) VALUES (?, ?, ?)",
                (incident_id, actor.user, now_us()),
            )
            snapshot_id = int(cursor.lastrowid or 0)
            await append_audit(
                conn, actor, "snapshot", "started", {"snapshot": snapshot_id}, incident_id
            )
        return snapshot_id

    async def complete(
        self, snapshot_id: int, manifest: dict[str, Any], manifest_sha256: str, actor: Actor
    ) -> SnapshotRecord:
        """Mark a snapshot complete with its manifest; on the timeline and audited."""
        from thirdbook.store.incidents import add_timeline_entry

        async with self._store.write() as conn:
            async with conn.execute(
                "SELECT incident_id FROM snapshots WHERE id = ?", (snapshot_id,)
            ) as cursor:
                row = await cursor.fetchone()
            assert row is not None
            await conn.execute(
                "UPDATE snapshots SET status = 'complete', finished_us = ?, manifest_sha256 = ?, "
                "manifest = ? WHERE id = ?",
                (now_us(), manifest_sha256, json.dumps(manifest), snapshot_id),
            )
            items = manifest.get("items", [])
            size = sum(int(i.get("size", 0)) for i in items)
            note = (
                f"snapshot #{snapshot_id} complete: {len(items)} items, {size:,} bytes, "
                f"manifest sha256:{manifest_sha256}"
            )
            await add_timeline_entry(
                conn,
                int(row[0]),
                actor,
                "evidence",
                note,
                {"snapshot": snapshot_id, "manifest_sha256": manifest_sha256},
            )
        found = await self.get(snapshot_id)
        assert found is not None
        return found

    async def get(self, snapshot_id: int) -> SnapshotRecord | None:
        """One snapshot."""
        row = await self._store.fetchone(
            f"SELECT {_COLUMNS} FROM snapshots WHERE id = ?", (snapshot_id,)
        )
        return None if row is None else _snapshot(row)

    async def for_incident(self, incident_id: int) -> list[SnapshotRecord]:
        """An incident's snapshots, newest first."""
        rows = await self._store.fetchall(
            f"SELECT {_COLUMNS} FROM snapshots WHERE incident_id = ? ORDER BY id DESC",
            (incident_id,),
        )
        return [_snapshot(r) for r in rows]

    async def index(self) -> dict[int, tuple[str, str | None]]:
        """Every snapshot's status and manifest hash, by id (for verify)."""
        rows = await self._store.fetchall("SELECT id, status, manifest_sha256 FROM snapshots")
        return {int(r[0]): (str(r[1]), r[2]) for r in rows}

    async def all_complete(self) -> list[SnapshotRecord]:
        """Every complete snapshot (for verify)."""
        rows = await self._store.fetchall(
            f"SELECT {_COLUMNS} FROM snapshots WHERE status = 'complete' ORDER BY id"
        )
        return [_snapshot(r) for r in rows]
