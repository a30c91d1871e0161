"""The reads `explain` needs beyond events: alerts citing a decision, the containment in
force at a time, and recording an inquiry's answer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from thirdbook.domain.incidents import Actor
    from thirdbook.store.connection import StoreConnection


class ExplainQueries:
    """What cites a decision, and what was in force when it was made."""

    def __init__(self, store: StoreConnection) -> None:
        self._store = store

    async def alerts_citing(self, event_ids: list[int], keys: list[str]) -> list[int]:
        """Ids of alerts (newest first) listing one of `event_ids` or keyed by one of `keys`."""
        if not event_ids and not keys:
            return []
        ids = ",".join("?" * len(event_ids)) or "NULL"
        names = ",".join("?" * len(keys)) or "NULL"
        rows = await self._store.fetchall(
            f"SELECT id FROM alerts WHERE key IN ({names}) OR EXISTS "
            f"(SELECT 1 FROM json_each(alerts.event_ids) WHERE value IN ({ids})) "
            "ORDER BY id DESC LIMIT 50",
            (*keys, *event_ids),
        )
        return [int(r[0]) for r in rows]

    async def incident_of_alerts(self, alert_ids: list[int]) -> list[int]:
        """The incidents those alerts were attached to or declared as (newest first)."""
        if not alert_ids:
            return []
        marks = ",".join("?" * len(alert_ids))
        rows = await self._store.fetchall(
            f"SELECT DISTINCT incident_id FROM alerts WHERE id IN ({marks}) "
            "AND incident_id IS NOT NULL ORDER BY incident_id DESC",
            tuple(alert_ids),
        )
        return [int(r[0]) for r in rows]

    async def containment_at(self, model: str, at_us: int) -> dict[str, Any] | None:
        """The newest containment action on `model` written at or before `at_us`."""
        row = await self._store.fetchone(
            "SELECT incident_id, action, field, value, written_us FROM containment "
            "WHERE model = ? AND written_us <= ? ORDER BY written_us DESC, id DESC LIMIT 1",
            (model, at_us),
        )
        if row is None:
            return None
        keys = ("incident_id", "action", "field", "value", "written_us")
        return dict(zip(keys, tuple(row), strict=True))

    async def record_answer(
        self, actor: Actor, incident_id: int | None, detail: str, audited: dict[str, Any]
    ) -> None:
        """An inquiry answered: on the incident's timeline (if any) and in the audit chain,
        in one transaction."""
        # Imported here: explaining (which only reads) needs neither the audit chain nor the
        # incidents' models.
        from thirdbook.store.audit import append_audit
        from thirdbook.store.incidents import add_timeline_entry

        async with self._store.write() as conn:
            if incident_id is None:
                await append_audit(
                    conn, actor, "inquiry answered", "done", {"detail": detail, **audited}
                )
            else:
                await add_timeline_entry(
                    conn, incident_id, actor, "inquiry answered", detail, audited
                )
