"""A `Store` whose reads run on a `QuickReads` connection, inline in the caller's thread.

For a command that only reads (`thirdbook events`, `explain`): the table classes' own queries,
the same rows, without aiosqlite's thread and its round trip per statement. Its writes refuse
as a read-only store's do; `open_inline` gives None where `QuickReads.open` does (a migration
to run, a store that must be read read-only, ...), and the caller opens a `Store` instead.

Its coroutines never wait on anything: `run_inline` runs a read over it to its end in the
caller's thread, without an event loop (and without importing asyncio or aiosqlite).
"""

from __future__ import annotations

from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from thirdbook.store.database import Store
from thirdbook.store.quick_reads import QuickReads

if TYPE_CHECKING:
    import sqlite3

    import aiosqlite

READS_ONLY = "it was opened for a command that only reads"

T = TypeVar("T")


class WouldWaitError(RuntimeError):
    """A coroutine given to `run_inline` waited on something (it needs an event loop)."""


class InlineStore(Store):
    """A `Store` over a `QuickReads` connection: reads only."""

    def __init__(self, reads: QuickReads) -> None:
        # No aiosqlite connection: every statement goes through `_reads`.
        super().__init__(cast("aiosqlite.Connection", None), reads.path, READS_ONLY)
        self._reads = reads

    async def _scalar(self, sql: str, params: tuple[object, ...] = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    async def fetchall(self, sql: str, params: tuple[object, ...] = ()) -> list[sqlite3.Row]:
        """Run a read and return every row."""
        with self._using():
            return cast("list[sqlite3.Row]", self._reads.rows(sql, params))

    async def fetchone(self, sql: str, params: tuple[object, ...] = ()) -> sqlite3.Row | None:
        """Run a read and return the first row, if any."""
        with self._using():
            return cast("sqlite3.Row | None", self._reads.conn.execute(sql, params).fetchone())

    async def set_autocheckpoint(self, pages: int) -> None:
        """Nothing to set: this connection never writes."""

    async def close(self) -> None:
        """Close the connection; later queries raise `StoreClosedError`."""
        if not self._closed:
            self._closed = True
            self._reads.close()


def open_inline(path: Path, busy_timeout_ms: int) -> InlineStore | None:
    """The store at `path` for reads only, or None where `Store.open` is needed."""
    reads = QuickReads.open(path, busy_timeout_ms)
    return None if reads is None else InlineStore(reads)


def run_inline(work: Coroutine[Any, Any, T]) -> T:
    """Run `work` (reads on an `InlineStore`, which never wait) to its end in this thread,
    without an event loop. Raises `WouldWaitError` (having closed `work`) if it waits on
    anything after all: the caller runs it on an event loop instead."""
    try:
        work.send(None)
    except StopIteration as done:
        return cast("T", done.value)
    work.close()
    raise WouldWaitError("a read on the inline store waited on something")
