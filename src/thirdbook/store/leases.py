"""The ingest lease: exactly one process ingests a store at a time.

A holder renews its heartbeat; another process takes the lease over when the heartbeat is
older than the time to live, or at once when the holder is a process on this host that no
longer exists (a SIGKILLed ingester should not stall ingest for a whole TTL).
"""

from __future__ import annotations

import os
import socket
from typing import TYPE_CHECKING

from thirdbook.domain.clock import now_us
from thirdbook.domain.records import Lease, from_us
from thirdbook.store.holders import INGEST_LEASE
from thirdbook.store.holders import process_alive as process_alive

if TYPE_CHECKING:
    from thirdbook.store.connection import StoreConnection


def _lease(row: tuple[object, ...]) -> Lease:
    return Lease(
        name=str(row[0]),
        holder=str(row[1]),
        host=str(row[2]),
        pid=int(str(row[3])),
        user=str(row[4]),
        acquired=from_us(int(str(row[5]))),
        heartbeat=from_us(int(str(row[6]))),
    )


class Leases:
    """Take, renew, read and release leases."""

    def __init__(self, store: StoreConnection) -> None:
        self._store = store

    async def current(self, name: str = INGEST_LEASE) -> Lease | None:
        """Who holds the lease now (possibly a dead holder whose lease has not been taken)."""
        row = await self._store.fetchone(
            "SELECT name, holder, host, pid, user, acquired_us, heartbeat_us FROM leases "
            "WHERE name = ?",
            (name,),
        )
        return None if row is None else _lease(tuple(row))

    async def try_acquire(
        self, holder: str, *, user: str, ttl_s: float, name: str = INGEST_LEASE
    ) -> bool:
        """Take the lease if it is free, stale, ours, or held by a dead local process."""
        host = socket.gethostname()
        at = now_us()
        async with self._store.write() as conn:
            async with conn.execute(
                "SELECT holder, host, pid, heartbeat_us FROM leases WHERE name = ?", (name,)
            ) as cursor:
                row = await cursor.fetchone()
            if row is not None and row[0] != holder:
                stale = at - int(row[3]) > ttl_s * 1_000_000
                dead = row[1] == host and not process_alive(int(row[2]))
                if not (stale or dead):
                    return False
            await conn.execute(
                "INSERT INTO leases (name, holder, host, pid, user, acquired_us, heartbeat_us) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET "
                "holder = excluded.holder, host = excluded.host, pid = excluded.pid, "
                "user = excluded.user, acquired_us = excluded.acquired_us, "
                "heartbeat_us = excluded.heartbeat_us",
                (name, holder, host, os.getpid(), user, at, at),
            )
        return True

    async def renew(self, holder: str, name: str = INGEST_LEASE) -> bool:
        """Renew our heartbeat; False when someone else holds the lease now."""
        async with self._store.write() as conn:
            cursor = await conn.execute(
                "UPDATE leases SET heartbeat_us = ? WHERE name = ? AND holder = ?",
                (now_us(), name, holder),
            )
            return cursor.rowcount == 1

    async def release(self, holder: str, name: str = INGEST_LEASE) -> None:
        """Give the lease up so another process can take it at once."""
        async with self._store.write() as conn:
            await conn.execute("DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder))
