"""Containment actions: written when, and observed when the serving logs show them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from thirdbook.domain.clock import now_us
from thirdbook.domain.evidence import ContainmentState
from thirdbook.domain.records import from_us

if TYPE_CHECKING:
    from thirdbook.store.connection import StoreConnection


class Containment:
    """Record an action as written; find the first logged request that shows it."""

    def __init__(self, store: StoreConnection) -> None:
        self._store = store
        # Per action: the last event id already looked at, and when it was observed. A
        # console re-checks unobserved actions every few seconds while events pour in, so
        # each check reads only the events that arrived since the last one.
        self._seen: dict[int, tuple[int, int | None]] = {}
        self._sides: dict[int, dict[str, int]] = {}  # a condition's routes seen, and when

    async def written(
        self, incident_id: int, action: str, model: str, field: str, value: str
    ) -> None:
        """The action is in the file; requests logged from now on may show it."""
        async with self._store.write() as conn:
            async with conn.execute("SELECT coalesce(max(id), 0) FROM events") as cursor:
                row = await cursor.fetchone()
            await conn.execute(
                "INSERT INTO containment (incident_id, action, model, field, value, written_us, "
                "after_event_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (incident_id, action, model, field, value, now_us(), int(row[0]) if row else 0),
            )

    async def states(self, incident_id: int) -> list[ContainmentState]:
        """The incident's actions, newest first, each with when the logs first showed it."""
        rows = await self._store.fetchall(
            "SELECT id, action, model, field, value, written_us, after_event_id FROM containment "
            "WHERE incident_id = ? ORDER BY id DESC LIMIT 10",
            (incident_id,),
        )
        states = []
        for row_id, action, model, field, value, written_us, after in rows:
            observed = await self._observed(row_id, model, field, value, written_us, after)
            states.append(
                ContainmentState(
                    action=action,
                    model=model,
                    value=value,
                    written=from_us(written_us),
                    observed=None if observed is None else from_us(observed),
                )
            )
        return states

    async def _observed(
        self, row_id: int, model: str, field: str, value: str, written_us: int, after: int
    ) -> int | None:
        scanned, observed = self._seen.get(row_id, (after, None))
        if observed is not None:
            return observed
        newest = await self._store.fetchone("SELECT coalesce(max(id), 0) FROM events")
        upto = int(newest[0]) if newest else scanned
        if field == "route" and "/" in value:  # a restore's flag rules: "model/human"
            return await self._condition_observed(row_id, model, value, written_us, scanned, upto)
        if field == "route":
            # A request routed away from a model names it in `routed_from` (stored as its
            # model). One that names no model at all is taken as this model's only while
            # the store has seen no other: with two, it could be either's.
            match = "route = ? AND (model_name = ? OR (model_name IS NULL AND ?))"
            params: tuple[object, ...] = (value, model, await self._only_model_seen(model))
        else:
            match, params = "model_version = ? AND model_name = ?", (value, model)
        seen = await self._store.fetchone(
            f"SELECT ingested_us FROM events WHERE id > ? AND id <= ? AND kind = 'inference' "
            f"AND {match} ORDER BY id LIMIT 1",
            (scanned, upto, *params),
        )
        if seen is not None:
            observed = max(int(seen[0]), written_us)
        self._seen[row_id] = (upto, observed)
        return observed

    async def _condition_observed(
        self, row_id: int, model: str, value: str, written_us: int, scanned: int, upto: int
    ) -> int | None:
        """A restore's flag rules are observed once the logs after the write show a request
        served on each side of the condition: by the model, and routed away from it (its
        `routed_from` is stored as its model)."""
        sides = self._sides.setdefault(row_id, {})
        routes = value.split("/")
        for route in routes:
            if route in sides:
                continue
            seen = await self._store.fetchone(
                "SELECT ingested_us FROM events WHERE id > ? AND id <= ? AND kind = 'inference' "
                "AND route = ? AND model_name = ? ORDER BY id LIMIT 1",
                (scanned, upto, route, model),
            )
            if seen is not None:
                sides[route] = int(seen[0])
        observed = max([*sides.values(), written_us]) if len(sides) == len(routes) else None
        self._seen[row_id] = (upto, observed)
        return observed

    async def _only_model_seen(self, model: str) -> bool:
        """Whether `model` is the one model (or agent) the store's events name: two reads
        of the model index's ends."""
        names = []
        for end in ("min", "max"):
            row = await self._store.fetchone(
                f"SELECT {end}(model_name) FROM events WHERE model_name IS NOT NULL"
            )
            names.append(row[0] if row else None)
        return names == [model, model]
