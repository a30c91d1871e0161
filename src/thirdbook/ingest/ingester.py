"""The ingester: follows every file the sources match and commits what it reads, exactly once.

Exactly-once comes from three rules. A batch's rows and the file's new offset commit in one
transaction. The committed offset always sits at a line end. A file is known by its identity
(device, inode, and fingerprints of its first bytes and of the bytes before the offset), not
by its name, so a rename rotation, a copytruncate or an inode reused while we were stopped
cannot make us skip or repeat a line.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import logging
import os
import secrets
import socket
import sqlite3
import time
from collections.abc import Awaitable, Callable
from concurrent.futures.process import BrokenProcessPool

from thirdbook.config import IngestConfig, SourceConfig
from thirdbook.domain.clock import now_us
from thirdbook.domain.formats import UnknownFormatError, format_named
from thirdbook.domain.line_format import LineFormat
from thirdbook.ingest.backfill import (
    PARALLEL_BACKLOG,
    build_indexes,
    bulk_load_wanted,
    drain_pipelined,
)
from thirdbook.ingest.discovery import Candidate, discover, live_paths, rotations
from thirdbook.ingest.errors import IngestPausedError
from thirdbook.ingest.loop import run_ingest
from thirdbook.ingest.opening import open_candidate
from thirdbook.ingest.parse import parse_batch
from thirdbook.ingest.parse_pool import ParsePool
from thirdbook.ingest.rotation import release_finished, settle_pending, unclaimed_are_pending
from thirdbook.ingest.status import IngestStatus
from thirdbook.ingest.tail import (
    TAIL_BYTES,
    Batch,
    Tail,
    digest,
    head_fingerprint,
    tail_fingerprint,
)
from thirdbook.store import LeaseLostError, Store, StoreError
from thirdbook.store.checkpointer import WalCheckpointer
from thirdbook.store.ingest_rows import NoteTuple, RejectTuple
from thirdbook.store.ingest_state import CheckpointMovedError
from thirdbook.store.staged_events import EventRows, kinds_and_raws, last_ts_us

log = logging.getLogger(__name__)

WAL_BOUND = 32 << 20
"""Past this, the ingester checkpoints between commits itself, so the WAL stays bounded."""


class Ingester:
    """Tails the sources into the store while it holds the ingest lease."""

    def __init__(
        self,
        store: Store,
        sources: list[SourceConfig],
        settings: IngestConfig,
        *,
        user: str | None = None,
    ) -> None:
        self.store = store
        self.sources = sources
        self.formats: dict[str, LineFormat] = {s.name: format_named(s.format) for s in sources}
        """Each source's format, by source name."""
        self.settings = settings
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.user = user or _os_user()
        self.tails: dict[tuple[int, int], Tail] = {}
        self.status = IngestStatus()
        self.unopenable: set[str] = set()
        self.refused: set[str] = set()
        self.settled: dict[tuple[int, int], tuple[int, int]] = {}
        self.incomplete: dict[tuple[int, int], tuple[int, int]] = {}
        """Compressed files whose stream had not ended, and the (size, mtime) they had then."""
        self.known_paths: dict[str, set[str]] = {}
        """Each source's live files as tracked (a live file may be missing for a moment)."""
        """Files with nothing unread, by identity, and the (size, mtime) they had then."""
        self.claimed: set[int] = set()
        """Tracked rows this process has followed (the rest, on the first pass, moved)."""
        self.pending: dict[int, float] = {}
        """Rows cut short (truncated, or gone from their inode), and until when the rest of
        them is looked for (a copy, a compressed rotation) before what is missing is a gap."""
        self.stopped_rows: set[int] = set()
        self._started = False
        self.source_started: dict[str, int] = {}
        self.last_progress = 0.0
        self.parsers = ParsePool()
        self.on_commit: Callable[[list[tuple[int, str, bytes]]], Awaitable[None]] | None = None
        """Called with (event id, kind, raw line) for each batch once it is committed."""
        self.bulk = False
        self.checkpointer: WalCheckpointer | None = None

    # -- the lease -------------------------------------------------------------------------

    async def acquire(self) -> bool:
        """Take the ingest lease if no live process holds it."""
        got = await self.store.leases.try_acquire(
            self.holder, user=self.user, ttl_s=self.settings.lease_ttl_s
        )
        self.status.holding_lease = got
        return got

    async def release(self) -> None:
        """Close every file and give the lease up."""
        self.close_files()
        if self.status.holding_lease:
            with contextlib.suppress(sqlite3.Error, StoreError):
                await self.store.leases.release(self.holder)
        self.status.holding_lease = False

    def close_files(self) -> None:
        """Close every open descriptor (the checkpoints are in the store) and the parser."""
        self.parsers.close()
        for tail in self.tails.values():
            with contextlib.suppress(OSError):
                os.close(tail.fd)
        self.tails.clear()
        self._started = False
        self.claimed.clear()
        self.settled.clear()
        self.incomplete.clear()
        self.pending.clear()

    # -- one pass --------------------------------------------------------------------------

    async def ingest_available(self) -> int:
        """Discover files and read each to its current end; returns events stored.

        Raises `LeaseLostError` when another process has taken over, and
        `IngestPausedError` when the store refused a commit (nothing moved).
        """
        first_pass = not self._started
        self._started = True
        if first_pass:
            self.known_paths = {}
            for row in await self.store.ingest.files("active"):
                self.known_paths.setdefault(row.source, set()).add(row.path)
        # Truncations first: a copytruncate's copy, found below, continues the truncated file.
        for followed in list(self.tails.values()):
            with contextlib.suppress(OSError):
                why = followed.replaced_or_truncated()
                if why is not None:
                    await self.new_generation(followed, why)
        discovery = discover(self.sources)
        for path, why in discovery.refused.items():
            if path not in self.refused:
                self.refused.add(path)
                await self.store.ingest.add_note(None, "refused", f"{path}: {why}")
        live, rotation_named = live_paths(self.sources, discovery, self.known_paths)
        followed_keys: set[tuple[int, int]] = set()
        for key, candidate in discovery.found.items():
            tail = self.tails.get(key)
            if tail is None:
                tail = await open_candidate(
                    self, candidate, live=True, may_be_copy=candidate.path in rotation_named
                )
                if tail is None:
                    continue
                self.tails[key] = tail
            else:
                await self._renamed(tail, candidate)
            if candidate.path not in rotation_named and not tail.complete:
                followed_keys.add(key)
                tail.orphan_since = None
        for candidate in rotations(self.sources, live, set(discovery.found)):
            key = (candidate.dev, candidate.ino)
            if key in self.tails:
                await self._renamed(self.tails[key], candidate)
                continue
            tail = await open_candidate(self, candidate, live=False, may_be_copy=True)
            if tail is not None:
                self.tails[key] = tail
        if first_pass:
            await unclaimed_are_pending(self)
        await settle_pending(self)
        now = time.monotonic()
        for key, tail in self.tails.items():
            if key not in followed_keys and tail.orphan_since is None:
                tail.orphan_since = now
        bulk = await bulk_load_wanted(self)
        stored = 0
        try:
            if bulk:
                await self.store.drop_event_indexes()
                self.bulk = True
            for tail in sorted(self.tails.values(), key=lambda t: t.file_id):
                stored += await self._drain(tail)
        finally:
            self.bulk = False
            if bulk or first_pass:
                await build_indexes(self, bulk)
        await release_finished(self)
        self.status.files = len(self.tails)
        self.measure_backlog()
        return stored

    def measure_backlog(self) -> None:
        """Bytes not yet read across the open files; remember when there were none."""
        self.status.backlog_bytes = sum(t.backlog() for t in self.tails.values())
        if self.status.backlog_bytes == 0 or self.status.caught_up_us is None:
            self.status.caught_up_us = now_us()

    async def _drain(self, tail: Tail) -> int:
        if tail.backlog() > PARALLEL_BACKLOG and self.parsers.usable:
            try:
                return await drain_pipelined(self, tail)
            except (BrokenProcessPool, UnknownFormatError, ImportError) as exc:
                # A worker could not start, died, or cannot find the format: parse here from
                # now on; nothing is lost (nothing past the committed offset was kept).
                tail.rewind()
                await self.parse_in_process(f"a parse worker failed ({exc})")
        stored = 0
        settings = self.settings
        while True:
            try:
                why = tail.replaced_or_truncated()
            except OSError as exc:
                self.note_problem(f"{tail.path}: {exc}")
                return stored
            if why is not None:
                await self.new_generation(tail, why)
            try:
                batch = tail.read_batch(
                    settings.batch_lines, settings.read_chunk_bytes, settings.max_line_bytes
                )
            except OSError as exc:
                tail.rewind()
                self.note_problem(f"{tail.path}: read failed: {exc}")
                return stored
            if batch.empty:
                if batch.bytes_read:
                    continue  # inside an over-long line: keep skipping to its end
                return stored
            cut = tail.cut_while_reading()
            if cut is not None:
                # Truncated (and written again) between the check and the read: what was
                # read may belong to the new content, so none of it is committed.
                tail.rewind()
                await self.new_generation(tail, cut)
                continue
            tail.last_growth = time.monotonic()
            events, rejects = await asyncio.to_thread(
                parse_batch, batch, tail.file_id, settings.max_line_bytes, tail.line_format
            )
            await self.commit(tail, batch, events, rejects)
            stored += len(events)
            if time.monotonic() - self.last_progress >= 0.5:
                self.measure_backlog()  # a long catch-up still shows its lag
                await self.publish_progress()

    async def commit(
        self,
        tail: Tail,
        batch: Batch,
        events: EventRows,
        rejects: list[RejectTuple],
        note: NoteTuple | None = None,
    ) -> None:
        """Store a parsed batch (with `note`) and move the checkpoint; on failure, rewind."""
        tail.refresh_head()
        last = batch.last_bytes
        if len(last) >= TAIL_BYTES and batch.end == batch.segments[-1][0] + len(last):
            tail_hash = digest(last[-TAIL_BYTES:])
        else:
            tail_hash = tail_fingerprint(tail.fd, batch.end)
        try:
            first_id = await self.store.ingest.commit_batch(
                self.holder,
                file_id=tail.file_id,
                events=events,
                rejects=rejects,
                start=batch.start,
                offset=batch.end,
                tail_hash=tail_hash,
                head_len=tail.head_len,
                head_hash=tail.head_hash,
                size_seen=max(tail.last_size, batch.end),
                path=tail.path,
                note=note,
            )
        except (LeaseLostError, CheckpointMovedError):
            tail.rewind()
            raise
        except (sqlite3.Error, StoreError) as exc:
            tail.rewind()
            raise IngestPausedError(f"the store refused a commit: {exc}") from exc
        except BaseException:
            tail.rewind()
            raise
        tail.committed(batch)
        if self.on_commit is not None and events:
            committed = [(first_id + n, *row) for n, row in enumerate(kinds_and_raws(events))]
            try:
                await self.on_commit(committed)
            except Exception as exc:  # a trigger fault must never stop ingest
                self.note_problem(f"evaluating triggers failed: {exc!r}")
        if self.checkpointer is not None and self.checkpointer.wal_bytes() > WAL_BOUND:
            # A background checkpoint cannot finish while commits keep coming; one here,
            # between commits, does, and the next commit starts the WAL again from its head.
            with contextlib.suppress(sqlite3.Error, StoreError):
                await self.store.checkpoint("PASSIVE")
        self.status.events_total += len(events)
        self.status.rejects_total += len(rejects)
        if events:
            self.status.last_event_ts_us = last_ts_us(events)

    async def new_generation(self, tail: Tail, why: str) -> None:
        """The file was truncated or rewritten: track it as a new stream from byte 0."""
        head_len, head_hash = head_fingerprint(tail.fd)
        tracked = await self.store.ingest.add_file(
            self.holder,
            source=tail.source,
            path=tail.path,
            dev=tail.dev,
            ino=tail.ino,
            head_len=head_len,
            head_hash=head_hash,
            generation=tail.generation + 1,
            supersedes=tail.file_id,
            supersedes_size=max(tail.max_size, tail.offset),
            note=(
                "truncated",
                f"{tail.path}: {why}; {tail.offset} bytes had been committed; reading again from 0",
            ),
        )
        self.pending[tail.file_id] = time.monotonic() + self.settings.rotation_wait_s
        tail.file_id, tail.generation = tracked.id, tracked.generation
        tail.offset, tail.head_len, tail.head_hash = 0, head_len, head_hash
        tail.max_size, tail.lost_after = 0, None
        self.claimed.add(tracked.id)
        tail.rewind()

    async def _renamed(self, tail: Tail, candidate: Candidate) -> None:
        if tail.path != candidate.path:
            await self.store.ingest.update_path(
                self.holder, tail.file_id, candidate.path, f"{tail.path} is now {candidate.path}"
            )
            tail.path = candidate.path

    async def parse_in_process(self, why: str) -> None:
        """Stop using the parse workers (`why`: what failed); the health line says so."""
        self.parsers.broken(why)
        self.status.parse_fallback = why
        text = f"parsing in the ingester's own process from now on: {why}"
        self.note_problem(text)
        with contextlib.suppress(sqlite3.Error, StoreError):
            await self.store.ingest.add_note(None, "parsing", text)

    def note_problem(self, text: str) -> None:
        """Keep the last few problems for the health line, and log them."""
        log.warning("%s", text)
        self.status.problems = [*self.status.problems[-9:], text]

    # -- running ---------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event, *, once: bool = False) -> None:
        """Ingest until `stop` is set (or, with `once`, until everything available is in);
        see `thirdbook.ingest.loop.run_ingest`."""
        await run_ingest(self, stop, once=once)

    async def publish_progress(self, *, force: bool = False) -> None:
        """Write the figures the consoles show (at most twice a second)."""
        now = time.monotonic()
        if not force and now - self.last_progress < 0.5:
            return
        self.last_progress = now
        with contextlib.suppress(sqlite3.Error, StoreError):
            await self.store.ingest.save_progress(
                events_total=self.status.events_total,
                rejects_total=self.status.rejects_total,
                backlog_bytes=self.status.backlog_bytes,
                last_event_ts_us=self.status.last_event_ts_us,
                caught_up_us=self.status.caught_up_us,
                paused_reason=self.status.paused_reason,
                parse_fallback=self.status.parse_fallback,
            )


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())
