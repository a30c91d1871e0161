"""The audit chain in the store: append under the caller's write transaction, read in order."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from thirdbook.domain.audit import (
    GENESIS,
    AuditRecord,
    ChainHead,
    Outcome,
    canonical_bytes,
    record_hash,
)
from thirdbook.domain.clock import now_us
from thirdbook.domain.incidents import Actor
from thirdbook.domain.records import from_us

if TYPE_CHECKING:
    import aiosqlite

    from thirdbook.store.connection import StoreConnection

PAGE = 2000


async def append_audit(
    conn: aiosqlite.Connection,
    actor: Actor,
    action: str,
    outcome: Outcome,
    detail: dict[str, Any],
    incident_id: int | None = None,
) -> ChainHead:
    """Append one record inside the caller's `BEGIN IMMEDIATE` transaction (so the head it
    links to cannot move under it: several processes never fork the chain)."""
    async with conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1") as cursor:
        row = await cursor.fetchone()
    seq, prev_hash = (1, GENESIS) if row is None else (int(row[0]) + 1, str(row[1]))
    at = now_us()
    content = {
        "at_us": at,
        "action": action,
        "outcome": outcome,
        "incident": incident_id,
        "actor": {"user": actor.user, "uid": actor.uid, "origin": actor.origin},
        "detail": detail,
    }
    digest = record_hash(seq, prev_hash, content)
    await conn.execute(
        "INSERT INTO audit (seq, at_us, incident_id, content, prev_hash, hash) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (seq, at, incident_id, canonical_bytes(content).decode("utf-8"), prev_hash, digest),
    )
    return ChainHead(seq=seq, hash=digest)


def _record(row: Any) -> AuditRecord:
    try:
        content = json.loads(row[2])
        if not isinstance(content, dict):
            raise ValueError("not an object")
    except ValueError:
        content = {"undecodable": str(row[2])}  # its hash will not match: verify names it
    return AuditRecord(
        seq=row[0], at=from_us(row[1]), content=content, prev_hash=row[3], hash=row[4]
    )


class Audit:
    """Append to the chain and read it back."""

    def __init__(self, store: StoreConnection) -> None:
        self._store = store

    async def append(
        self,
        actor: Actor,
        action: str,
        outcome: Outcome,
        detail: dict[str, Any],
        incident_id: int | None = None,
    ) -> ChainHead:
        """Append one record in a transaction of its own."""
        async with self._store.write() as conn:
            return await append_audit(conn, actor, action, outcome, detail, incident_id)

    async def head(self) -> ChainHead | None:
        """The newest record's sequence number and hash (None for an empty chain)."""
        row = await self._store.fetchone("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
        return None if row is None else ChainHead(seq=row[0], hash=row[1])

    async def records(self, after: int = 0, limit: int = PAGE) -> list[AuditRecord]:
        """Records after a sequence number, in order."""
        rows = await self._store.fetchall(
            "SELECT seq, at_us, content, prev_hash, hash FROM audit WHERE seq > ? "
            "ORDER BY seq LIMIT ?",
            (after, limit),
        )
        return [_record(r) for r in rows]

    async def walk(self) -> AsyncIterator[list[AuditRecord]]:
        """The whole chain, one page at a time (bounded memory)."""
        after = 0
        while page := await self.records(after):
            yield page
            after = page[-1].seq

    async def for_incident(self, incident_id: int) -> list[AuditRecord]:
        """An incident's records, in order."""
        rows = await self._store.fetchall(
            "SELECT seq, at_us, content, prev_hash, hash FROM audit WHERE incident_id = ? "
            "ORDER BY seq",
            (incident_id,),
        )
        return [_record(r) for r in rows]
