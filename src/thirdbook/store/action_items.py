"""Action items: one owner, a due date, tracked until closed with a resolution."""

from __future__ import annotations

import re
import sqlite3
from datetime import date
from typing import TYPE_CHECKING

from thirdbook.domain.clock import now_us
from thirdbook.domain.errors import TriageRefusedError
from thirdbook.domain.incidents import ActionItem, Actor
from thirdbook.store.incidents import add_timeline_entry, existing_incident

if TYPE_CHECKING:
    from thirdbook.store.connection import StoreConnection

_COLUMNS = "id, incident_id, title, owner, due, status, resolution"
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
    )


class ActionItems:
    """Add, close and list action items; each change goes on the incident's timeline."""

    def __init__(self, store: StoreConnection) -> None:
        self._store = store

    async def add(
        self, incident_id: int, *, title: str, owner: str, due: date | None, actor: Actor
    ) -> ActionItem:
        """A new open item; refused without a title, exactly one owner, or a due date."""
        if not title.strip():
            raise TriageRefusedError("an action item needs a title")
        if not owner.strip():
            raise TriageRefusedError("an action item needs an owner")
        if _SEVERAL.search(owner):
            raise TriageRefusedError(f"an action item has exactly one owner, not {owner!r}")
        if due is None:
            raise TriageRefusedError("an action item needs a due date")
        async with self._store.write() as conn:
            await existing_incident(conn, incident_id)
            cursor = await conn.execute(
                "INSERT INTO action_items (incident_id, title, owner, due, created_us) "
                "VALUES (?, ?, ?, ?, ?)",
                (incident_id, title.strip(), owner.strip(), due.isoformat(), now_us()),
            )
            item_id = int(cursor.lastrowid or 0)
            await add_timeline_entry(
                conn,
                incident_id,
                actor,
                "action",
                f"action item #{item_id} for {owner.strip()}, due "
                f"{due.isoformat()}: {title.strip()}",
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
