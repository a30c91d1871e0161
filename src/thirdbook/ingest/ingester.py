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
import multiprocessing
import os
import pickle
import secrets
import socket
import sqlite3
import time
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

from thirdbook.config import IngestConfig, SourceConfig
from thirdbook.domain.records import TrackedFile
from thirdbook.ingest.discovery import Candidate, discover, find_by_identity, watch_roots
from thirdbook.ingest.parse import REJECT_KEEP_BYTES, parse_batch, parse_batch_packed
from thirdbook.ingest.tail import (
    TAIL_BYTES,
    Batch,
    Tail,
    digest,
    head_fingerprint,
    read_at,
    tail_fingerprint,
)
from thirdbook.store import LeaseLostError, Store, StoreError
from thirdbook.store.checkpointer import WalCheckpointer
from thirdbook.store.ingest_state import (
    CheckpointMovedError,
    EventTuple,
    RejectTuple,
    now_us,
)

log = logging.getLogger(__name__)

PARALLEL_BACKLOG = 8 << 20
"""Past this many unread bytes in a file, parsing moves to a worker process and overlaps
the commits (a backfill); below it, parsing in a thread costs less than the hand-off."""
PIPELINE_DEPTH = 3
PARSE_WORKERS = 2
BULK_BACKLOG = 64 << 20
"""A backlog over this (and over the store's own size) is bulk-loaded: the events indexes
are dropped, the rows go in, and the indexes are built again by one sort each."""
BACKFILL_BATCH_LINES = 50_000
BACKFILL_BATCH_BYTES = 64 << 20
"""A backfill commits in larger transactions: each one rewrites the index pages it touches,
and a random-key index is touched nearly everywhere, so fewer, larger commits write far less."""
WAL_BOUND = 32 << 20
"""Past this, the ingester checkpoints between commits itself, so the WAL stays bounded."""


class IngestPausedError(Exception):
    """A commit failed (disk full, I/O error); nothing moved, ingest retries later."""


