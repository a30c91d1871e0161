"""When ingest passes run: the lease, file-watch wake-ups, pauses with back-off, progress.

What one pass does is `Ingester.ingest_available`; this module decides when to make one.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3

from thirdbook.ingest.discovery import watch_roots
from thirdbook.ingest.errors import IngestPausedError, LeaseHeldError
from thirdbook.ingest.ingester_protocols import Running
from thirdbook.ingest.rotation import settle_pending
from thirdbook.store import LeaseLostError, StoreError
from thirdbook.store.checkpointer import WalCheckpointer
from thirdbook.store.ingest_state import CheckpointMovedError


async def run_ingest(ingester: Running, stop: asyncio.Event, *, once: bool = False) -> None:
    """Ingest until `stop` is set (or, with `once`, until everything available is in).

    Without the lease it waits and tries again; with it, it wakes on file events (and a
    periodic stat as a safety net), renews its heartbeat and backs off while paused.
    """
    wake = asyncio.Event()
    watcher = asyncio.create_task(_watch(ingester, wake, stop))
    checkpoints_stop = asyncio.Event()
    ingester.checkpointer = WalCheckpointer(ingester.store.path)
    checkpointer = asyncio.create_task(ingester.checkpointer.run(checkpoints_stop))
    await ingester.store.set_autocheckpoint(0)
    backoff = 0.5
    try:
        while not stop.is_set():
            if not ingester.status.holding_lease and not await ingester.acquire():
                if once:
                    raise LeaseHeldError(await _lease_holder_text(ingester))
                await _wait(wake, stop, ingester.settings.lease_ttl_s / 2)
                continue
            try:
                if not await ingester.store.leases.renew(ingester.holder):
                    raise LeaseLostError("another process has taken over ingest")
                before = ingester.status.events_total + ingester.status.rejects_total
                await ingester.ingest_available()
                moved = ingester.status.events_total + ingester.status.rejects_total - before
            except LeaseLostError:
                ingester.close_files()
                ingester.status.holding_lease = False
                ingester.note_problem("another process has taken over ingest")
                continue
            except CheckpointMovedError as exc:
                ingester.close_files()  # start again from the checkpoints in the store
                ingester.note_problem(str(exc))
                continue
            except (IngestPausedError, sqlite3.Error, StoreError) as exc:
                if not isinstance(exc, IngestPausedError):
                    exc = IngestPausedError(f"the store refused a write: {exc}")
                if ingester.status.paused_reason is None:
                    ingester.note_problem(str(exc))
                ingester.status.paused_reason = str(exc)
                await ingester.publish_progress(force=True)
                await _wait(asyncio.Event(), stop, backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            paused = ingester.status.paused_reason
            if paused is not None:
                with contextlib.suppress(sqlite3.Error, StoreError):
                    await ingester.store.ingest.add_note(
                        None, "resumed", f"ingest resumed after: {paused}"
                    )
                ingester.status.paused_reason = None
            backoff = 0.5
            await ingester.publish_progress(force=once)
            if once:
                if moved == 0:
                    # Nothing more will turn up while we wait: what is missing is a gap now.
                    await settle_pending(ingester, force=True)
                    break
                continue
            if moved == 0:
                await _wait(wake, stop, ingester.settings.poll_interval_s)
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await watcher
        checkpoints_stop.set()
        with contextlib.suppress(Exception):
            await checkpointer
        # Best effort on the way out: the store may already be failing or closed.
        with contextlib.suppress(Exception):
            await ingester.store.set_autocheckpoint(1000)
            await ingester.publish_progress(force=True)


async def _watch(ingester: Running, wake: asyncio.Event, stop: asyncio.Event) -> None:
    roots, recursive = watch_roots(ingester.sources)
    if not roots:
        return
    from watchfiles import awatch

    try:
        async for _changes in awatch(
            *roots,
            debounce=ingester.settings.debounce_ms,
            step=50,
            stop_event=stop,
            recursive=recursive,
            rust_timeout=500,
            yield_on_timeout=False,
        ):
            wake.set()
    except (OSError, RuntimeError) as exc:  # the periodic stat still covers us
        ingester.note_problem(f"file watching stopped: {exc}")


async def _lease_holder_text(ingester: Running) -> str:
    lease = await ingester.store.leases.current()
    if lease is None:
        return "another process is ingesting this store"
    return (
        f"another process is ingesting this store: {lease.user} on {lease.host} "
        f"(pid {lease.pid}, since {lease.acquired:%Y-%m-%d %H:%M:%S}Z)"
    )


async def _wait(wake: asyncio.Event, stop: asyncio.Event, seconds: float) -> None:
    """Sleep until woken, stopped, or `seconds` pass."""
    waiters = [asyncio.ensure_future(wake.wait()), asyncio.ensure_future(stop.wait())]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
    wake.clear()
