"""Checkpointing the WAL on a connection of its own, so ingest never waits for it.

While it ingests, the ingester turns SQLite's automatic checkpoint off on its own connection
(a commit would otherwise stop to copy pages into the database file) and this task copies
them in the background instead: a PASSIVE checkpoint never blocks a writer or a reader, and
the WAL stays bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path

from thirdbook.domain.errors import StoreError
from thirdbook.store.database import Store

WAL_CHECKPOINT_BYTES = 8 << 20
"""Checkpoint once the WAL holds this much."""


class WalCheckpointer:
    """Runs PASSIVE checkpoints of a store's WAL from a second connection."""

    def __init__(self, path: Path, interval_s: float = 0.2) -> None:
        self.path = path
        self.wal = Path(f"{path}-wal")
        self.interval_s = interval_s
        self.checkpoints = 0

    def wal_bytes(self) -> int:
        """The WAL file's size now."""
        try:
            return self.wal.stat().st_size
        except FileNotFoundError:
            return 0

    async def run(self, stop: asyncio.Event) -> None:
        """Checkpoint whenever the WAL has grown, until `stop` is set."""
        store = await Store.open(self.path, cache_mb=2)
        try:
            last = -1
            while not stop.is_set():
                size = self.wal_bytes()
                if size >= WAL_CHECKPOINT_BYTES and size != last:
                    with contextlib.suppress(sqlite3.Error, StoreError):
                        await store.checkpoint("PASSIVE")
                        self.checkpoints += 1
                last = size
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.interval_s)
            with contextlib.suppress(sqlite3.Error, StoreError):
                await store.checkpoint("PASSIVE")
        finally:
            await store.close()
