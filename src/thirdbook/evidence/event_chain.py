"""Verifying the stored events against the event batch chain (domain/batches.py), in bounded
memory: the chain's records and the rows are read in id order, a page at a time, side by side.

Each event (and reject) must be in the batch whose id range holds it, with the locator ingest
recorded for its raw bytes; each batch's SHA-256 (over its rows' bytes, offsets and lengths)
and link must match. What does not is named by the first event id (or batch) where it shows.
Rows stored before the chain began are counted, not re-hashed: the report says how many.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import struct
from collections.abc import AsyncIterator

from pydantic import BaseModel, ConfigDict

from thirdbook.domain.batches import (
    LOCATOR,
    BatchDigest,
    BatchRecord,
    chain_hash,
    locators,
    predating_link,
)
from thirdbook.store import Store
from thirdbook.store.event_batches import EventBatches, Row

PROBLEMS = 20


class EventCheck(BaseModel):
    """What `verify_events` found."""

    model_config = ConfigDict(frozen=True)

    batches: int = 0
    events: int = 0
    rejects: int = 0
    predating_events: int = 0
    predating_rejects: int = 0
    problems: list[str] = []
    more_problems: int = 0


class _Rows:
    """A table's rows in id order, taken in runs; the next page is read while one is checked."""

    def __init__(self, pages: AsyncIterator[list[Row]]) -> None:
        self._pages = pages
        self._page: list[Row] = []
        self._at = 0
        self._next: asyncio.Future[list[Row] | None] | None = None
        self._done = False

    async def _fill(self) -> bool:
        if self._at < len(self._page):
            return True
        if self._done:
            return False
        if self._next is None:
            self._next = asyncio.ensure_future(anext(self._pages, None))
        page = await self._next
        self._next = None if page is None else asyncio.ensure_future(anext(self._pages, None))
        self._page, self._at, self._done = page or [], 0, page is None
        return page is not None

    async def take_upto(self, last: int) -> AsyncIterator[list[Row]]:
        """Runs of the next rows whose ids are at most `last`."""
        while await self._fill() and self._page[self._at][0] <= last:
            at = self._at
            self._at = bisect.bisect_right(self._page, last, lo=at, key=lambda r: r[0])
            yield self._page[at : self._at]

    async def close(self) -> None:
        """Stop reading ahead (verify may end before the last page)."""
        if self._next is not None:
            self._next.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._next
        with contextlib.suppress(Exception):
            await self._pages.aclose()  # type: ignore[attr-defined]


class _Checker:
    def __init__(self) -> None:
        self.problems: list[str] = []
        self.more = 0
        self.counts = {"events": 0, "rejects": 0}
        self.predating = {"events": 0, "rejects": 0}

    def problem(self, text: str) -> None:
        if len(self.problems) < PROBLEMS:
            self.problems.append(text)
        else:
            self.more += 1

    def link(self, batch: BatchRecord, previous: BatchRecord | None) -> None:
        if previous is None and not batch.predates:
            self.problem(
                "the batch chain's first record (for the events stored before it) is "
                "missing: the chain cannot be checked from its start"
            )
        elif previous is not None and batch.prev_hash != previous.chain_hash:
            self.problem(
                f"batch #{batch.id} does not link to the batch before it (a batch record "
                "was removed or changed)"
            )
        if batch.predates:
            expected = predating_link(batch)
        else:
            expected = chain_hash(batch.id, batch.prev_hash, batch.sha256)
        if batch.chain_hash != expected:
            self.problem(f"batch #{batch.id}'s record does not match its chain hash (changed)")

    async def before_chain(self, batch: BatchRecord, table: str, rows: _Rows) -> None:
        last, recorded = (
            (batch.last_event_id, batch.event_count)
            if table == "events"
            else (batch.last_reject_id, batch.reject_count)
        )
        count = 0
        async for run in rows.take_upto(last or 0):
            count += len(run)
        self.predating[table] += count
        if count < recorded:
            self.problem(
                f"{recorded - count:,} of the {recorded:,} {table} stored before the "
                f"batch chain (up to #{last or 0}) are missing"
            )
        elif count > recorded:
            self.problem(
                f"{count - recorded:,} {table} were inserted among the {recorded:,} "
                f"stored before the batch chain (up to #{last or 0})"
            )

    async def rows(self, batch: BatchRecord, table: str, rows: _Rows, digest: BatchDigest) -> bool:
        """Check the batch's rows of one table, feeding them to its digest; True when each
        matches its locator."""
        first, last, count = (
            (batch.first_event_id, batch.last_event_id, batch.event_count)
            if table == "events"
            else (batch.first_reject_id, batch.last_reject_id, batch.reject_count)
        )
        if not count or first is None or last is None:
            return True
        base = 0 if table == "events" else batch.event_count * LOCATOR
        expected, ok = first, True
        async for run in rows.take_upto(last):
            start, n = run[0][0], len(run)
            at = base + (start - first) * LOCATOR
            if start == expected and run[-1][0] == start + n - 1 and _whole(run, batch, at):
                # The usual case: a contiguous run whose locators all match, compared at once.
                digest.add([r[2] for r in run], [r[3] for r in run])
                expected = start + n
                self.counts[table] += n
                continue
            for row in run:
                expected, whole = self.row(batch, table, row, (first, last), base, expected, digest)
                ok = ok and whole
        if expected <= last:
            self.problem(
                f"{table[:-1]} #{expected} is missing (batch #{batch.id} recorded "
                f"{table} #{first}–#{last})"
            )
            ok = False
        return ok

    def row(
        self,
        batch: BatchRecord,
        table: str,
        row: Row,
        span: tuple[int, int],
        base: int,
        expected: int,
        digest: BatchDigest,
    ) -> tuple[int, bool]:
        """One row checked alone (a run with a problem in it); the next id expected, and
        whether this row matched."""
        noun, (row_id, file_id, offset, raw), first = table[:-1], row, span[0]
        if row_id < first:
            self.problem(f"{noun} #{row_id} is in no batch: it was inserted outside ingest")
            return expected, False
        ok = True
        if row_id > expected:
            self.problem(
                f"{noun} #{expected} is missing (batch #{batch.id} recorded "
                f"{table} #{first}–#{span[1]})"
            )
            ok = False
        self.counts[table] += 1
        raw = _blob(raw)
        digest.add([offset if isinstance(offset, int) else -1], [raw])
        at = base + (row_id - first) * LOCATOR
        if locators([raw]) != batch.locators[at : at + LOCATOR]:
            self.problem(
                f"{noun} #{row_id}: its raw bytes no longer match what ingest stored "
                f"(batch #{batch.id})"
            )
            ok = False
        elif file_id != batch.file_id:
            self.problem(f"{noun} #{row_id}: its file was changed (batch #{batch.id})")
            ok = False
        return row_id + 1, ok


