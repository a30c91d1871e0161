"""Synchronous reads on the stdlib `sqlite3`, for the headless commands that only read.

`Store.open` costs a command aiosqlite's thread (a round trip per statement), asyncio and
every table's models; a command that reads a few rows and prints them needs none of it.
`QuickReads.open` opens the store with the stdlib `sqlite3` in the caller's thread, but only
where `Store.open` would do nothing besides read: the store exists on a local filesystem,
this process may write it (so it is not a store read read-only, as immutable or through an
upgraded copy: see `store.access`), it is in WAL mode, and its schema is this thirdbook's (a
migration still to run is left to `Store.open`). Anywhere else, and on any SQLite error, it
gives None, and the caller opens the store as usual, which does what is needed or says what
is wrong.

`ingest_rows` is what `thirdbook status` shows, `events` what `thirdbook events` lists (the
same queries as `IngestState`, `Leases` and `EventQueries`, which tests compare them with);
`store.inline` runs the table classes' own queries on this connection, for the other reads.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from thirdbook.domain.clock import from_us
from thirdbook.domain.keys import lookup_key
from thirdbook.store.access import store_uri, write_refusal
from thirdbook.store.filesystem import network_filesystem
from thirdbook.store.holders import INGEST_LEASE
from thirdbook.store.schema import SCHEMA_VERSION

__all__ = ["EventRow", "HolderRow", "IngestRows", "NoteRow", "QuickReads"]

_NOTES = "SELECT ts_us, kind, detail, gap_start, gap_end FROM ingest_notes"
_EVENT_COLUMNS = (  # as `store.events` reads them
    "e.id, e.ts_us, e.kind, e.request_id, e.subject, e.model_name, e.model_version, "
    "e.weights_hash, e.route, f.source, f.path, e.byte_offset, e.raw, e.line_index"
)

COUNTED_NOTES = 1000
"""The gaps and truncations that the health line and `status` count are those among the
newest this many notes of the two kinds."""


class NoteRow(NamedTuple):
    """An ingest note as stored (its time in microseconds since the epoch)."""

    ts_us: int
    kind: str
    detail: str
    gap_start: int | None
    gap_end: int | None


class HolderRow(NamedTuple):
    """Who holds the ingest lease, and their last heartbeat (microseconds)."""

    user: str
    host: str
    pid: int
    heartbeat_us: int


class IngestRows(NamedTuple):
    """What `thirdbook status` reads, in one read transaction: the totals, the ingester's
    last published backlog and pause, the lease holder, and the notes."""

    events: int
    rejects: int
    files_active: int
    backlog_bytes: int
    paused_reason: str | None
    holder: HolderRow | None
    gaps: int
    truncations: int
    notes: tuple[NoteRow, ...]
    gap_notes: tuple[NoteRow, ...]


class EventRow(NamedTuple):
    """A stored event as `thirdbook events` shows it: `StoredEvent`'s fields, no model."""

    id: int
    ts: datetime
    kind: str
    request_id: str | None
    subject: str | None
    model_name: str | None
    model_version: str | None
    weights_hash: str | None
    route: str | None
    source: str
    path: str
    byte_offset: int
    raw: bytes
    line_index: int