@dataclass
class IngestStatus:
    """What the ingester in this process is doing, for the health line."""

    holding_lease: bool = False
    paused_reason: str | None = None
    events_total: int = 0
    rejects_total: int = 0
    backlog_bytes: int = 0
    files: int = 0
    last_event_ts_us: int | None = None
    caught_up_us: int | None = None
    last_pass: float = 0.0
    problems: list[str] = field(default_factory=list)


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
        self.settings = settings
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.user = user or _os_user()
        self.tails: dict[tuple[int, int], Tail] = {}
        self.status = IngestStatus()
        self._known: dict[tuple[int, int], list[TrackedFile]] | None = None
        self._unopenable: set[str] = set()
        self._last_progress = 0.0
        self._pool: ProcessPoolExecutor | None = None
        self._pool_broken = False
        self._bulk = False
        self._checkpointer: WalCheckpointer | None = None

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

    def close_parser(self) -> None:
        """Stop the parsing worker process, if one runs."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def close_files(self) -> None:
        """Close every open descriptor (the checkpoints are in the store) and the parser."""
        self.close_parser()
        for tail in self.tails.values():
            with contextlib.suppress(OSError):
                os.close(tail.fd)
        self.tails.clear()
        self._known = None

    # -- one pass --------------------------------------------------------------------------

    async def ingest_available(self) -> int:
        """Discover files and read each to its current end; returns events stored.

        Raises `LeaseLostError` when another process has taken over, and
        `IngestPausedError` when the store refused a commit (nothing moved).
        """
        if self._known is None:
            rows = await self.store.ingest.files("active")
            self._known = {}
            for row in rows:
                self._known.setdefault((row.dev, row.ino), []).append(row)
            first_pass = True
        else:
            first_pass = False
        # Truncations first: a copytruncate's copy, found below, continues the truncated file.
        for followed in list(self.tails.values()):
            with contextlib.suppress(OSError):
                why = followed.replaced_or_truncated()
                if why is not None:
                    await self._new_generation(followed, why)
        found = discover(self.sources)
        for key, candidate in found.items():
            tail = self.tails.get(key)
            if tail is None:
                tail = await self._open(candidate)
                if tail is None:
                    continue
                self.tails[key] = tail
            elif tail.path != candidate.path:
                await self.store.ingest.update_path(
                    self.holder,
                    tail.file_id,
                    candidate.path,
                    f"{tail.path} is now {candidate.path}",
                )
                tail.path = candidate.path
            tail.orphan_since = None
        if first_pass:
            await self._resume_rotated_while_stopped()
        now = time.monotonic()
        for key, tail in self.tails.items():
            if key not in found and tail.orphan_since is None:
                tail.orphan_since = now
        bulk = await self._bulk_load_wanted()
        stored = 0
        try:
            if bulk:
                await self.store.drop_event_indexes()
                self._bulk = True
            for tail in sorted(self.tails.values(), key=lambda t: t.file_id):
                stored += await self._drain(tail)
        finally:
            self._bulk = False
            if bulk or first_pass:
                await self._build_indexes(bulk)
        await self._release_finished()
        self.status.files = len(self.tails)
        self._measure_backlog()
        self.status.last_pass = time.monotonic()
        return stored

    def _measure_backlog(self) -> None:
        self.status.backlog_bytes = sum(t.backlog() for t in self.tails.values())
        if self.status.backlog_bytes == 0 or self.status.caught_up_us is None:
            self.status.caught_up_us = now_us()

    async def _bulk_load_wanted(self) -> bool:
        """A backlog larger than the store itself loads faster without the indexes."""
        backlog = sum(t.backlog() for t in self.tails.values())
        return backlog > BULK_BACKLOG and backlog > await self.store.size_bytes()

    async def _build_indexes(self, bulk: bool) -> None:
        began = time.monotonic()
        built = await self.store.build_event_indexes()
        if built:
            why = "after a bulk load" if bulk else "left missing by an interrupted bulk load"
            await self.store.ingest.add_note(
                None,
                "indexes",
                f"built {', '.join(built)} {why} in {time.monotonic() - began:.1f} s",
            )

    async def _open(self, candidate: Candidate) -> Tail | None:
        try:
            fd = os.open(candidate.path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            if candidate.path not in self._unopenable:
                self._unopenable.add(candidate.path)
                await self.store.ingest.add_note(None, "unreadable", f"{candidate.path}: {exc}")
            return None
        self._unopenable.discard(candidate.path)
        st = os.fstat(fd)
        key = (st.st_dev, st.st_ino)
        if key != (candidate.dev, candidate.ino):
            os.close(fd)  # replaced between stat and open; the next pass sees the new one
            return None
        head_len, head_hash = head_fingerprint(fd)
        assert self._known is not None
        rows = self._known.pop(key, [])
        generation = 0
        supersedes: int | None = None
        note: tuple[str, str] | None = None
        for row in sorted(rows, key=lambda r: r.id, reverse=True):
            verdict = _resume_verdict(fd, st.st_size, row)
            if verdict == "resume" and supersedes is None:
                if row.path != candidate.path:
                    await self.store.ingest.update_path(
                        self.holder,
                        row.id,
                        candidate.path,
                        f"{row.path} was renamed {candidate.path} while ingest was stopped",
                    )
                return _tail_from(row, fd, candidate.path)
            if row.path == candidate.path or verdict == "truncated":
                # The same file, truncated (and perhaps written again) while we were stopped.
                generation, supersedes = row.generation + 1, row.id
                note = (
                    "truncated",
                    f"{candidate.path} was truncated or rewritten while ingest "
                    f"was stopped ({row.offset} bytes had been read); reading again from 0",
                )
            else:
                await self._retire(row, "its inode now belongs to another file")
        continues = None if rows else await self._copied_from(fd, st.st_size)
        if continues is not None:
            note = (
                "copy",
                f"{candidate.path} is the copy of {continues.path} taken before it "
                f"was truncated; reading it from byte {continues.offset}, where ingest of "
                "the original had got to",
            )
        tracked = await self.store.ingest.add_file(
            self.holder,
            source=candidate.source,
            path=candidate.path,
            dev=key[0],
            ino=key[1],
            head_len=head_len,
            head_hash=head_hash,
            generation=generation,
            supersedes=supersedes,
            continues=continues,
            note=note,
        )
        return _tail_from(tracked, fd, candidate.path)

    async def _copied_from(self, fd: int, size: int) -> TrackedFile | None:
        """The truncated file this new file is a copy of (copytruncate), if any: its first
        bytes and the bytes before that file's checkpoint are the same."""
        for row in reversed(await self.store.ingest.files("truncated", newest=20)):
            if row.offset > 0 and _resume_verdict(fd, size, row) == "resume":
                return row
        return None

    async def _retire(self, row: TrackedFile, why: str) -> None:
        """A file we may not have finished is gone: record the gap, never silently."""
        if row.offset < row.size_seen:
            detail = (
                f"{row.path}: {why}; bytes {row.offset}..{row.size_seen} (and anything "
                "written later) were never read"
            )
        else:
            detail = (
                f"{row.path}: {why}; read to byte {row.offset}; anything written to it "
                "after that could not be read"
            )
        await self.store.ingest.set_state(self.holder, row.id, "gone", ("gap", detail))

    async def _resume_rotated_while_stopped(self) -> None:
        """Finish files renamed away while we were stopped; record the ones that are gone."""
        assert self._known is not None
        leftovers = [row for rows in self._known.values() for row in rows]
        self._known.clear()
        for row in leftovers:
            path = find_by_identity(os.path.dirname(row.path), row.dev, row.ino)
            if path is not None:
                try:
                    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
                except OSError:
                    fd = -1
                if fd >= 0:
                    if _resume_verdict(fd, os.fstat(fd).st_size, row) == "resume":
                        await self.store.ingest.update_path(
                            self.holder,
                            row.id,
                            path,
                            f"{row.path} was rotated to {path} while ingest was stopped; "
                            "reading the rest of it",
                        )
                        tail = _tail_from(row, fd, path)
                        tail.orphan_since = time.monotonic()
                        self.tails[tail.key] = tail
                        continue
                    os.close(fd)
            await self._retire(row, "the file was rotated away or deleted while ingest was stopped")

    async def _drain(self, tail: Tail) -> int:
        if tail.backlog() > PARALLEL_BACKLOG and not self._pool_broken:
            try:
                return await self._drain_pipelined(tail)
            except BrokenProcessPool as exc:
                # The worker could not start or died: parse here instead, nothing is lost
                # (nothing past the committed offset was kept).
                self._pool_broken = True
                self.close_parser()
                tail.rewind()
                self._problem(f"parallel parsing is off: {exc}")
        stored = 0
        settings = self.settings
        while True:
            try:
                why = tail.replaced_or_truncated()
            except OSError as exc:
                self._problem(f"{tail.path}: {exc}")
                return stored
            if why is not None:
                await self._new_generation(tail, why)
            try:
                batch = tail.read_batch(
                    settings.batch_lines, settings.read_chunk_bytes, settings.max_line_bytes
                )
            except OSError as exc:
                tail.rewind()
                self._problem(f"{tail.path}: read failed: {exc}")
                return stored
            if batch.empty:
                if batch.bytes_read:
                    continue  # inside an over-long line: keep skipping to its end
                return stored
            tail.last_growth = time.monotonic()
            events, rejects = await asyncio.to_thread(
                parse_batch, batch, tail.file_id, settings.max_line_bytes
            )
            await self._commit(tail, batch, events, rejects)
            stored += len(events)
            if time.monotonic() - self._last_progress >= 0.5:
                self._measure_backlog()  # a long catch-up still shows its lag
                await self.publish_progress()

    def _parser(self) -> ProcessPoolExecutor:
        if self._pool is None:
            context = multiprocessing.get_context("forkserver")
            self._pool = ProcessPoolExecutor(max_workers=PARSE_WORKERS, mp_context=context)
        return self._pool

    async def _drain_pipelined(self, tail: Tail) -> int:
        """Read ahead and parse in a worker process while earlier batches commit, in order.

        Batches commit strictly in file order; when a commit fails, `_commit` rewinds the
        tail to the committed offset and the batches still in flight are dropped.
        """
        loop = asyncio.get_running_loop()
        settings = self.settings
        inflight: deque[tuple[Batch, asyncio.Future[bytes]]]
        inflight = deque()
        stored = 0
        try:
            while True:
                if not inflight:
                    why = tail.replaced_or_truncated()
                    if why is not None:
                        await self._new_generation(tail, why)
                # Without indexes, small batches keep both cores busy; with them, large
                # batches rewrite each index page fewer times.
                lines = settings.batch_lines if self._bulk else BACKFILL_BATCH_LINES
                while len(inflight) < (PIPELINE_DEPTH + 2 if self._bulk else PIPELINE_DEPTH):
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
                        self._parser(),
                        parse_batch_packed,
                        batch,
                        tail.file_id,
                        settings.max_line_bytes,
                    )
                    inflight.append((batch, future))
                if not inflight:
                    return stored
                batch, future = inflight.popleft()
                # Unpacked here, between commits: unpickling in the pool's thread while the
                # store inserts would fight it for the GIL on every row.
                events, rejects = pickle.loads(await future)
                tail.last_growth = time.monotonic()
                await self._commit(tail, batch, events, rejects)
                stored += len(events)
                if time.monotonic() - self._last_progress >= 0.5:
                    self._measure_backlog()
                    await self.publish_progress()
        finally:
            for _, future in inflight:
                future.cancel()

    async def _commit(
        self,
        tail: Tail,
        batch: Batch,
        events: list[EventTuple],
        rejects: list[RejectTuple],
    ) -> None:
        tail.refresh_head()
        last = batch.last_bytes
        if len(last) >= TAIL_BYTES and batch.end == batch.segments[-1][0] + len(last):
            tail_hash = digest(last[-TAIL_BYTES:])
        else:
            tail_hash = tail_fingerprint(tail.fd, batch.end)
        try:
            await self.store.ingest.commit_batch(
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
        if self._checkpointer is not None and self._checkpointer.wal_bytes() > WAL_BOUND:
            # A background checkpoint cannot finish while commits keep coming; one here,
            # between commits, does, and the next commit starts the WAL again from its head.
            with contextlib.suppress(sqlite3.Error, StoreError):
                await self.store.checkpoint("PASSIVE")
        self.status.events_total += len(events)
        self.status.rejects_total += len(rejects)
        if events:
            self.status.last_event_ts_us = events[-1][0]

    async def _new_generation(self, tail: Tail, why: str) -> None:
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
            note=(
                "truncated",
                f"{tail.path}: {why}; {tail.offset} bytes had been committed; reading again from 0",
            ),
        )
        tail.file_id, tail.generation = tracked.id, tracked.generation
        tail.offset, tail.head_len, tail.head_hash = 0, head_len, head_hash
        tail.rewind()

    async def _release_finished(self) -> None:
        """Close files that left the sources (renamed away, deleted) once they stop growing."""
        now = time.monotonic()
        for key, tail in list(self.tails.items()):
            if tail.orphan_since is None:
                continue
            quiet_since = max(tail.orphan_since, tail.last_growth)
            if now - quiet_since < self.settings.release_after_s:
                continue
            try:
                size = tail.size()
            except OSError:
                size = tail.read_pos
            if size > tail.read_pos:
                continue  # still has unread bytes: the next pass reads them
            await self._reject_unterminated(tail, size)
            detail = f"{tail.path}: read to its end ({tail.offset} bytes), released"
            await self.store.ingest.set_state(
                self.holder, tail.file_id, "released", ("released", detail)
            )
            with contextlib.suppress(OSError):
                os.close(tail.fd)
            del self.tails[key]

    async def _reject_unterminated(self, tail: Tail, size: int) -> None:
        """A released file's last line never got its newline: keep it as a reject."""
        if size <= tail.offset:
            return
        length = size - tail.offset
        raw = read_at(tail.fd, min(length, REJECT_KEEP_BYTES), tail.offset)
        reject: RejectTuple = (
            tail.file_id,
            tail.offset,
            length,
            "the file ended without a newline; its last line is incomplete",
            raw,
            int(len(raw) == length),
            now_us(),
        )
        batch = Batch(start=tail.offset, segments=[], long_lines=[], end=size)
        await self._commit(tail, batch, [], [reject])

    def _problem(self, text: str) -> None:
        log.warning("%s", text)
        self.status.problems = [*self.status.problems[-9:], text]

    # -- running ---------------------------------------------------------------------------

    async def publish_progress(self, *, force: bool = False) -> None:
        """Write the figures the consoles show (at most twice a second)."""
        now = time.monotonic()
        if not force and now - self._last_progress < 0.5:
            return
        self._last_progress = now
        with contextlib.suppress(sqlite3.Error, StoreError):
            await self.store.ingest.save_progress(
                events_total=self.status.events_total,
                rejects_total=self.status.rejects_total,
                backlog_bytes=self.status.backlog_bytes,
                last_event_ts_us=self.status.last_event_ts_us,
                caught_up_us=self.status.caught_up_us,
                paused_reason=self.status.paused_reason,
            )

    async def run(self, stop: asyncio.Event, *, once: bool = False) -> None:
        """Ingest until `stop` is set (or, with `once`, until everything available is in).

        Without the lease it waits and tries again; with it, it wakes on file events (and a
        periodic stat as a safety net), renews its heartbeat and backs off while paused.
        """
        wake = asyncio.Event()
        watcher = asyncio.create_task(self._watch(wake, stop))
        checkpoints_stop = asyncio.Event()
        self._checkpointer = WalCheckpointer(self.store.path)
        checkpointer = asyncio.create_task(self._checkpointer.run(checkpoints_stop))
        await self.store.set_autocheckpoint(0)
        backoff = 0.5
        try:
            while not stop.is_set():
                if not self.status.holding_lease and not await self.acquire():
                    if once:
                        raise LeaseHeldError(await self._lease_holder_text())
                    await _wait(wake, stop, self.settings.lease_ttl_s / 2)
                    continue
                try:
                    if not await self.store.leases.renew(self.holder):
                        raise LeaseLostError("another process has taken over ingest")
                    before = self.status.events_total + self.status.rejects_total
                    await self.ingest_available()
                    moved = self.status.events_total + self.status.rejects_total - before
                except LeaseLostError:
                    self.close_files()
                    self.status.holding_lease = False
                    self._problem("another process has taken over ingest")
                    continue
                except CheckpointMovedError as exc:
                    self.close_files()  # start again from the checkpoints in the store
                    self._problem(str(exc))
                    continue
                except IngestPausedError as exc:
                    if self.status.paused_reason is None:
                        self._problem(str(exc))
                    self.status.paused_reason = str(exc)
                    await self.publish_progress(force=True)
                    await _wait(asyncio.Event(), stop, backoff)
                    backoff = min(backoff * 2, 10.0)
                    continue
                if self.status.paused_reason is not None:
                    with contextlib.suppress(sqlite3.Error, StoreError):
                        await self.store.ingest.add_note(
                            None, "resumed", f"ingest resumed after: {self.status.paused_reason}"
                        )
                    self.status.paused_reason = None
                backoff = 0.5
                await self.publish_progress(force=once)
                if once:
                    if moved == 0:
                        break
                    continue
                if moved == 0:
                    await _wait(wake, stop, self.settings.poll_interval_s)
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await watcher
            checkpoints_stop.set()
            with contextlib.suppress(Exception):
                await checkpointer
            # Best effort on the way out: the store may already be failing or closed.
            with contextlib.suppress(Exception):
                await self.store.set_autocheckpoint(1000)
                await self.publish_progress(force=True)

    async def _watch(self, wake: asyncio.Event, stop: asyncio.Event) -> None:
        roots, recursive = watch_roots(self.sources)
        if not roots:
            return
        from watchfiles import awatch

        try:
            async for _changes in awatch(
                *roots,
                debounce=self.settings.debounce_ms,
                step=50,
                stop_event=stop,
                recursive=recursive,
                rust_timeout=500,
                yield_on_timeout=False,
            ):
                wake.set()
        except (OSError, RuntimeError) as exc:  # the periodic stat still covers us
            self._problem(f"file watching stopped: {exc}")

    async def _lease_holder_text(self) -> str:
        lease = await self.store.leases.current()
        if lease is None:
            return "another process is ingesting this store"
        return (
            f"another process is ingesting this store: {lease.user} on {lease.host} "
            f"(pid {lease.pid}, since {lease.acquired:%Y-%m-%d %H:%M:%S}Z)"
        )


