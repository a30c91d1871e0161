"""Backfill: a large backlog parsed in worker processes, committed in order, and a very
large one bulk-loaded without the events indexes (built again after by one sort each)."""

from __future__ import annotations

import asyncio
import time
from collections import deque

from thirdbook.domain.formats import module_of
from thirdbook.ingest.ingester_protocols import Draining
from thirdbook.ingest.parse import parse_batch_packed, unpack_rows
from thirdbook.ingest.tail import Batch, Tail

PARALLEL_BACKLOG = 8 << 20
"""Past this many unread bytes in a file, parsing moves to a worker process and overlaps
the commits (a backfill); below it, parsing in a thread costs less than the hand-off."""
PIPELINE_DEPTH = 3
BULK_BACKLOG = 64 << 20
"""A backlog over this (and over the store's own size) is bulk-loaded: the events indexes
are dropped, the rows go in, and the indexes are built again by one sort each."""
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

    Batches commit strictly in file order; when a commit fails, `_commit` rewinds the
    tail to the committed offset and the batches still in flight are dropped.
    """
    loop = asyncio.get_running_loop()
    settings = ingester.settings
    inflight: deque[tuple[Batch, asyncio.Future[bytes]]]
    inflight = deque()
    stored = 0
    line_format = tail.line_format.name, module_of(tail.line_format)  # looked up in the worker
    try:
        while True:
            if not inflight:
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
                    parse_batch_packed,
                    batch,
                    tail.file_id,
                    settings.max_line_bytes,
                    *line_format,
                )
                inflight.append((batch, future))
            if not inflight:
                return stored
            batch, future = inflight.popleft()
            # Unpacked here, between commits: unpickling in the pool's thread while the
            # store inserts would fight it for the GIL on every row.
            events, rejects = unpack_rows(
                await future, batch, tail.file_id, settings.max_line_bytes
            )
            tail.last_growth = time.monotonic()
            await ingester.commit(tail, batch, events, rejects)
            stored += len(events)
            if time.monotonic() - ingester.last_progress >= 0.5:
                ingester.measure_backlog()
                await ingester.publish_progress()
    finally:
        for _, future in inflight:
            future.cancel()