class QuickReads:
    """A store open for reading on a stdlib `sqlite3` connection. Use `QuickReads.open`;
    close with `close`."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path

    @classmethod
    def open(cls, path: Path, busy_timeout_ms: int = 10_000) -> QuickReads | None:
        """The store at `path` open for reading, or None where `Store.open` is needed."""
        try:
            if not path.is_file() or network_filesystem(path.parent) is not None:
                return None
            if write_refusal(path) is not None:
                return None
            conn = sqlite3.connect(
                store_uri(path, "rw"),
                uri=True,
                isolation_level=None,
                timeout=busy_timeout_ms / 1000,
            )
        except (OSError, sqlite3.Error):
            return None
        try:
            mode = conn.execute("PRAGMA journal_mode").fetchone()
            version = conn.execute("PRAGMA user_version").fetchone()
        except sqlite3.Error:
            conn.close()
            return None
        if str(mode[0]).lower() != "wal" or int(version[0]) != SCHEMA_VERSION:
            conn.close()  # a migration to run (or a store newer than this thirdbook)
            return None
        return cls(conn, path)

    def rows(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Run a read and return every row."""
        return list(self.conn.execute(sql, tuple(params)).fetchall())

    def ingest_rows(self, *, shown: int, counted: int) -> IngestRows | None:
        """What `thirdbook status` shows, read in one transaction (so its figures agree):
        the newest `shown` notes and gap notes, and the gaps and truncations among the newest
        `counted` notes of those two kinds. None when SQLite fails (the store is busy past
        the timeout, damaged, ...): open it as usual, which waits or says why."""
        try:
            self.conn.execute("BEGIN")
            try:
                return self._ingest_rows(shown, counted)
            finally:
                self.conn.execute("COMMIT")
        except sqlite3.Error:
            return None

    def _ingest_rows(self, shown: int, counted_at_most: int) -> IngestRows:
        (events,) = self.conn.execute("SELECT max(id) FROM events").fetchone()
        (rejects,) = self.conn.execute("SELECT max(id) FROM rejects").fetchone()
        (active,) = self.conn.execute(
            "SELECT count(*) FROM files WHERE state = 'active'"
        ).fetchone()
        progress = self.conn.execute(
            "SELECT backlog_bytes, paused_reason FROM ingest_progress WHERE name = ?",
            (INGEST_LEASE,),
        ).fetchone()
        lease = self.conn.execute(
            "SELECT user, host, pid, heartbeat_us FROM leases WHERE name = ?", (INGEST_LEASE,)
        ).fetchone()
        counted = [
            str(kind)
            for (kind,) in self.rows(
                "SELECT kind FROM ingest_notes WHERE kind IN ('gap', 'truncated') "
                "ORDER BY id DESC LIMIT ?",
                (counted_at_most,),
            )
        ]
        return IngestRows(
            events=int(events or 0),
            rejects=int(rejects or 0),
            files_active=int(active),
            backlog_bytes=int(progress[0]) if progress else 0,
            paused_reason=progress[1] if progress else None,
            holder=None
            if lease is None
            else HolderRow(
                user=str(lease[0]),
                host=str(lease[1]),
                pid=int(str(lease[2])),
                heartbeat_us=int(str(lease[3])),
            ),
            gaps=counted.count("gap"),
            truncations=counted.count("truncated"),
            notes=self._notes("", shown),
            gap_notes=self._notes(" WHERE kind = 'gap'", shown),
        )

    def _notes(self, where: str, limit: int) -> tuple[NoteRow, ...]:
        rows = self.rows(f"{_NOTES}{where} ORDER BY id DESC LIMIT ?", (limit,))
        return tuple(NoteRow(int(r[0]), str(r[1]), str(r[2]), r[3], r[4]) for r in rows)

    def events(
        self,
        *,
        kind: str | None,
        model: str | None,
        model_version: str | None,
        request_id: str | None,
        subject: str | None,
        limit: int,
    ) -> list[EventRow] | None:
        """The newest `limit` events that match, newest first (what `EventQueries.page`
        gives page after page); None when SQLite fails (open the store as usual)."""
        conditions: list[tuple[str, object]] = [
            ("e.request_key = ?", lookup_key(request_id)),
            ("e.request_id = ?", request_id),
            ("e.subject_key = ?", lookup_key(subject)),
            ("e.subject = ?", subject),
            ("e.kind = ?", kind),
            ("e.model_name = ?", model),
            ("e.model_version = ?", model_version),
        ]
        clauses = [clause for clause, value in conditions if value is not None]
        sql = f"SELECT {_EVENT_COLUMNS} FROM events e JOIN files f ON f.id = e.file_id"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        params = [value for _, value in conditions if value is not None]
        try:
            rows = self.rows(f"{sql} ORDER BY e.id DESC LIMIT ?", (*params, limit))
        except sqlite3.Error:
            return None
        return [
            EventRow(
                id=r[0],
                ts=from_us(r[1]),
                kind=r[2],
                request_id=r[3],
                subject=r[4],
                model_name=r[5],
                model_version=r[6],
                weights_hash=r[7],
                route=r[8],
                source=r[9],
                path=r[10],
                byte_offset=r[11],
                raw=bytes(r[12]),
                line_index=r[13],
            )
            for r in rows
        ]

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()
