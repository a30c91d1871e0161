"""Tracked files, their checkpoints, and the one transaction that moves them.

`commit_batch` inserts a batch's events and rejects and moves the file's offset in a single
`BEGIN IMMEDIATE` transaction, after checking that this process still holds the ingest lease:
a crash at any point leaves either all of it or none of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from thirdbook.domain.clock import now_us
from thirdbook.domain.records import IngestNote, IngestProgress, TrackedFile, from_us
from thirdbook.store.holders import INGEST_LEASE
from thirdbook.store.ingest_rows import (
    FILE_COLUMNS,
    INSERT_REJECT,
    NoteTuple,
    RejectTuple,
    insert_note,
    tracked_file,
)
from thirdbook.store.staged_events import EventRows, StagedEvents, detach_staging, insert_events

if TYPE_CHECKING:
    from thirdbook.store.connection import StoreConnection


class LeaseLostError(Exception):
    """This process no longer holds the ingest lease; it must stop ingesting."""


class CheckpointMovedError(Exception):
    """A batch did not start at the committed offset: committing it would repeat or skip."""


class IngestState:
    """Checkpoints and ingest bookkeeping."""

    def __init__(self, store: StoreConnection) -> None:
        self._store = store

    async def _check_lease(self, holder: str, at_us: int) -> None:
        cursor = await self._store.conn.execute(
            "UPDATE leases SET heartbeat_us = ? WHERE name = ? AND holder = ?",
            (at_us, INGEST_LEASE, holder),
        )
        if cursor.rowcount != 1:
            raise LeaseLostError("another process has taken over ingest")

    async def files(self, state: str | None = "active", *, newest: int = -1) -> list[TrackedFile]:
        """Tracked files, optionally only those in one state (and only the newest few)."""
        where, params = ("", ()) if state is None else (" WHERE state = ?", (state,))
        rows = await self._store.fetchall(
            f"SELECT {FILE_COLUMNS} FROM files{where} ORDER BY id DESC LIMIT ?",
            (*params, newest),
        )
        return [tracked_file(r) for r in reversed(rows)]

    async def file(self, file_id: int) -> TrackedFile | None:
        """One tracked file by id."""
        row = await self._store.fetchone(
            f"SELECT {FILE_COLUMNS} FROM files WHERE id = ?", (file_id,)
        )
        return None if row is None else tracked_file(row)

    async def add_file(
        self,
        holder: str,
        *,
        source: str,
        path: str,
        dev: int,
        ino: int,
        head_len: int,
        head_hash: str,
        generation: int = 0,
        supersedes: int | None = None,
        supersedes_size: int = 0,
        note: tuple[str, str] | None = None,
        settled: tuple[int, str, int, int] | None = None,
        compressed: str | None = None,
    ) -> TrackedFile:
        """Start tracking a file from offset 0, retiring to 'truncated' the row it replaces
        (`supersedes`, whose size as last seen was `supersedes_size`) — or, with `settled`
        (offset, tail hash, size, mtime), record a file already wholly read elsewhere (a
        copy or a compressed rotation) so it is never read again."""
        at = now_us()
        offset, tail_hash, stat_size, stat_mtime = settled if settled else (0, "", None, None)
        state = "released" if settled else "active"
        async with self._store.write() as conn:
            await self._check_lease(holder, at)
            if supersedes is not None:
                await conn.execute(
                    "UPDATE files SET state = 'truncated', size_seen = max(size_seen, ?), "
                    "updated_us = ? WHERE id = ?",
                    (supersedes_size, at, supersedes),
                )
            cursor = await conn.execute(
                "INSERT INTO files (source, path, dev, ino, generation, head_len, head_hash, "
                "offset, tail_hash, size_seen, first_seen_us, updated_us, state, stat_size, "
                "stat_mtime_ns, compressed) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    source,
                    path,
                    dev,
                    ino,
                    generation,
                    head_len,
                    head_hash,
                    offset,
                    tail_hash,
                    offset,
                    at,
                    at,
                    state,
                    stat_size,
                    stat_mtime,
                    compressed,
                ),
            )
            file_id = int(cursor.lastrowid or 0)
            if note is not None:
                await insert_note(conn, at, file_id, *note)
        tracked = await self.file(file_id)
        assert tracked is not None
        return tracked

    async def files_with_identity(self, dev: int, ino: int) -> list[TrackedFile]:
        """Every row ever tracked under this (device, inode), newest first."""
        rows = await self._store.fetchall(
            f"SELECT {FILE_COLUMNS} FROM files WHERE dev = ? AND ino = ? ORDER BY id DESC LIMIT 50",
            (dev, ino),
        )
        return [tracked_file(r) for r in rows]

    async def files_with_head(self, heads: dict[int, str]) -> list[TrackedFile]:
        """Rows whose first bytes match: `heads` maps a fingerprint length to the candidate's
        hash over that many bytes. Newest first."""
        if not heads:
            return []
        where = " OR ".join("(head_len = ? AND head_hash = ?)" for _ in heads)
        params = tuple(x for item in heads.items() for x in item)
        rows = await self._store.fetchall(
            f"SELECT {FILE_COLUMNS} FROM files WHERE ({where}) AND head_len > 0 "
            "ORDER BY id DESC LIMIT 50",
            params,
        )
        return [tracked_file(r) for r in rows]

    async def short_head_lengths(self) -> list[int]:
        """The fingerprint lengths below the full one that some row was recorded with."""
        rows = await self._store.fetchall(
            "SELECT DISTINCT head_len FROM files WHERE head_len > 0 AND head_len < 1024 "
            "ORDER BY head_len DESC"
        )
        return [int(r[0]) for r in rows]

    async def source_started_us(self, source: str) -> int | None:
        """When ingest first tracked a file of this source (None: never)."""
        row = await self._store.fetchone(
            "SELECT min(first_seen_us) FROM files WHERE source = ?", (source,)
        )
        return None if row is None or row[0] is None else int(row[0])

    async def adopt(
        self,
        holder: str,
        file_id: int,
        *,
        path: str,
        dev: int,
        ino: int,
        compressed: str | None,
        note: tuple[str, str],
    ) -> TrackedFile:
        """The rest of a tracked stream is in another file (a copy, a rename found by its
        fingerprint, a compressed rotation): follow that file from the row's offset."""
        at = now_us()
        async with self._store.write() as conn:
            await self._check_lease(holder, at)
            await conn.execute(
                "UPDATE files SET path = ?, dev = ?, ino = ?, compressed = ?, state = 'active', "
                "stat_size = NULL, stat_mtime_ns = NULL, updated_us = ? WHERE id = ?",
                (path, dev, ino, compressed, at, file_id),
            )
            await insert_note(conn, at, file_id, *note)
        tracked = await self.file(file_id)
        assert tracked is not None
        return tracked

    async def commit_batch(
        self,
        holder: str,
        *,
        file_id: int,
        events: EventRows,
        rejects: Sequence[RejectTuple],
        start: int,
        offset: int,
        tail_hash: str,
        head_len: int,
        head_hash: str,
        size_seen: int,
        path: str,
        note: NoteTuple | None = None,
    ) -> int:
        """Store a batch (and `note`, if given) and move the file's checkpoint from `start` to
        `offset`, all or nothing. The move is a compare-and-swap: a batch that does not begin
        exactly at the committed offset is refused, so no line can be stored twice or skipped.
        Returns the first new event's id (the rest follow it, in order). The batch is recorded
        in the event batch chain (store/event_batches.py) in the same transaction; its rows are
        hashed in a thread meanwhile."""
        import asyncio

        from thirdbook.store.event_batches import append_batch, digest_batch

        at = now_us()
        hashed = (
            asyncio.ensure_future(asyncio.to_thread(digest_batch, events, rejects))
            if events or rejects
            else None
        )
        async with self._store.write() as conn:
            await self._check_lease(holder, at)
            cursor = await conn.execute(
                "UPDATE files SET offset = ?, tail_hash = ?, head_len = ?, head_hash = ?, "
                "size_seen = ?, path = ?, lines = lines + ?, rejects = rejects + ?, "
                "updated_us = ? WHERE id = ? AND offset = ?",
                (
                    offset,
                    tail_hash,
                    head_len,
                    head_hash,
                    size_seen,
                    path,
                    len(events),
                    len(rejects),
                    at,
                    file_id,
                    start,
                ),
            )
            if cursor.rowcount != 1:
                raise CheckpointMovedError(
                    f"file {file_id}: a batch starting at byte {start} is not at the "
                    "committed offset"
                )
            first_id = await insert_events(conn, events) if events else 0
            if rejects:
                await conn.executemany(INSERT_REJECT, rejects)
            if note is not None:
                await insert_note(conn, at, file_id, note[0], note[1], gap=note[2])
            if hashed is not None:
                await append_batch(conn, file_id, first_id, *await hashed)
        if isinstance(events, StagedEvents):
            await detach_staging(self._store.conn)
        return first_id

    async def set_state(
        self,
        holder: str,
        file_id: int,
        state: str,
        note: tuple[str, str] | None = None,
        *,
        gap: tuple[int, int | None] | None = None,
        stat: tuple[int, int] | None = None,
    ) -> None:
        """Move a file to another state, with a note saying why (and, for a gap, the byte
        range lost; for a released file, the size and mtime it was released at)."""
        at = now_us()
        async with self._store.write() as conn:
            await self._check_lease(holder, at)
            await conn.execute(
                "UPDATE files SET state = ?, updated_us = ?, stat_size = coalesce(?, stat_size), "
                "stat_mtime_ns = coalesce(?, stat_mtime_ns) WHERE id = ?",
                (state, at, stat[0] if stat else None, stat[1] if stat else None, file_id),
            )
            if note is not None:
                await insert_note(conn, at, file_id, *note, gap=gap)

    async def add_gap(
        self, holder: str, file_id: int, start: int, end: int | None, detail: str
    ) -> None:
        """Record bytes of a tracked file that are gone from disk before anyone read them."""
        async with self._store.write() as conn:
            await self._check_lease(holder, now_us())
            await insert_note(conn, now_us(), file_id, "gap", detail, gap=(start, end))

    async def update_path(self, holder: str, file_id: int, path: str, note: str) -> None:
        """Record that a tracked file now has another name (a rename rotation)."""
        at = now_us()
        async with self._store.write() as conn:
            await self._check_lease(holder, at)
            await conn.execute(
                "UPDATE files SET path = ?, updated_us = ? WHERE id = ?", (path, at, file_id)
            )
            await insert_note(conn, at, file_id, "rotated", note)

    async def add_note(self, file_id: int | None, kind: str, detail: str) -> None:
        """Record something ingest noticed (no lease needed: a pause is worth noting)."""
        async with self._store.write() as conn:
            await insert_note(conn, now_us(), file_id, kind, detail)

    async def notes(
        self, *, kinds: Sequence[str] | None = None, file_id: int | None = None, limit: int = 50
    ) -> list[IngestNote]:
        """The newest ingest notes, optionally of some kinds only, or about one file only."""
        sql = "SELECT id, ts_us, file_id, kind, detail, gap_start, gap_end FROM ingest_notes"
        where = [f"kind IN ({', '.join('?' for _ in kinds)})"] if kinds else []
        params: tuple[object, ...] = tuple(kinds or ())
        if file_id is not None:
            where, params = [*where, "file_id = ?"], (*params, file_id)
        sql += f" WHERE {' AND '.join(where)}" if where else ""
        sql += " ORDER BY id DESC LIMIT ?"
        rows = await self._store.fetchall(sql, (*params, limit))
        return [
            IngestNote(
                id=r[0],
                ts=from_us(r[1]),
                file_id=r[2],
                kind=r[3],
                detail=r[4],
                gap_start=r[5],
                gap_end=r[6],
            )
            for r in rows
        ]

    async def save_progress(
        self,
        *,
        events_total: int,
        rejects_total: int,
        backlog_bytes: int,
        last_event_ts_us: int | None,
        caught_up_us: int | None,
        paused_reason: str | None,
        parse_fallback: str | None = None,
    ) -> None:
        """Publish the ingester's figures for the consoles' health line."""
        async with self._store.write() as conn:
            await conn.execute(
                "INSERT INTO ingest_progress (name, events_total, rejects_total, backlog_bytes, "
                "last_event_ts_us, caught_up_us, updated_us, paused_reason, parse_fallback) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET events_total = excluded.events_total, "
                "rejects_total = excluded.rejects_total, backlog_bytes = excluded.backlog_bytes, "
                "last_event_ts_us = excluded.last_event_ts_us, "
                "caught_up_us = excluded.caught_up_us, updated_us = excluded.updated_us, "
                "paused_reason = excluded.paused_reason, "
                "parse_fallback = excluded.parse_fallback",
                (
                    INGEST_LEASE,
                    events_total,
                    rejects_total,
                    backlog_bytes,
                    last_event_ts_us,
                    caught_up_us,
                    now_us(),
                    paused_reason,
                    parse_fallback,
                ),
            )

    async def progress(self) -> IngestProgress | None:
        """The ingester's last published figures."""
        row = await self._store.fetchone(
            "SELECT events_total, rejects_total, backlog_bytes, last_event_ts_us, updated_us, "
            "paused_reason, caught_up_us, parse_fallback FROM ingest_progress WHERE name = ?",
            (INGEST_LEASE,),
        )
        if row is None:
            return None
        return IngestProgress(
            events_total=row[0],
            rejects_total=row[1],
            backlog_bytes=row[2],
            last_event_ts=None if row[3] is None else from_us(row[3]),
            updated=from_us(row[4]),
            paused_reason=row[5],
            caught_up=None if row[6] is None else from_us(row[6]),
            parse_fallback=row[7],
        )
