"""Verifying the stored events against the event batch chain (domain/batches.py), in bounded
memory: the chain's records and the rows are read in id order, a page at a time, side by side.

Each event (and reject) must be in the batch whose id range holds it, with the digest ingest
recorded for its raw bytes; each batch's content hash and link must match. What does not is
named by the first event id (or batch) where it shows. Rows stored before the chain began are
counted, not re-hashed: the report says how many.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from pydantic import BaseModel, ConfigDict

from thirdbook.domain.batches import (
    DIGEST,
    BatchRecord,
    batch_sha256,
    chain_hash,
    predating_link,
    row_digest,
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
    """A table's rows in id order, one at a time, with a look at the next."""

    def __init__(self, rows: AsyncIterator[Row]) -> None:
        self._rows = rows
        self._next: Row | None = None
        self._done = False

    async def peek(self) -> Row | None:
        if self._next is None and not self._done:
            self._next = await anext(self._rows, None)
            self._done = self._next is None
        return self._next

    async def take_upto(self, last: int) -> AsyncIterator[Row]:
        while (row := await self.peek()) is not None and row[0] <= last:
            self._next = None
            yield row


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
            self.problem("the batch chain's first record (for the events stored before it) is "
                         "missing: the chain cannot be checked from its start")  # fmt: skip
        elif previous is not None and batch.prev_hash != previous.chain_hash:
            self.problem(f"batch #{batch.id} does not link to the batch before it (a batch record "
                         "was removed or changed)")  # fmt: skip
        if batch.predates:
            expected = predating_link(batch)
        else:
            expected = chain_hash(batch.id, batch.prev_hash, batch.sha256)
        if batch.chain_hash != expected:
            self.problem(f"batch #{batch.id}'s record does not match its chain hash (changed)")

    async def before_chain(self, batch: BatchRecord, table: str, rows: _Rows) -> None:
        last, recorded = ((batch.last_event_id, batch.event_count) if table == "events"
                          else (batch.last_reject_id, batch.reject_count))  # fmt: skip
        count = 0
        async for _ in rows.take_upto(last or 0):
            count += 1
        self.predating[table] += count
        if count < recorded:
            self.problem(f"{recorded - count:,} of the {recorded:,} {table} stored before the "
                         f"batch chain (up to #{last or 0}) are missing")  # fmt: skip
        elif count > recorded:
            self.problem(f"{count - recorded:,} {table} were inserted among the {recorded:,} "
                         f"stored before the batch chain (up to #{last or 0})")  # fmt: skip

    async def rows(self, batch: BatchRecord, table: str, rows: _Rows, offsets: list[int]) -> bool:
        """Check the batch's rows of one table; True when they all match."""
        noun = table[:-1]
        first, last, count = ((batch.first_event_id, batch.last_event_id, batch.event_count)
                              if table == "events" else (batch.first_reject_id,
                              batch.last_reject_id, batch.reject_count))  # fmt: skip
        if not count or first is None or last is None:
            return True
        base = 0 if table == "events" else batch.event_count * DIGEST
        expected, ok = first, True
        async for row_id, file_id, offset, raw in rows.take_upto(last):
            if row_id < first:
                self.problem(f"{noun} #{row_id} is in no batch: it was inserted outside ingest")
                ok = False
                continue
            if row_id > expected:
                self.problem(f"{noun} #{expected} is missing (batch #{batch.id} recorded "
                             f"{table} #{first}–#{last})")  # fmt: skip
                ok = False
            expected = row_id + 1
            self.counts[table] += 1
            offsets.append(offset)
            at = base + (row_id - first) * DIGEST
            if row_digest(raw) != batch.digests[at : at + DIGEST]:
                self.problem(f"{noun} #{row_id}: its raw bytes no longer match what ingest "
                             f"stored (batch #{batch.id})")  # fmt: skip
                ok = False
            elif file_id != batch.file_id:
                self.problem(f"{noun} #{row_id}: its file was changed (batch #{batch.id})")
                ok = False
        if expected <= last:
            self.problem(f"{noun} #{expected} is missing (batch #{batch.id} recorded "
                         f"{table} #{first}–#{last})")  # fmt: skip
            ok = False
        return ok


async def verify_events(store: Store) -> EventCheck:
    """Re-check the event batch chain and every row it covers (see the module's docstring)."""
    batches = EventBatches(store)
    head = await batches.head()
    check = _Checker()
    if head is None:
        return EventCheck(problems=["the event batch chain is missing or empty: its first record "
                                    "(written by schema migration 11) was deleted"])  # fmt: skip
    top, last_event, last_reject = head
    events = _Rows(batches.rows("events", last_event))
    rejects = _Rows(batches.rows("rejects", last_reject))
    previous: BatchRecord | None = None
    seen = 0
    async for batch in batches.walk(top):
        seen += 1
        if batch.unreadable is not None:
            check.problem(f"batch #{batch.id}'s record was changed: its {batch.unreadable} "
                          "no longer have the type ingest wrote")  # fmt: skip
            previous = batch
            continue
        check.link(batch, previous)
        previous = batch
        if batch.predates:
            await check.before_chain(batch, "events", events)
            await check.before_chain(batch, "rejects", rejects)
            continue
        event_offsets: list[int] = []
        reject_offsets: list[int] = []
        whole = await check.rows(batch, "events", events, event_offsets)
        whole = await check.rows(batch, "rejects", rejects, reject_offsets) and whole
        if whole and batch.file_id is not None and batch.sha256 != batch_sha256(
            batch.file_id, batch.first_event_id, event_offsets, batch.first_reject_id,
            reject_offsets, batch.digests,
        ):  # fmt: skip
            check.problem(f"batch #{batch.id} ({_span(batch)}): its record or a row's byte "
                          "offset was changed")  # fmt: skip
    for table, rows in (("event", events), ("reject", rejects)):
        async for row in rows.take_upto(1 << 62):  # rows between the last batches' ranges
            check.problem(f"{table} #{row[0]} is in no batch: it was inserted outside ingest")
    stray_event, stray_reject = await batches.unbatched(last_event, last_reject)
    for table, stray in (("event", stray_event), ("reject", stray_reject)):
        if stray is not None:
            check.problem(f"{table} #{stray} is in no batch: it was inserted outside ingest")
    return EventCheck(batches=seen, events=check.counts["events"],
                      rejects=check.counts["rejects"],
                      predating_events=check.predating["events"],
                      predating_rejects=check.predating["rejects"], problems=check.problems,
                      more_problems=check.more)  # fmt: skip


def _span(batch: BatchRecord) -> str:
    parts = []
    if batch.event_count:
        parts.append(f"events #{batch.first_event_id}–#{batch.last_event_id}")
    if batch.reject_count:
        parts.append(f"rejects #{batch.first_reject_id}–#{batch.last_reject_id}")
    return ", ".join(parts) or "no rows"
