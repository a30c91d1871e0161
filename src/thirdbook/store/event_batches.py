"""The event batch chain in the store: a record per committed batch (see domain/batches.py),
appended in the batch's own transaction, and read back page by page for `verify`."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from thirdbook.domain.batches import BatchDigest, BatchRecord, chain_hash, locators
from thirdbook.store.staged_events import EventRows, offsets_and_raws

if TYPE_CHECKING:
    import aiosqlite

    from thirdbook.store.connection import StoreConnection

BATCH_PAGE = 64  # batch records read at a time (each holds 4 bytes per row it covers)
ROW_PAGE = 1000  # rows read at a time, each of at most ROW_INLINE raw bytes (32 MiB at most)
ROW_INLINE = 32 << 10  # a bigger row is read alone (its cost is then in its bytes)

_COLUMNS = (
    "id, file_id, first_event_id, last_event_id, event_count, first_reject_id, "
    "last_reject_id, reject_count, locators, sha256, prev_hash, chain_hash"
)

Row = tuple[int, Any, Any, Any]
"""(id, file_id, byte_offset, raw) of an event or a reject, as stored (an int, an int, an int
and bytes, unless changed by hand)."""


def digest_batch(
    events: EventRows, rejects: Sequence[tuple[Any, ...]]
) -> tuple[BatchDigest, bytes, int]:
    """A batch's digest (its rows fed in) and locators, and how many events it has, from the
    rows as inserted (events as `insert_events` takes them; `RejectTuple`: offset at 1, raw
    at 4). Run in a thread: most of it is hashing done without the GIL."""
    digest = BatchDigest()
    event_offsets, event_raws = offsets_and_raws(events)
    reject_raws = [r[4] for r in rejects]
    digest.add(event_offsets, event_raws)
    digest.add([r[1] for r in rejects], reject_raws)
    return digest, locators(event_raws) + locators(reject_raws), len(events)


async def append_batch(
    conn: aiosqlite.Connection,
    file_id: int,
    first_event_id: int,
    digest: BatchDigest,
    row_locators: bytes,
    event_count: int,
) -> None:
    """Record a batch just inserted, inside its `BEGIN IMMEDIATE` transaction (the chain's
    head cannot move under it). Reject ids follow the table's max, as event ids do."""
    reject_count = len(digest.offsets) - event_count
    first_reject_id: int | None = None
    if reject_count:
        async with conn.execute("SELECT max(id) FROM rejects") as cursor:
            row = await cursor.fetchone()
        first_reject_id = int(row[0]) - reject_count + 1 if row and row[0] else None
    first_event = first_event_id if event_count else None
    async with conn.execute(
        "SELECT id, chain_hash FROM event_batches ORDER BY id DESC LIMIT 1"
    ) as cursor:
        head = await cursor.fetchone()
    batch_id, prev_hash = (1, "") if head is None else (int(head[0]) + 1, str(head[1]))
    sha = digest.hexdigest(file_id, first_event, event_count, first_reject_id, row_locators)
    await conn.execute(
        f"INSERT INTO event_batches ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            batch_id,
            file_id,
            first_event,
            None if first_event is None else first_event + event_count - 1,
            event_count,
            first_reject_id,
            None if first_reject_id is None else first_reject_id + reject_count - 1,
            reject_count,
            row_locators,
            sha,
            prev_hash,
            chain_hash(batch_id, prev_hash, sha),
        ),
    )


def _record(row: Any) -> BatchRecord:
    try:
        return BatchRecord(
            id=row[0],
            file_id=row[1],
            first_event_id=row[2],
            last_event_id=row[3],
            event_count=row[4],
            first_reject_id=row[5],
            last_reject_id=row[6],
            reject_count=row[7],
            locators=row[8],
            sha256=row[9],
            prev_hash=row[10],
            chain_hash=row[11],
        )
    except ValidationError as exc:  # changed by hand: verify names it, and goes on
        wrong = ", ".join(str(e["loc"][0]) for e in exc.errors())
        return BatchRecord(
            id=row[0],
            file_id=None,
            first_event_id=None,
            last_event_id=None,
            event_count=0,
            first_reject_id=None,
            last_reject_id=None,
            reject_count=0,
            locators=b"",
            sha256="",
            prev_hash=str(row[10]),
            chain_hash=str(row[11]),
            unreadable=wrong,
        )


class EventBatches:
    """Read the batch chain and the rows it covers, in id order, a page at a time."""

    def __init__(self, store: StoreConnection) -> None:
        self._store = store

    async def head(self) -> tuple[int, int, int] | None:
        """(newest record's id, last event id, last reject id) the chain covers, in one read;
        None when the chain has no record at all (or no table)."""
        try:
            row = await self._store.fetchone(
                "SELECT max(id), coalesce(max(last_event_id), 0), "
                "coalesce(max(last_reject_id), 0) FROM event_batches"
            )
        except sqlite3.OperationalError:  # the table itself was dropped
            return None
        return None if row is None or row[0] is None else (int(row[0]), int(row[1]), int(row[2]))

    async def walk(self, upto: int) -> AsyncIterator[BatchRecord]:
        """The records up to id `upto`, in order."""
        after = 0
        while rows := await self._store.fetchall(
            f"SELECT {_COLUMNS} FROM event_batches WHERE id > ? AND id <= ? ORDER BY id LIMIT ?",
            (after, upto, BATCH_PAGE),
        ):
            for row in rows:
                yield _record(row)
            after = int(rows[-1][0])

    async def pages(self, table: str, upto: int) -> AsyncIterator[list[Row]]:
        """Every row of `events` or `rejects` up to id `upto`, in id order, a page at a time:
        at most ROW_PAGE rows of at most ROW_INLINE bytes each, or one bigger row alone, so
        memory stays bounded whatever the rows hold. Rows come as stored (a column changed by
        hand may hold another type)."""
        if table not in ("events", "rejects"):
            raise ValueError(table)
        after = 0
        while rows := await self._store.fetchall(
            f"SELECT id, file_id, byte_offset, CASE WHEN length(raw) <= ? THEN raw END "
            f"FROM {table} WHERE id > ? AND id <= ? ORDER BY id LIMIT ?",
            (ROW_INLINE, after, upto, ROW_PAGE),
        ):
            after = int(rows[-1][0])
            if all(r[3] is not None for r in rows):
                yield rows  # type: ignore[misc]
                continue
            run: list[Row] = []
            for row in rows:
                if row[3] is not None:
                    run.append(row)  # type: ignore[arg-type]
                    continue
                if run:
                    yield run
                    run = []
                big = await self._store.fetchone(f"SELECT raw FROM {table} WHERE id = ?", (row[0],))
                yield [(row[0], row[1], row[2], None if big is None else big[0])]
            if run:
                yield run

    async def unbatched(self, last_event_id: int, last_reject_id: int) -> tuple[int | None, ...]:
        """The first event and reject after the ones the chain covers, in one read: a row
        there that no batch committed since was inserted by hand."""
        row = await self._store.fetchone(
            "SELECT (SELECT min(id) FROM events WHERE id > ? AND id > (SELECT "
            "coalesce(max(last_event_id), 0) FROM event_batches)), (SELECT min(id) FROM rejects "
            "WHERE id > ? AND id > (SELECT coalesce(max(last_reject_id), 0) FROM event_batches))",
            (last_event_id, last_reject_id),
        )
        return (None, None) if row is None else (row[0], row[1])
