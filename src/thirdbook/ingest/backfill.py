"""Backfill: a large backlog parsed in worker processes, committed in order, and a very
large one bulk-loaded without the events indexes (built again after by one sort each)."""

from __future__ import annotations

import asyncio
import gc
import time
from collections import deque

from thirdbook.domain.formats import module_of
from thirdbook.ingest.ingester_protocols import Draining
from thirdbook.ingest.parse import no_cyclic_collection, parse_batch_staged, unpack_staged
from thirdbook.ingest.tail import Batch, Tail
from thirdbook.store.ingest_rows import RejectTuple
from thirdbook.store.staged_events import EventRows

PARALLEL_BACKLOG = 8 << 20
"""Past this many unread bytes in a file, parsing moves to a worker process and overlaps
the commits (a backfill); below it, parsing in a thread costs less than the hand-off."""
PIPELINE_DEPTH = 3
BULK_BACKLOG = 64 << 20
"""A backlog over this (and over the store's own size) is bulk-loaded: the events indexes
are dropped, the rows go in, and the indexes are built again by one sort each."""
YOUNG_COLLECTION_EVERY = 64
"""Batches between two collections of the young generations during a backfill (the
collector is off meanwhile: see `drain_pipelined`)."""
BACKFILL_BATCH_LINES = 50_000
BACKFILL_BATCH_BYTES = 64 << 20
"""A backfill commits in larger transactions: each one rewrites the index pages it touches,
and a random-key index is touched nearly everywhere, so fewer, larger commits write far less."""


async def bulk_load_wanted(ingester: Draining) -> bool:
    """A backlog larger than the store itself loads faster without the indexes."""
    backlog = sum(t.backlog() for t in ingester.tails.values())
    return backlog > BULK_BACKLOG and backlog > await ingester.store.size_bytes()


async def build_indexes(ingester: Draining, bulk: bool) -> None:
    """Build the events indexes a bulk load (or an interrupted one) left missing."""
    began = time.monotonic()
    built = await ingester.store.build_event_indexes()
    if built:
        why = "after a bulk load" if bulk else "left missing by an interrupted bulk load"
        await ingester.store.ingest.add_note(
            None,
            "indexes",
            f"built {', '.join(built)} {why} in {time.monotonic() - began:.1f} s",
        )


async def drain_pipelined(ingester: Draining, tail: Tail) -> int:
    """Read ahead and parse in a worker process while earlier batches commit, in order.

    Batches commit strictly in file order, one at a time: the next one is unpacked while
    its predecessor commits (the store copies a staged batch without the GIL). When a
    commit fails, `commit` rewinds the tail to the committed offset and the batches still
    in flight are dropped. The cyclic collector is off meanwhile: each batch makes ~10^5
    objects, none in a cycle, and the collections walking them (and the batches in
    flight) cost a tenth of the drain; the little cyclic garbage the event loop makes is
    collected every few batches.
    """
    loop = asyncio.get_running_loop()
    settings = ingester.settings
    inflight: deque[tuple[Batch, asyncio.Future[bytes]]]
    inflight = deque()
    committing: asyncio.Future[int] | None = None
    stored = batches = 0
    line_format = tail.line_format.name, module_of(tail.line_format)  # looked up in the worker
    with no_cyclic_collection():
        try:
            while True:
                if not inflight:
                    stored += await _committed(committing)
                    committing = None
                    why = tail.replaced_or_truncated()
                    if why is not None:
                        await ingester.new_generation(tail, why)
                # Without indexes, small batches keep both cores busy; with them, large
                # batches rewrite each index page fewer times.
                lines = settings.batch_lines if ingester.bulk else BACKFILL_BATCH_LINES
                while len(inflight) < (PIPELINE_DEPTH + 2 if ingester.bulk else PIPELINE_DEPTH):
                    batch = tail.read_batch(
                        lines,
                        settings.read_chunk_bytes,
                        settings.max_line_bytes,
                        BACKFILL_BATCH_BYTES,
                    )
                    if batch.empty:
                        if batch.bytes_read:
                            continue
                        break
                    future = loop.run_in_executor(
                        ingester.parsers.executor(),
                        parse_batch_staged,
                        batch,
                        tail.file_id,
                        settings.max_line_bytes,
                        *line_format,
                    )
                    inflight.append((batch, future))
                if not inflight:
                    return stored
                batch, future = inflight.popleft()
                # Unpacked here, not in the pool's thread: unpickling there while the store
                # inserts would fight it for the GIL.
                events, rejects = unpack_staged(
                    await future, batch, tail.file_id, settings.max_line_bytes
                )
                stored += await _committed(committing)
                tail.last_growth = time.monotonic()
                committing = asyncio.ensure_future(_commit(ingester, tail, batch, events, rejects))
                batches += 1
                if batches % YOUNG_COLLECTION_EVERY == 0:
                    gc.collect(1)
                if time.monotonic() - ingester.last_progress >= 0.5:
                    ingester.measure_backlog()
                    await ingester.publish_progress()
        finally:
            for _, future in inflight:
                future.cancel()
            if committing is not None:
                # Never leave a commit behind: the caller may rewind to the committed offset.
                await asyncio.wait({committing})
                if not committing.cancelled():
                    committing.exception()  # retrieved: whoever failed first is raised


async def _commit(
    ingester: Draining, tail: Tail, batch: Batch, events: EventRows, rejects: list[RejectTuple]
) -> int:
    await ingester.commit(tail, batch, events, rejects)
    return len(events)


async def _committed(committing: asyncio.Future[int] | None) -> int:
    """The events the commit in progress stored, once it has (its error, if it failed)."""
    return 0 if committing is None else await committing
