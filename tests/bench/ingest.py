"""Ingest benchmark: thirdbook's end-to-end ingest against the raw SQLite limit.

    .venv/bin/python tests/bench/ingest.py [--lines 1000000] [--dir DIR]

Prints, from one run on one generated file of realistic inference records (~700 bytes each):
1. the raw SQLite limit: stdlib `executemany`, batches of 10,000 pre-parsed tuples, the same
   columns, no index, the same pragmas (WAL, synchronous=NORMAL);
2. thirdbook's end-to-end ingest of the same file into a fresh store, ending with all its
   indexes built (read, validate every line against the v1 models, insert, move the
   checkpoint in the same transaction; a backlog this large is bulk-loaded);
3. the ratio (target: at least 0.5);
4. a cold start on that file: `thirdbook ingest --once` then `thirdbook events --request-id`
   for one request, as separate processes, beside lnav's load-and-search of the same file
   when lnav is installed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

from thirdbook.config import IngestConfig, SourceConfig
from thirdbook.domain.records import to_us
from thirdbook.ingest.ingester import Ingester
from thirdbook.store import Store

RAW_BATCH = 10_000


def generate(path: Path, lines: int, seed: int = 1) -> int:
    """Write `lines` realistic inference records; returns the file's size."""
    rng = random.Random(seed)
    weights = "sha256:" + "5e" * 32
    words = (
        "income",
        "requested",
        "months",
        "existing",
        "lines",
        "bureau",
        "score",
        "policy",
        "affordability",
        "threshold",
        "declined",
        "approved",
    )
    with path.open("wb") as out:
        chunk = []
        for n in range(lines):
            subject = f"applicant-{rng.randrange(1_000_000):06d}"
            record = {
                "v": 1,
                "kind": "inference",
                "ts": f"2026-11-27T{(n // 3600) % 24:02d}:{(n // 60) % 60:02d}:"
                f"{n % 60:02d}.{rng.randrange(1_000_000):06d}+00:00",
                "request_id": f"{rng.getrandbits(128):032x}",
                "subject": subject,
                "route": "model",
                "model": {
                    "name": "credit-scorer",
                    "version": rng.choice(("v6", "v7")),
                    "weights_hash": weights,
                },
                "prompt": {
                    "template_id": "credit-decision",
                    "template_version": "12",
                    "system": "Assess credit applications under policy CR-7.",
                    "user": " ".join(rng.choice(words) for _ in range(6)),
                    "retrieved": [{"id": "policy-cr7", "content_hash": "sha256:d5c0ffee"}],
                    "tool_outputs": [
                        {"tool": "bureau_lookup", "output": f"score={rng.randrange(380, 820)}"}
                    ],
                },
                "response": {
                    "decision": rng.choice(("approve", "decline")),
                    "score": round(rng.random(), 3),
                    "text": "Affordability checked against policy.",
                },
                "action": {"type": "letter"},
                "latency_ms": round(rng.uniform(40, 160), 1),
            }
            chunk.append(orjson.dumps(record) + b"\n")
            if len(chunk) == 10_000:
                out.write(b"".join(chunk))
                chunk = []
        out.write(b"".join(chunk))
    return path.stat().st_size


def preparse(path: Path) -> list[tuple[object, ...]]:
    """The file as insert-ready tuples (not timed: the raw limit has no parsing in it)."""
    rows: list[tuple[object, ...]] = []
    offset = 0
    now = time.time_ns() // 1000
    from datetime import datetime

    with path.open("rb") as handle:
        for line in handle:
            record = orjson.loads(line)
            model = record["model"]
            rows.append(
                (
                    to_us(datetime.fromisoformat(record["ts"])),
                    "inference",
                    record["request_id"],
                    record["subject"],
                    model["name"],
                    model["version"],
                    model["weights_hash"],
                    record["route"],
                    1,
                    offset,
                    now,
                    line[:-1],
                )
            )
            offset += len(line)
    return rows


