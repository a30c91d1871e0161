"""The reads `explain` needs beyond events: alerts citing a decision, the containment in
force at a time, and recording an inquiry's answer; and, for `explain` read without
pydantic, the rows the other tables' classes make models of (the alias move in force, an
alert's summary, an incident's line, the complete snapshots), by the same queries."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from thirdbook.domain.incidents import Actor
    from thirdbook.store.connection import StoreConnection

ALIAS_NAMES = (
    "at_us",
    "model",
    "alias",
    "from_version",
    "to_version",
    "how",
    "by_user",
    "incident_id",
    "registry_sha256",
)
"""An alias move's columns (`store.registry_history`)."""
ALIAS_COLUMNS = ", ".join(ALIAS_NAMES)
ALIAS_AT = (
    f"SELECT {ALIAS_COLUMNS} FROM alias_moves WHERE model = ? AND alias = ? AND at_us <= ? "
    "ORDER BY at_us DESC, id DESC LIMIT 1"
)
"""The move that set a model's alias as it stood at a time."""


def manifest_of(text: Any) -> dict[str, Any] | None:
    """A snapshot's stored manifest, as read back (`store.snapshots`)."""
    if text is None:
        return None
    try:
        manifest = json.loads(text)
    except (TypeError, ValueError):
        manifest = None
    # A copy changed by hand into something else: its hash will not match, so verify names it.
    return manifest if isinstance(manifest, dict) else {"unreadable": str(text)[:200]}


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

    async def alias_at(self, model: str, alias: str, at_us: int) -> dict[str, Any] | None:
        """The move that set `model`'s `alias` as it stood at `at_us` (None before any), by
        `ALIAS_NAMES`: the row `RegistryHistory.pointing_at` reads."""
        row = await self._store.fetchone(ALIAS_AT, (model, alias, at_us))
        return None if row is None else dict(zip(ALIAS_NAMES, tuple(row), strict=True))

    async def alert_summary(self, alert_id: int) -> str | None:
        """An alert's summary (None: no such alert)."""
        row = await self._store.fetchone("SELECT summary FROM alerts WHERE id = ?", (alert_id,))
        return None if row is None else str(row[0])

    async def incident_line(self, incident_id: int) -> tuple[str, str, str] | None:
        """An incident's severity, phase and title (None: no such incident)."""
        row = await self._store.fetchone(
            "SELECT severity, phase, title FROM incidents WHERE id = ?", (incident_id,)
        )
        return None if row is None else (str(row[0]), str(row[1]), str(row[2]))

    async def complete_snapshots(
        self,
    ) -> list[tuple[int, int, str | None, dict[str, Any] | None]]:
        """Every complete snapshot's id, incident, manifest hash and manifest, oldest first
        (what `Snapshots.all_complete` reads)."""
        rows = await self._store.fetchall(
            "SELECT id, incident_id, manifest_sha256, manifest FROM snapshots "
            "WHERE status = 'complete' ORDER BY id"
        )
        return [(int(r[0]), int(r[1]), r[2], manifest_of(r[3])) for r in rows]

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
