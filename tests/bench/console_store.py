"""The console benchmark's big store: `events` inference events, built once through the
store's own bulk path and kept for later runs.

The bulk path is the one a backfill takes: the events indexes dropped, every batch committed
by `commit_batch` (its file checkpoint moved, the batch recorded in the event batch chain, so
`thirdbook verify` passes on it), the indexes built again after by one sort each. Rows are
made in a second process meanwhile. The store is built under a temporary name and renamed
when complete, so an interrupted build is never mistaken for a finished one."""

from __future__ import annotations

import asyncio
import re
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from thirdbook.domain.records import lookup_key
from thirdbook.store import Store
from thirdbook.store.ingest_rows import INSERT_EVENT

BATCH = 20_000
START_US = 1_790_000_000_000_000
STEP_US = 10_000  # a hundred events a second
HOLDER = "bench-console"
LINE = (
    '{{"v":1,"kind":"inference","ts":"{ts}","request_id":"{r}","subject":"{s}",'
    '"model":{{"name":"credit-scorer","version":"v7","weights_hash":"sha256:ab12"}},'
    '"prompt":{{"text":"score {s}"}},"response":{{"decision":"decline"}}}}'
)
COLUMNS = re.findall(r"\w+", INSERT_EVENT.split("(", 1)[1].split(")", 1)[0])
"""The events columns in the order the store inserts them (read from its own statement)."""


def request_of(n: int) -> str:
    """Event n's request id (numbered from 0)."""
    return f"req-{n:09d}"


def stamp(us: int) -> str:
    secs, micros = divmod(us, 1_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{micros:06d}+00:00"


def rows(first: int, count: int, file_id: int) -> tuple[list[tuple[Any, ...]], int]:
    """Events first .. first + count - 1 as store rows (offsets from 0), and their bytes."""
    out: list[tuple[Any, ...]] = []
    offset = 0
    for n in range(first, first + count):
        ts_us = START_US + n * STEP_US
        request, subject = request_of(n), f"applicant-{n % 100_003}"
        raw = LINE.format(ts=stamp(ts_us), r=request, s=subject).encode()
        row = {
            "ts_us": ts_us,
            "kind": "inference",
            "request_id": request,
            "request_key": lookup_key(request),
            "subject": subject,
            "subject_key": lookup_key(subject),
            "model_name": "credit-scorer",
            "model_version": "v7",
            "weights_hash": "sha256:ab12",
            "route": None,
            "file_id": file_id,
            "byte_offset": offset,
            "line_index": 0,
            "ingested_us": ts_us,
            "raw": raw,
        }
        out.append(tuple(row[c] for c in COLUMNS))
        offset += len(raw) + 1
    return out, offset


async def _build(db: Path, total: int) -> None:
    store = await Store.open(db)
    try:
        assert await store.leases.try_acquire(HOLDER, user="bench", ttl_s=3600)
        tracked = await store.ingest.add_file(
            HOLDER, source="bench", path="/var/log/serving.jsonl", dev=0, ino=0, head_len=0,
            head_hash="",
        )  # fmt: skip
        await store.drop_event_indexes()
        at = COLUMNS.index("byte_offset")
        offset, began = 0, time.perf_counter()
        starts = list(range(0, total, BATCH))
        with ProcessPoolExecutor(1) as pool:
            ahead = [pool.submit(rows, s, min(BATCH, total - s), tracked.id) for s in starts[:3]]
            for i in range(len(starts)):
                events, length = ahead.pop(0).result()
                if i + 3 < len(starts):
                    s = starts[i + 3]
                    ahead.append(pool.submit(rows, s, min(BATCH, total - s), tracked.id))
                placed = [(*e[:at], e[at] + offset, *e[at + 1 :]) for e in events]
                await store.ingest.commit_batch(
                    HOLDER, file_id=tracked.id, events=placed, rejects=[], start=offset,
                    offset=offset + length, tail_hash="", head_len=0, head_hash="",
                    size_seen=offset + length, path=tracked.path,
                )  # fmt: skip
                offset += length
                if (i + 1) % 50 == 0 or i + 1 == len(starts):
                    done = min(total, (i + 1) * BATCH)
                    rate = done / (time.perf_counter() - began)
                    print(f"  {done:,} events, {rate:,.0f}/s", flush=True)
        print("  building the events indexes ...", flush=True)
        await store.build_event_indexes()
        await store.leases.release(HOLDER)
        await store.checkpoint("TRUNCATE")
    finally:
        await store.close()


def big_store(folder: Path, events: int) -> Path:
    """The store of `events` events under `folder` (built now unless it is there)."""
    done = folder / f"console-{events}" / "thirdbook.db"
    if done.exists():
        print(f"store: reusing {done}")
        return done
    building = folder / f"console-{events}.building"
    shutil.rmtree(building, ignore_errors=True)
    free = shutil.disk_usage(folder).free
    need = events * 700  # rows, indexes and the write-ahead log on the way, with room
    if free < need:
        raise SystemExit(
            f"{folder} has {free / 1e9:.1f} GB free; the store needs ~{need / 1e9:.0f}"
        )
    print(f"store: building {events:,} events in {done.parent} (once; kept for later runs)")
    began = time.perf_counter()
    asyncio.run(_build(building / "thirdbook.db", events))
    building.rename(done.parent)
    print(f"  built in {time.perf_counter() - began:.0f} s, {done.stat().st_size / 1e9:.1f} GB")
    return done