def raw_limit(rows: list[tuple[object, ...]], db: Path) -> float:
    """Rows per second for bare executemany into an unindexed table."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute(
        "CREATE TABLE events (id INTEGER PRIMARY KEY, ts_us INTEGER, kind TEXT, "
        "request_id TEXT, subject TEXT, model_name TEXT, model_version TEXT, "
        "weights_hash TEXT, route TEXT, file_id INTEGER, byte_offset INTEGER, "
        "ingested_us INTEGER, raw BLOB)"
    )
    sql = (
        "INSERT INTO events (ts_us, kind, request_id, subject, model_name, model_version, "
        "weights_hash, route, file_id, byte_offset, ingested_us, raw) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    began = time.perf_counter()
    for start in range(0, len(rows), RAW_BATCH):
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(sql, rows[start : start + RAW_BATCH])
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - began
    conn.close()
    return len(rows) / elapsed


async def thirdbook_ingest(path: Path, db: Path) -> tuple[float, int]:
    """Rows per second for thirdbook's own ingest into a fresh store."""
    store = await Store.open(db, cache_mb=64)
    ingester = Ingester(store, [SourceConfig(name="bench", paths=[str(path)])], IngestConfig())
    began = time.perf_counter()
    await ingester.run(asyncio.Event(), once=True)
    elapsed = time.perf_counter() - began
    await ingester.release()
    count = await store.events.count()
    await store.close()
    return count / elapsed, count


def cold_start(path: Path, work: Path, request_id: str) -> tuple[float, str]:
    """Seconds from nothing to the answer for one request id, as a user would run it."""
    data = work / "cold"
    shutil.rmtree(data, ignore_errors=True)
    thirdbook = [sys.executable, "-m", "thirdbook.cli", "--data-dir", str(data)]
    began = time.perf_counter()
    subprocess.run([*thirdbook, "ingest", "--once", str(path)], check=True, capture_output=True)
    found = subprocess.run(
        [*thirdbook, "events", "--request-id", request_id, "--json"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return time.perf_counter() - began, found


LNAV_FORMAT = {
    "$schema": "https://lnav.org/schemas/format-v1.schema.json",
    "thirdbook_bench": {
        "title": "thirdbook events",
        "description": "thirdbook v1 JSON lines",
        "json": True,
        "file-pattern": r".*\.jsonl$",
        "timestamp-field": "ts",
        "level-field": "kind",
        "body-field": "request_id",
        "value": {
            "kind": {"kind": "string", "identifier": True},
            "request_id": {"kind": "string", "identifier": True},
        },
    },
}


def lnav_search(path: Path, work: Path, request_id: str) -> float | None:
    """Seconds for lnav to load the file and filter to one request id, if lnav is here."""
    lnav = shutil.which("lnav")
    if lnav is None:
        return None
    home = work / "lnav-home"
    formats = home / ".lnav" / "formats" / "installed"
    formats.mkdir(parents=True, exist_ok=True)
    (formats / "thirdbook_bench.json").write_text(json.dumps(LNAV_FORMAT))
    began = time.perf_counter()
    subprocess.run(
        [lnav, "-n", "-c", f":filter-in {request_id}", str(path)],
        check=True,
        capture_output=True,
        env={"HOME": str(home), "PATH": "/usr/bin"},
    )
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--dir", type=Path, default=None, help="work directory (default: temp)")
    args = parser.parse_args()
    work = args.dir or Path(tempfile.mkdtemp(prefix="thirdbook-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    log = work / "inference.jsonl"
    began = time.perf_counter()
    size = generate(log, args.lines)
    print(
        f"file        {args.lines:,} lines, {size / 1e6:,.0f} MB "
        f"({size / args.lines:.0f} bytes/line), generated in {time.perf_counter() - began:.1f} s"
    )
    rows = preparse(log)
    for name in ("raw.db", "thirdbook.db"):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{work / name}{suffix}").unlink(missing_ok=True)
    raw = raw_limit(rows, work / "raw.db")
    request_id = str(rows[len(rows) * 2 // 3][2])
    del rows
    print(
        f"raw limit   {raw:,.0f} rows/s  (sqlite3 executemany, batches of {RAW_BATCH:,}, "
        "pre-parsed tuples, no index)"
    )
    ours, count = asyncio.run(thirdbook_ingest(log, work / "thirdbook.db"))
    assert count == args.lines, f"stored {count} of {args.lines}"
    print(
        f"thirdbook   {ours:,.0f} rows/s  (end to end: read, validate every line, insert, "
        "all 4 indexes built, checkpoint per batch)"
    )
    print(f"ratio       {ours / raw:.2f}  (target >= 0.50)")
    seconds, found = cold_start(log, work, request_id)
    assert request_id in found, "the cold-start search did not find the request"
    print(f"cold start  {seconds:.1f} s  (thirdbook ingest --once, then events --request-id)")
    lnav = lnav_search(log, work, request_id)
    if lnav is None:
        print("lnav        not installed (apt-get install lnav) — no comparison")
    else:
        print(f"lnav        {lnav:.1f} s  (load and :filter-in the same request id)")
    if args.dir is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
