"""Every move of a registry alias, kept so "which version was serving then?" has an answer."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Literal

from thirdbook.domain.control import AliasMove, Registry, alias_moves
from thirdbook.domain.records import from_us
from thirdbook.store.explain import ALIAS_AT, ALIAS_COLUMNS, ALIAS_NAMES

if TYPE_CHECKING:
    import aiosqlite

    from thirdbook.domain.incidents import Actor
    from thirdbook.store.connection import StoreConnection

# The columns and the query for the move in force are `explain`'s too (read without pydantic).
_NAMES, _COLUMNS = ALIAS_NAMES, ALIAS_COLUMNS


class RegistryHistory:
    """Record the registry file's alias moves (compared with the last known state inside
    the write, so several processes looking at once record each move once)."""

    def __init__(self, store: StoreConnection) -> None:
        self._store = store

    async def record(
        self,
        registry: Registry,
        sha256: str,
        at_us: int,
        how: Literal["observed", "rollback"] = "observed",
        *,
        actor: Actor | None = None,
        incident_id: int | None = None,
    ) -> list[AliasMove]:
        """Record how `registry` (the file with hash `sha256`, as of `at_us`) differs from the
        last known aliases. The first look records every alias as 'first seen'. A rollback
        whose move was already seen by a watcher claims that move (actor and incident)."""
        async with self._store.write() as conn:
            known, latest_us = await _known(conn)
            moves = alias_moves(known, registry)
            first = not known
            # A file copied with its old time (cp -p, rsync -t) must not put a move before
            # the one it follows.
            at_us = max(at_us, latest_us)
            for model, alias, old, new in moves:
                await conn.execute(
                    f"INSERT INTO alias_moves ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        at_us,
                        model,
                        alias,
                        old,
                        new,
                        "first seen" if first else how,
                        None if actor is None else actor.user,
                        incident_id,
                        sha256,
                    ),
                )
            if how == "rollback" and not moves and actor is not None:
                await conn.execute(
                    "UPDATE alias_moves SET how = 'rollback', by_user = ?, incident_id = ? "
                    "WHERE registry_sha256 = ? AND how = 'observed'",
                    (actor.user, incident_id, sha256),
                )
        return [
            AliasMove(
                at=from_us(at_us),
                model=m,
                alias=a,
                from_version=o,
                to_version=n,
                how="first seen" if first else how,
                registry_sha256=sha256,
                by_user=None if actor is None else actor.user,
                incident_id=incident_id,
            )
            for m, a, o, n in moves
        ]

    async def moves(self, model: str | None = None, limit: int = 200) -> list[AliasMove]:
        """Alias moves, newest first (of one model, or of all)."""
        rows = await self._store.fetchall(
            f"SELECT {_COLUMNS} FROM alias_moves WHERE ? IS NULL OR model = ? "
            "ORDER BY at_us DESC, id DESC LIMIT ?",
            (model, model, limit),
        )
        return [_move(r) for r in rows]

    async def pointing_at(self, model: str, alias: str, at_us: int) -> AliasMove | None:
        """The move that set `model`'s `alias` as it stood at `at_us` (None before any)."""
        row = await self._store.fetchone(ALIAS_AT, (model, alias, at_us))
        return None if row is None else _move(row)


async def _known(conn: aiosqlite.Connection) -> tuple[dict[tuple[str, str], str | None], int]:
    """The aliases as last recorded, and the time of the newest record."""
    async with conn.execute(
        "SELECT model, alias, to_version, at_us FROM alias_moves WHERE id IN "
        "(SELECT max(id) FROM alias_moves GROUP BY model, alias)"
    ) as cursor:
        rows = list(await cursor.fetchall())
    return {(str(r[0]), str(r[1])): r[2] for r in rows}, max((int(r[3]) for r in rows), default=0)


def _move(row: sqlite3.Row) -> AliasMove:
    fields = dict(zip(_NAMES, tuple(row), strict=True))
    fields["at"] = from_us(int(fields.pop("at_us")))
    return AliasMove.model_validate(fields)
