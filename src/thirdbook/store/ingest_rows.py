"""What the ingest tables hold: the row shapes ingest writes, the columns of a tracked file,
and the one way an ingest note is written."""

from __future__ import annotations

import sqlite3

import aiosqlite

from thirdbook.domain.records import TrackedFile

EventTuple = tuple[
    int,
    str,
    str | None,
    int | None,
    str | None,
    int | None,
    str | None,
    str | None,
    str | None,
    str | None,
    int,
    int,
    int,
    int,
    bytes,
]
"""(ts_us, kind, request_id, request_key, subject, subject_key, model_name, model_version,
weights_hash, route, file_id, byte_offset, line_index, ingested_us, raw): one events row. Its
position is its line's (file_id, byte_offset) and its index among that line's events."""

RejectTuple = tuple[int, int, int, str, bytes, int, int]
"""(file_id, byte_offset, length, reason, raw, raw_complete, ingested_us)."""

NoteTuple = tuple[str, str, tuple[int, int | None] | None]
"""(kind, detail, gap): an ingest note written in a batch's transaction (a gap with its range)."""

INSERT_EVENT = (
    "INSERT INTO events (ts_us, kind, request_id, request_key, subject, subject_key, "
    "model_name, model_version, weights_hash, route, file_id, byte_offset, line_index, "
    "ingested_us, raw) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_REJECT = (
    "INSERT INTO rejects (file_id, byte_offset, length, reason, raw, raw_complete, ingested_us) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
FILE_COLUMNS = (
    "id, source, path, dev, ino, generation, head_len, head_hash, offset, tail_hash, "
    "size_seen, lines, rejects, state, stat_size, stat_mtime_ns, compressed"
)


def tracked_file(row: sqlite3.Row) -> TrackedFile:
    return TrackedFile(
        id=row[0],
        source=row[1],
        path=row[2],
        dev=row[3],
        ino=row[4],
        generation=row[5],
        head_len=row[6],
        head_hash=row[7],
        offset=row[8],
        tail_hash=row[9],
        size_seen=row[10],
        lines=row[11],
        rejects=row[12],
        state=row[13],
        stat_size=row[14],
        stat_mtime_ns=row[15],
        compressed=row[16],
    )


async def insert_note(
    conn: aiosqlite.Connection,
    at: int,
    file_id: int | None,
    kind: str,
    detail: str,
    *,
    gap: tuple[int, int | None] | None = None,
) -> None:
    """One ingest note, inside the caller's transaction (a gap with the byte range lost)."""
    await conn.execute(
        "INSERT INTO ingest_notes (ts_us, file_id, kind, detail, gap_start, gap_end) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (at, file_id, kind, detail, gap[0] if gap else None, gap[1] if gap else None),
    )