class LeaseHeldError(Exception):
    """Another live process holds the ingest lease."""


async def _wait(wake: asyncio.Event, stop: asyncio.Event, seconds: float) -> None:
    """Sleep until woken, stopped, or `seconds` pass."""
    waiters = [asyncio.ensure_future(wake.wait()), asyncio.ensure_future(stop.wait())]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
    wake.clear()


def _resume_verdict(fd: int, size: int, row: TrackedFile) -> str:
    """'resume' if this open file is the one the checkpoint describes, 'truncated' if it is
    that file cut short, 'different' otherwise."""
    head = read_at(fd, row.head_len, 0)
    if len(head) < row.head_len or digest(head) != row.head_hash:
        return "truncated" if size < row.head_len else "different"
    if size < row.offset:
        return "truncated"
    if tail_fingerprint(fd, row.offset) != row.tail_hash:
        return "different"
    return "resume"


def _tail_from(row: TrackedFile, fd: int, path: str) -> Tail:
    st = os.fstat(fd)
    return Tail(
        file_id=row.id,
        source=row.source,
        path=path,
        fd=fd,
        dev=st.st_dev,
        ino=st.st_ino,
        generation=row.generation,
        offset=row.offset,
        head_len=row.head_len,
        head_hash=row.head_hash,
        last_growth=time.monotonic(),
    )


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())
