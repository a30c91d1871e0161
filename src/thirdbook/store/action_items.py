"""Action items: one owner, a due date, tracked until closed with a resolution."""

from __future__ import annotations

import re
import sqlite3
from datetime import date
from typing import TYPE_CHECKING

from thirdbook.domain.clock import now_us
from thirdbook.domain.errors import TriageRefusedError
from thirdbook.domain.incidents import ActionItem, Actor
from thirdbook.domain.review import ACTION_KINDS
from thirdbook.store.incidents import add_timeline_entry, existing_incident

if TYPE_CHECKING:
    import aiosqlite

    from thirdbook.store.connection import StoreConnection

_COLUMNS = "id, incident_id, title, owner, due, status, resolution, kind, finding_id"
_SEVERAL = re.compile(r"[,;&/]|\band\b", re.IGNORECASE)


def _item(row: sqlite3.Row) -> ActionItem:
    return ActionItem(
        id=row[0],
        incident_id=row[1],
        title=row[2],
        owner=row[3],
        due=date.fromisoformat(row[4]),
        status=row[5],
        resolution=row[6],
        kind=row[7],
        finding_id=row[8],
    )


async def _finding_of(conn: aiosqlite.Connection, finding_id: int, incident_id: int) -> None:
    async with conn.execute(
        "SELECT incident_id FROM review_findings WHERE id = ?", (finding_id,)
    ) as cursor:
        row = await cursor.fetchone()
    if row is None:
        raise TriageRefusedError(f"there is no finding #{finding_id}")
    if int(row[0]) != incident_id:
        raise TriageRefusedError(
            f"finding #{finding_id} belongs to incident #{row[0]}, not #{incident_id}"
        )


class ActionItems:
    """Add, close and list action items; each change goes on the incident's timeline."""

    def __init__(self, store: StoreConnection) -> None:
        self._store = store

    async def add(
        self,
        incident_id: int,
        *,
        title: str,
        owner: str,
        due: date | None,
        actor: Actor,
        kind: str | None = None,
        finding_id: int | None = None,
    ) -> ActionItem:
        """A new open item; refused without a title, exactly one owner, or a due date, or
        with a kind other than detect / prevent / correct, or a finding of another
        incident."""
        if not title.strip():
            raise TriageRefusedError("an action item needs a title")
        if not owner.strip():
            raise TriageRefusedError("an action item needs an owner")
        if _SEVERAL.search(owner):
            raise TriageRefusedError(f"an action item has exactly one owner, not {owner!r}")
        if due is None:
            raise TriageRefusedError("an action item needs a due date")
        if kind is not None and kind not in ACTION_KINDS:
            raise TriageRefusedError(
                f"an action item's type is one of {', '.join(ACTION_KINDS)}, not {kind!r}"
            )
        async with self._store.write() as conn:
            await existing_incident(conn, incident_id)
            if finding_id is not None:
                await _finding_of(conn, finding_id, incident_id)
            cursor = await conn.execute(
                "INSERT INTO action_items (incident_id, title, owner, due, created_us, kind, "
                "finding_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    incident_id,
                    title.strip(),
                    owner.strip(),
                    due.isoformat(),
                    now_us(),
                    kind,
                    finding_id,
                ),
            )
            item_id = int(cursor.lastrowid or 0)
            answers = "" if finding_id is None else f", answers finding #{finding_id}"
            typed = "" if kind is None else f" ({kind})"
            await add_timeline_entry(
                conn,
                incident_id,
                actor,
                "action",
                f"action item #{item_id}{typed} for {owner.strip()}, due "
                f"{due.isoformat()}{answers}: {title.strip()}",
            )
        found = await self.get(item_id)
        assert found is not None
        return found

    async def close(self, item_id: int, resolution: str, actor: Actor) -> ActionItem:
        """Close an open item with a short resolution."""
        if not resolution.strip():
            raise TriageRefusedError("closing an action item needs a resolution")
        async with self._store.write() as conn:
            async with conn.execute(
                "SELECT incident_id, status FROM action_items WHERE id = ?", (item_id,)
            ) as cursor:
                row = await cursor.fetchone()
            if row is None:
                raise TriageRefusedError(f"there is no action item #{item_id}")
            if row[1] != "open":
                raise TriageRefusedError(f"action item #{item_id} is already done")
            await conn.execute(
                "UPDATE action_items SET status = 'done', resolution = ?, closed_us = ? "
                "WHERE id = ?",
                (resolution.strip(), now_us(), item_id),
            )
            done = f"action item #{item_id} done: {resolution.strip()}"
            await add_timeline_entry(conn, int(row[0]), actor, "action", done)
        found = await self.get(item_id)
        assert found is not None
        return found

    async def get(self, item_id: int) -> ActionItem | None:
        """One item by id."""
        row = await self._store.fetchone(
            f"SELECT {_COLUMNS} FROM action_items WHERE id = ?", (item_id,)
        )
        return None if row is None else _item(row)

    async def listed(
        self, *, incident_id: int | None = None, open_only: bool = False, limit: int = 200
    ) -> list[ActionItem]:
        """Items by due date (soonest first), optionally one incident's or open ones only."""
        conditions = [
            ("incident_id = ?", incident_id),
            ("status = ?", "open" if open_only else None),
        ]
        clauses = [c for c, v in conditions if v is not None]
        params: list[object] = [v for _, v in conditions if v is not None]
        sql = f"SELECT {_COLUMNS} FROM action_items"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        rows = await self._store.fetchall(sql + " ORDER BY due, id LIMIT ?", (*params, limit))
        return [_item(r) for r in rows]