def _whole(run: list[Row], batch: BatchRecord, at: int) -> bool:
    """Every row of a contiguous run matches its locator and file."""
    try:
        found = locators([r[3] for r in run])
    except TypeError:  # a raw value that is no longer bytes
        return False
    file_id = batch.file_id
    return found == batch.locators[at : at + len(found)] and all(r[1] == file_id for r in run)


def _blob(value: object) -> bytes:
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8", errors="surrogateescape")  # never what ingest stored


async def verify_events(store: Store) -> EventCheck:
    """Re-check the event batch chain and every row it covers (see the module's docstring)."""
    batches = EventBatches(store)
    head = await batches.head()
    check = _Checker()
    if head is None:
        return EventCheck(
            problems=[
                "the event batch chain is missing or empty: its first record "
                "(written by schema migration 11) was deleted"
            ]
        )
    top, last_event, last_reject = head
    events = _Rows(batches.pages("events", last_event))
    rejects = _Rows(batches.pages("rejects", last_reject))
    try:
        return await _walk(batches, check, top, events, rejects, (last_event, last_reject))
    finally:
        await events.close()
        await rejects.close()


async def _walk(
    batches: EventBatches,
    check: _Checker,
    top: int,
    events: _Rows,
    rejects: _Rows,
    lasts: tuple[int, int],
) -> EventCheck:
    previous: BatchRecord | None = None
    seen = 0
    async for batch in batches.walk(top):
        seen += 1
        if batch.unreadable is not None:
            check.problem(
                f"batch #{batch.id}'s record was changed: its {batch.unreadable} "
                "no longer have the type ingest wrote"
            )
            previous = batch
            continue
        check.link(batch, previous)
        previous = batch
        if batch.predates:
            await check.before_chain(batch, "events", events)
            await check.before_chain(batch, "rejects", rejects)
            continue
        digest = BatchDigest()
        whole = await check.rows(batch, "events", events, digest)
        whole = await check.rows(batch, "rejects", rejects, digest) and whole
        if whole and not _hashes_to(batch, digest):
            check.problem(
                f"batch #{batch.id} ({_span(batch)}): a row's raw bytes or byte "
                "offset, or the batch's record, no longer hash to what ingest "
                "stored"
            )
    for table, rows in (("event", events), ("reject", rejects)):
        async for run in rows.take_upto(1 << 62):  # rows beyond the last batches' ranges
            for row in run:
                check.problem(f"{table} #{row[0]} is in no batch: it was inserted outside ingest")
    stray_event, stray_reject = await batches.unbatched(*lasts)
    for table, stray in (("event", stray_event), ("reject", stray_reject)):
        if stray is not None:
            check.problem(f"{table} #{stray} is in no batch: it was inserted outside ingest")
    return EventCheck(
        batches=seen,
        events=check.counts["events"],
        rejects=check.counts["rejects"],
        predating_events=check.predating["events"],
        predating_rejects=check.predating["rejects"],
        problems=check.problems,
        more_problems=check.more,
    )


def _hashes_to(batch: BatchRecord, digest: BatchDigest) -> bool:
    """The batch's SHA-256, recomputed from its rows and record, is the one ingest wrote."""
    if batch.file_id is None:
        return False
    try:
        return batch.sha256 == digest.hexdigest(
            batch.file_id,
            batch.first_event_id,
            batch.event_count,
            batch.first_reject_id,
            batch.locators,
        )
    except (struct.error, TypeError):  # an offset that is no longer an integer
        return False


def _span(batch: BatchRecord) -> str:
    parts = []
    if batch.event_count:
        parts.append(f"events #{batch.first_event_id}–#{batch.last_event_id}")
    if batch.reject_count:
        parts.append(f"rejects #{batch.first_reject_id}–#{batch.last_reject_id}")
    return ", ".join(parts) or "no rows"
