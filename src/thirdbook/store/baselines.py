"""The index of baselines: which evidence object holds a model version's known-good chain."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from thirdbook.domain.clock import now_us
from thirdbook.domain.incidents import Actor
from thirdbook.domain.records import from_us, to_us
from thirdbook.store.audit import append_audit
from thirdbook.store.incidents import add_timeline_entry, existing_incident

if TYPE_CHECKING:
    from thirdbook.store.connection import StoreConnection

_COLUMNS = "id, model, version, taken_us, since_us, until_us, by_user, why, sha256, size"


class BaselineRow(BaseModel):
    """A baseline's index row."""

    model_config = ConfigDict(frozen=True)

    id: int
    model: str
    version: str
    taken: datetime
    since: datetime
    until: datetime
    by: str
    why: str
    sha256: str
    size: int


def _row(r: Any) -> BaselineRow:
    return BaselineRow(
        id=r[0],
        model=r[1],
        version=r[2],
        taken=from_us(r[3]),
        since=from_us(r[4]),
        until=from_us(r[5]),
        by=r[6],
        why=r[7],
        sha256=r[8],
        size=r[9],
    )


class Baselines:
    """Record and find baselines; each one recorded is audited."""

    def __init__(self, store: StoreConnection) -> None:
        self._store = store

    async def add(
        self,
        model: str,
        version: str,
        since: datetime,
        until: datetime,
        sha256: str,
        size: int,
        actor: Actor,
        why: str,
    ) -> BaselineRow:
        """Index a baseline object (audited)."""
        async with self._store.write() as conn:
            cursor = await conn.execute(
                "INSERT INTO baselines (model, version, taken_us, since_us, until_us, by_user, "
                "why, sha256, size) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    model,
                    version,
                    now_us(),
                    to_us(since),
                    to_us(until),
                    actor.user,
                    why,
                    sha256,
                    size,
                ),
            )
            baseline_id = int(cursor.lastrowid or 0)
            await append_audit(
                conn,
                actor,
                "baseline",
                "done",
                {
                    "baseline": baseline_id,
                    "model": model,
                    "version": version,
                    "sha256": sha256,
                    "why": why,
                },
            )
        found = await self.get(baseline_id)
        assert found is not None
        return found

    async def get(self, baseline_id: int) -> BaselineRow | None:
        """One baseline."""
        r = await self._store.fetchone(
            f"SELECT {_COLUMNS} FROM baselines WHERE id = ?", (baseline_id,)
        )
        return None if r is None else _row(r)

    async def latest(self, model: str, version: str | None = None) -> BaselineRow | None:
        """The newest baseline of a model (of one version, when named)."""
        if version is None:
            r = await self._store.fetchone(
                f"SELECT {_COLUMNS} FROM baselines WHERE model = ? ORDER BY taken_us DESC, id DESC "
                "LIMIT 1",
                (model,),
            )
        else:
            r = await self._store.fetchone(
                f"SELECT {_COLUMNS} FROM baselines WHERE model = ? AND version = ? "
                "ORDER BY taken_us DESC, id DESC LIMIT 1",
                (model, version),
            )
        return None if r is None else _row(r)

    async def of_model(self, model: str) -> list[BaselineRow]:
        """A model's baselines, newest first."""
        rows = await self._store.fetchall(
            f"SELECT {_COLUMNS} FROM baselines WHERE model = ? ORDER BY taken_us DESC, id DESC",
            (model,),
        )
        return [_row(r) for r in rows]

    async def keep_finding(
        self, incident_id: int, actor: Actor, note: str, detail: dict[str, Any]
    ) -> None:
        """A changed link kept as a finding: on the incident's timeline and in the audit."""
        async with self._store.write() as conn:
            await existing_incident(conn, incident_id)
            await add_timeline_entry(conn, incident_id, actor, "finding", note, detail)
