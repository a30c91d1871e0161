"""The store's connection: one aiosqlite connection per process role, WAL, disciplined writes.

Every write transaction starts with `BEGIN IMMEDIATE`: under WAL a deferred transaction that
reads and then writes fails at once with "database is locked" whatever the busy timeout, so
we take the write lock first and let the busy timeout queue us behind other writers.

The table modules (`store/events.py`, `store/incidents.py`, ...) depend on this class alone
(`fetchall`, `fetchone`, `write`); `store/database.py`'s `Store` is this connection with the
tables composed on it, and no table module imports it.

asyncio and aiosqlite are imported where a connection is opened or waited on, not with this
module: a `Store` read inline (`store.inline`, on the stdlib `sqlite3`) needs neither.
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from thirdbook.domain.errors import (
    NetworkFilesystemError,
    StoreBusyError,
    StoreClosedError,
    StoreError,
    StoreReadOnlyError,
)
from thirdbook.store.access import Access, connect_read_only, unread_wal_bytes, write_refusal
from thirdbook.store.failures import describe_failure, newer_schema_sentence, read_only_sentence
from thirdbook.store.filesystem import network_filesystem
from thirdbook.store.schema import MIGRATIONS, SCHEMA_VERSION

if TYPE_CHECKING:
    import asyncio

    import aiosqlite

__all__ = ["StoreConnection"]

BUSY_GIVE_UP_S = 120.0
PAGE_SIZE = 16384
"""The page size of a store created from now on (SQLite's default is 4096)."""
CLOSE_WAIT_S = 10.0


def _is_file(path: Path) -> bool:
    return path.is_file()


def _room_for_copy(path: Path, directory: Path) -> bool:
    size = path.stat().st_size + unread_wal_bytes(path)
    return shutil.disk_usage(directory).free >= 2 * size + (64 << 20)


def _is_locked(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


class StoreConnection:
    """An open connection to a store: opening and migrating it, reads, write transactions and
    closing. `Store` (store/database.py) adds the tables; open one with `await Store.open(path)`."""

    def __init__(
        self, conn: aiosqlite.Connection, path: Path, read_only_reason: str | None = None
    ) -> None:
        self.conn = conn
        self.path = path
        self.read_only_reason = read_only_reason
        """Why this store is open read-only (None: it is writable); every write refuses."""
        self._scratch: Path | None = None  # an upgraded temporary copy, removed on close
        # One write transaction at a time on this connection, whichever task asks (the lock
        # is made by the first write).
        self._write_lock: asyncio.Lock | None = None
        # Queries on their way when `close` is called finish first; later ones are refused.
        self._in_flight = 0
        self._idle: asyncio.Event | None = None  # made by a `close` that has to wait
        self._closed = False

    @classmethod
    async def open(
        cls,
        path: Path,
        *,
        busy_timeout_ms: int = 10_000,
        cache_mb: int = 64,
        mountinfo: str | None = None,
        access: Access = "write",
    ) -> Self:
        """Open (creating if needed) and migrate the store at `path`; with `access="auto"`, a
        store this process cannot write is opened read-only instead (see `store.access`)."""
        fstype = network_filesystem(path.parent, mountinfo)
        if fstype is not None:
            raise NetworkFilesystemError(
                f"refusing to open the store {path}: it is on a network filesystem ({fstype}). "
                "SQLite's write-ahead log needs every process on one host; put the store on a "
                "local disk (--data-dir or [store] path)."
            )
        refusal = "it was opened read-only" if access == "read" else write_refusal(path)
        if refusal is not None and access == "write":
            raise StoreReadOnlyError(read_only_sentence(path, refusal))
        if refusal is not None:
            return await cls._open_read_only(path, refusal, busy_timeout_ms, cache_mb)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the store's directory {path.parent}: {exc}") from exc
        import aiosqlite

        try:
            conn = await aiosqlite.connect(
                path, isolation_level=None, timeout=busy_timeout_ms / 1000
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the store {path}: {exc}") from exc
        store = cls(conn, path)
        try:
            await store._configure(busy_timeout_ms, cache_mb)
            await store._migrate()
        except sqlite3.DatabaseError as exc:
            await conn.close()
            raise StoreError(describe_failure(exc, path) or str(exc)) from exc
        except BaseException:
            await conn.close()
            raise
        return store

    @classmethod
    async def _open_read_only(
        cls, path: Path, reason: str, busy_timeout_ms: int, cache_mb: int
    ) -> Self:
        """`mode=ro`, else `immutable` when no `-shm` can be made and no `-wal` would be
        missed; a store written by an older thirdbook is read through an upgraded copy."""
        if not _is_file(path):
            raise StoreError(
                f"there is no store at {path} to read ({reason}, so none can be made here)"
            )
        conn = await connect_read_only(path, busy_timeout_ms)
        store = cls(conn, path, reason)
        try:
            await conn.execute(f"PRAGMA cache_size = {-1024 * int(cache_mb)}")
            version = int(await store._scalar("PRAGMA user_version") or 0)
            if version > SCHEMA_VERSION:
                raise StoreError(newer_schema_sentence(path, version))
            if version < SCHEMA_VERSION:
                await conn.close()
                return await cls._open_upgraded_copy(
                    path, reason, version, busy_timeout_ms, cache_mb
                )
        except sqlite3.DatabaseError as exc:
            await conn.close()
            raise StoreError(describe_failure(exc, path) or str(exc)) from exc
        except BaseException:
            await conn.close()
            raise
        return store

    @classmethod
    async def _open_upgraded_copy(
        cls, path: Path, reason: str, version: int, busy_timeout_ms: int, cache_mb: int
    ) -> Self:
        """Read an older store that cannot be upgraded in place: copy it (SQLite's backup,
        a consistent view) to a temporary directory and upgrade the copy, if there is room."""
        scratch_root = Path(tempfile.gettempdir())
        if not _room_for_copy(path, scratch_root):
            raise StoreError(
                f"the store {path} was written by an older thirdbook (schema {version}, this "
                f"one reads {SCHEMA_VERSION}) and cannot be upgraded ({reason}), nor copied to "
                f"{scratch_root} to read (not enough space there): copy it somewhere writable"
            )
        import aiosqlite

        scratch = Path(tempfile.mkdtemp(prefix="thirdbook-upgraded-", dir=scratch_root))
        copy = scratch / path.name
        try:
            source = await connect_read_only(path, busy_timeout_ms)
            try:
                target = await aiosqlite.connect(copy, isolation_level=None)
                try:
                    await source.backup(target)
                finally:
                    await target.close()
            finally:
                await source.close()
            store = await cls.open(copy, busy_timeout_ms=busy_timeout_ms, cache_mb=cache_mb)
        except sqlite3.DatabaseError as exc:
            shutil.rmtree(scratch, ignore_errors=True)
            raise StoreError(describe_failure(exc, path) or str(exc)) from exc
        except BaseException:
            shutil.rmtree(scratch, ignore_errors=True)
            raise
        store.path, store._scratch = path, scratch
        store.read_only_reason = (
            f"{reason}; it was written by an older thirdbook (schema "
            f"{version}), so this reads an upgraded copy of it, taken "
            "when it was opened"
        )
        return store

    async def _configure(self, busy_timeout_ms: int, cache_mb: int) -> None:
        await self.conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        # A new store's pages (a store that exists keeps its own): an event row is about a
        # kilobyte, so 4 KiB pages hold 3 or 4 and waste the rest, and every page costs a WAL
        # frame, a checksum and a copy at checkpoint; measured, 16 KiB pages cut the SQLite
        # time of a bulk ingest by a quarter and the store by 5 % (tests/bench/ingest.py).
        await self.conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
        mode = await self._scalar("PRAGMA journal_mode = WAL")
        if str(mode).lower() != "wal":
            raise StoreError(f"the store {self.path} cannot use write-ahead logging ({mode})")
        await self.conn.execute("PRAGMA synchronous = NORMAL")
        await self.conn.execute("PRAGMA foreign_keys = ON")
        await self.conn.execute(f"PRAGMA cache_size = {-1024 * int(cache_mb)}")
        # Keep the WAL from staying large after a checkpoint has emptied it.
        await self.conn.execute("PRAGMA journal_size_limit = 67108864")

    async def _migrate(self) -> None:
        async with self.write():
            version = int(await self._scalar("PRAGMA user_version") or 0)
            if version > SCHEMA_VERSION:
                raise StoreError(newer_schema_sentence(self.path, version))
            for number in range(version, SCHEMA_VERSION):
                for statement in MIGRATIONS[number].split(";"):
                    if statement.strip():
                        await self.conn.execute(statement)
                await self.conn.execute(f"PRAGMA user_version = {number + 1}")

    @contextlib.contextmanager
    def _using(self) -> Iterator[None]:
        """Count a query in flight; refuse it once the store is closed."""
        if self._closed:
            raise StoreClosedError(f"the store {self.path} is closed")
        self._in_flight += 1
        try:
            yield
        finally:
            self._in_flight -= 1
            if not self._in_flight and self._idle is not None:
                self._idle.set()

    async def close(self) -> None:
        """Let the queries on their way finish, then close the connection (and remove an
        upgraded copy read in the store's place). Queries asked for later raise
        `StoreClosedError`."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._in_flight:
                import asyncio

                self._idle = asyncio.Event()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._idle.wait(), CLOSE_WAIT_S)
            await self.conn.close()
        finally:
            if self._scratch is not None:
                shutil.rmtree(self._scratch, ignore_errors=True)

    async def _scalar(self, sql: str, params: tuple[object, ...] = ()) -> Any:
        with self._using():
            async with self.conn.execute(sql, params) as cursor:
                row = await cursor.fetchone()
        return None if row is None else row[0]

    async def fetchall(self, sql: str, params: tuple[object, ...] = ()) -> list[sqlite3.Row]:
        """Run a read and return every row (the read transaction ends here)."""
        with self._using():
            async with self.conn.execute(sql, params) as cursor:
                return list(await cursor.fetchall())

    async def fetchone(self, sql: str, params: tuple[object, ...] = ()) -> sqlite3.Row | None:
        """Run a read and return the first row, if any."""
        with self._using():
            async with self.conn.execute(sql, params) as cursor:
                return await cursor.fetchone()

    @asynccontextmanager
    async def write(self) -> AsyncIterator[aiosqlite.Connection]:
        """A write transaction: `BEGIN IMMEDIATE`, commit on success, roll back on error."""
        if self.read_only_reason is not None:
            raise StoreReadOnlyError(read_only_sentence(self.path, self.read_only_reason))
        if self._write_lock is None:
            import asyncio

            self._write_lock = asyncio.Lock()
        with self._using():
            async with self._write_lock:
                try:
                    await self._begin_immediate()
                except BaseException:
                    await self._rollback()  # a BEGIN that ran although its caller was cancelled
                    raise
                try:
                    yield self.conn
                except BaseException:
                    await self._rollback()
                    raise
                try:
                    await _settled(self.conn.execute("COMMIT"))
                except BaseException:
                    await self._rollback()
                    raise

    async def _begin_immediate(self) -> None:
        # The busy timeout already waits; past it, keep waiting (with a clear error at the
        # end) rather than showing anyone "database is locked".
        deadline = time.monotonic() + BUSY_GIVE_UP_S
        while True:
            try:
                await _settled(self.conn.execute("BEGIN IMMEDIATE"))
                return
            except sqlite3.OperationalError as exc:
                if not _is_locked(exc) or time.monotonic() > deadline:
                    if _is_locked(exc):
                        raise StoreBusyError(
                            f"the store {self.path} has been busy for {BUSY_GIVE_UP_S:.0f} s; "
                            "another process holds its write lock"
                        ) from exc
                    raise
                import asyncio

                await asyncio.sleep(0.05)

    async def _rollback(self) -> None:
        if self.conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                await _settled(self.conn.execute("ROLLBACK"))


async def _settled(statement: Awaitable[Any]) -> Any:
    """Await a transaction statement to its end even when the caller is cancelled meanwhile
    (aiosqlite runs it on its thread regardless), then let the cancel through: a BEGIN,
    COMMIT or ROLLBACK cut off half-way would leave the connection inside a transaction
    that no one owns, and every later write would fail with "cannot start a transaction
    within a transaction"."""
    import asyncio

    task = asyncio.ensure_future(statement)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        if not task.done():
            await asyncio.wait({task})
        raise
