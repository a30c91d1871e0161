"""An incident's roles (commander, scribe, communications): a role given, on the timeline and
in the audit chain in the same transaction; and the roles read back, the declarer standing as
commander until someone hands the incident over."""

from __future__ import annotations

from typing import TYPE_CHECKING

from thirdbook.domain.clock import now_us
from thirdbook.domain.errors import TriageRefusedError
from thirdbook.domain.incidents import Actor
from thirdbook.domain.records import from_us
from thirdbook.domain.roles import ROLES, RoleHolder, handover_text, role_holder_name
from thirdbook.store.incidents import add_timeline_entry, existing_incident

if TYPE_CHECKING:
    import aiosqlite

    from thirdbook.store.connection import StoreConnection


async def _holder(conn: aiosqlite.Connection, incident_id: int, role: str) -> str | None:
    async with conn.execute(
        "SELECT user FROM incident_roles WHERE incident_id = ? AND role = ?", (incident_id, role)
    ) as cursor:
        row = await cursor.fetchone()
    if row is not None:
        return str(row[0])
    if role != "commander":
        return None
    async with conn.execute(
        "SELECT commander FROM incidents WHERE id = ?", (incident_id,)
    ) as cursor:
        declared = await cursor.fetchone()
    return None if declared is None else str(declared[0])


class Roles:
    """Give an incident's roles and read who holds them."""

    def __init__(self, store: StoreConnection) -> None:
        self._store = store

    async def assign(self, incident_id: int, role: str, user: str, by: Actor) -> RoleHolder:
        """Give `role` to `user`, as `by`: the row, its timeline entry ("handover") and its
        audit record commit together. The commander also becomes the incident's commander
        (what the banner, the list and the report show). Refused for an unknown role or
        incident, a closed incident, or the one who holds the role already."""
        known, name = role_holder_name(role, user)
        at = now_us()
        async with self._store.write() as conn:
            phase, _ = await existing_incident(conn, incident_id)
            if phase == "closed":
                raise TriageRefusedError(f"incident #{incident_id} is closed")
            before = await _holder(conn, incident_id, role)
            if before == name:
                raise TriageRefusedError(f"{name} is already {role} of incident #{incident_id}")
            await conn.execute(
                "INSERT INTO incident_roles (incident_id, role, user, by_user, at_us) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (incident_id, role) DO UPDATE SET "
                "user = excluded.user, by_user = excluded.by_user, at_us = excluded.at_us",
                (incident_id, role, name, by.user, at),
            )
            if role == "commander":
                await conn.execute(
                    "UPDATE incidents SET commander = ?, updated_us = ? WHERE id = ?",
                    (name, at, incident_id),
                )
            await add_timeline_entry(
                conn,
                incident_id,
                by,
                "handover",
                handover_text(role, before, name, by.user),
                {"role": role, "from": before, "to": name},
            )
        return RoleHolder(role=known, user=name, by_user=by.user, at=from_us(at))

    async def roles(self, incident_id: int) -> dict[str, RoleHolder]:
        """Who holds each role that is held, in `ROLES` order; the declarer is commander
        until a handover. Refused for an unknown incident."""
        declared = await self._store.fetchone(
            "SELECT commander, declared_us FROM incidents WHERE id = ?", (incident_id,)
        )
        if declared is None:
            raise TriageRefusedError(f"there is no incident #{incident_id}")
        rows = await self._store.fetchall(
            "SELECT role, user, by_user, at_us FROM incident_roles WHERE incident_id = ?",
            (incident_id,),
        )
        held = {
            r[0]: RoleHolder(role=r[0], user=r[1], by_user=r[2], at=from_us(r[3]))
            for r in rows
            if r[0] in ROLES
        }
        if "commander" not in held:
            held["commander"] = RoleHolder(
                role="commander",
                user=declared[0],
                by_user=declared[0],
                at=from_us(declared[1]),
                declared=True,
            )
        return {role: held[role] for role in ROLES if role in held}
