"""Reading events and rejects back, one keyset page at a time (never OFFSET)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from thirdbook.domain.records import (
    EventFilter,
    Page,
    Reject,
    StoredEvent,
    from_us,
    lookup_key,
    to_us,
)

if TYPE_CHECKING:
    from thirdbook.store.connection import StoreConnection

_EVENT_COLUMNS = (
    "e.id, e.ts_us, e.kind, e.request_id, e.subject, e.model_name, e.model_version, "
    "e.weights_hash, e.route, f.source, f.path, e.byte_offset, e.raw, e.line_index"
)


def _event(row: sqlite3.Row) -> StoredEvent:
    return StoredEvent(
        id=row[0],
        ts=from_us(row[1]),
        kind=row[2],
        request_id=row[3],
        subject=row[4],
        model_name=row[5],
        model_version=row[6],
        weights_hash=row[7],
        route=row[8],
        source=row[9],
        path=row[10],
        byte_offset=row[11],
        raw=bytes(row[12]),
        line_index=row[13],
    )


class EventQueries:
    """Events and rejects, newest first, paged by id."""

    def __init__(self, store: StoreConnection) -> None:
        self._store = store

    async def page(
        self, where: EventFilter | None = None, *, before_id: int | None = None, limit: int = 50
    ) -> Page[StoredEvent]:
        """Newest events first; pass the previous page's `next_key` as `before_id`."""
        where = where or EventFilter()
        # Random identifiers are found through their hashed key, then matched exactly.
        conditions: list[tuple[str, object]] = [
            ("e.request_key = ?", lookup_key(where.request_id)),
            ("e.request_id = ?", where.request_id),
            ("e.subject_key = ?", lookup_key(where.subject)),
            ("e.subject = ?", where.subject),
            ("e.kind = ?", where.kind),
            ("e.model_name = ?", where.model),
            ("e.model_version = ?", where.model_version),
            ("e.ts_us >= ?", None if where.since is None else to_us(where.since)),
            ("e.ts_us < ?", None if where.until is None else to_us(where.until)),
            ("e.id < ?", before_id),
        ]
        clauses = [clause for clause, value in conditions if value is not None]
        params: list[object] = [value for _, value in conditions if value is not None]
        sql = f"SELECT {_EVENT_COLUMNS} FROM events e JOIN files f ON f.id = e.file_id"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY e.id DESC LIMIT ?"
        params.append(limit + 1)
        rows = await self._store.fetchall(sql, tuple(params))
        items = [_event(r) for r in rows[:limit]]
        next_key = items[-1].id if len(rows) > limit else None
        return Page[StoredEvent](items=items, next_key=next_key)

    async def by_ids(self, ids: Sequence[int]) -> list[StoredEvent]:
        """The events with these ids (the first 1,000 of them), oldest first; an id with no
        event is left out."""
        chosen = sorted(set(ids))[:1000]
        if not chosen:
            return []
        marks = ", ".join("?" * len(chosen))
        rows = await self._store.fetchall(
            f"SELECT {_EVENT_COLUMNS} FROM events e JOIN files f ON f.id = e.file_id "
            f"WHERE e.id IN ({marks}) ORDER BY e.id",
            tuple(chosen),
        )
        return [_event(r) for r in rows]

    async def of_version(
        self,
        model: str,
        version: str,
        kind: str,
        limit: int,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        newest_first: bool = False,
    ) -> list[StoredEvent]:
        """A model version's events of one kind, `since` ≤ ts < `until`: the first `limit`
        oldest first (or the last, newest first). Read in time order along the model index,
        so it stops as soon as it has them."""
        order = "DESC" if newest_first else "ASC"
        rows = await self._store.fetchall(
            f"SELECT {_EVENT_COLUMNS} FROM events e JOIN files f ON f.id = e.file_id "
            "WHERE e.model_name = ? AND e.model_version = ? AND e.ts_us >= ? AND e.ts_us < ? "
            f"AND e.kind = ? ORDER BY e.ts_us {order}, e.id {order} LIMIT ?",
            (
                model,
                version,
                -(1 << 63) if since is None else to_us(since),
                (1 << 63) - 1 if until is None else to_us(until),
                kind,
                limit,
            ),
        )
        return [_event(r) for r in rows]

    async def window_raw(
        self, since_us: int, until_us: int, before_id: int | None, limit: int
    ) -> list[sqlite3.Row]:
        """A window's events, newest first, as bare rows for copying in bulk: (id, raw
        bytes)."""
        return await self._store.fetchall(
            "SELECT id, raw FROM events "
            "WHERE ts_us >= ? AND ts_us < ? AND id < ? ORDER BY id DESC LIMIT ?",
            (since_us, until_us, (1 << 62) if before_id is None else before_id, limit),
        )

    async def window_models(
        self, since_us: int, until_us: int, low_id: int, high_id: int
    ) -> list[sqlite3.Row]:
        """The distinct (model name, version, weights hash) of a window's events with ids
        from `low_id` to `high_id` (a page of `window_raw`), those naming a model."""
        return await self._store.fetchall(
            "SELECT DISTINCT model_name, model_version, weights_hash FROM events "
            "WHERE id BETWEEN ? AND ? AND ts_us >= ? AND ts_us < ? AND model_name IS NOT NULL",
            (low_id, high_id, since_us, until_us),
        )

    async def window_segments(self, since_us: int, until_us: int) -> list[tuple[str, int]]:
        """(path, first byte offset) of each file a window's events came from."""
        rows = await self._store.fetchall(
            "SELECT f.path, min(e.byte_offset) FROM events e JOIN files f ON f.id = e.file_id "
            "WHERE e.ts_us >= ? AND e.ts_us < ? GROUP BY e.file_id",
            (since_us, until_us),
        )
        return [(str(r[0]), int(r[1])) for r in rows]

    async def count(self) -> int:
        """How many events the store holds (the largest id: cheap and exact while
        events are never deleted)."""
        row = await self._store.fetchone("SELECT max(id) FROM events")
        return int(row[0] or 0) if row else 0

    async def rejects_page(self, *, before_id: int | None = None, limit: int = 50) -> Page[Reject]:
        """Newest rejects first."""
        sql = (
            "SELECT r.id, f.source, f.path, r.byte_offset, r.length, r.reason, r.raw, "
            "r.raw_complete, r.ingested_us FROM rejects r JOIN files f ON f.id = r.file_id"
        )
        params: list[object] = []
        if before_id is not None:
            sql += " WHERE r.id < ?"
            params.append(before_id)
        sql += " ORDER BY r.id DESC LIMIT ?"
        params.append(limit + 1)
        rows = await self._store.fetchall(sql, tuple(params))
        items = [
            Reject(
                id=r[0],
                source=r[1],
                path=r[2],
                byte_offset=r[3],
                length=r[4],
                reason=r[5],
                raw=bytes(r[6]),
                raw_complete=bool(r[7]),
                ingested=from_us(r[8]),
            )
            for r in rows[:limit]
        ]
        return Page[Reject](items=items, next_key=items[-1].id if len(rows) > limit else None)

    async def reject_count(self) -> int:
        """How many rejects the store holds."""
        row = await self._store.fetchone("SELECT max(id) FROM rejects")
        return int(row[0] or 0) if row else 0
