"""Verify benchmark: `thirdbook verify` on a store of about a million events.

    .venv/bin/python tests/bench/verify.py [--lines 1000000] [--dir DIR] [--runs 5]

Builds the store once in DIR (kept; reused when it is already there) through the real ingest
path: the ingest benchmark's generated file of realistic inference records (~750 bytes each,
one line in a hundred a reject), read by the Ingester, every batch recorded in the event batch
chain by `commit_batch`. Then, --runs times with a warm page cache, measures side by side
1. `thirdbook verify` as a user runs it (a separate process): seconds, events/s, MB/s of raw
   bytes re-hashed, and its peak RSS (bounded: rows are read a page at a time);
2. the event batch chain's part alone (`verify_events`, in this process);
3. the floor for the same bytes: `SELECT raw FROM events` read through in this process,
   and read again with a SHA-256 of each;
and prints each run, then min / median / max of each figure and of the ratios verify / floor
and chain / floor, paired run by run.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ingest_lines import generate  # beside this file

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.figures import paired, spread

from thirdbook.config import IngestConfig, SourceConfig
from thirdbook.evidence.event_chain import verify_events
from thirdbook.ingest.ingester import Ingester
from thirdbook.store import Store


async def build(folder: Path, lines: int) -> Path:
    """The store in `folder`, built through ingest unless it is there already."""
    db = folder / "data" / "thirdbook.db"
    if db.exists():
        return db
    log = folder / "serving.jsonl"
    began = time.perf_counter()
    generate(log, lines)
    with log.open("ab") as f:  # some rejects too, so the chain covers both tables
        f.write(b"".join(b"not json %d\n" % n for n in range(lines // 100)))
    print(
        f"file        {lines:,} lines + {lines // 100:,} rejects, generated in "
        f"{time.perf_counter() - began:.1f} s"
    )
    store = await Store.open(db)
    ingester = Ingester(store, [SourceConfig(name="bench", paths=[str(log)])], IngestConfig())
    began = time.perf_counter()
    await ingester.run(asyncio.Event(), once=True)
    elapsed = time.perf_counter() - began
    await ingester.release()
    await store.close()
    log.unlink()
    print(f"ingest      {lines / elapsed:,.0f} rows/s (through the Ingester and commit_batch)")
    return db


def cli_verify(db: Path) -> tuple[float, int, str]:
    """Seconds, peak RSS (KiB) and the ok line of `thirdbook verify` in its own process."""
    peak = (
        "import resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "done = subprocess.run([sys.executable, '-m', 'thirdbook.cli', '--data-dir', "
        "sys.argv[1], 'verify'], capture_output=True, text=True, check=True)\n"
        "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
        "print(done.stdout.strip())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", peak, str(db.parent)], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    seconds, kib = out[0].split()
    return float(seconds), int(kib), out[1]


async def events_only(db: Path) -> tuple[float, int, int]:
    store = await Store.open(db)
    began = time.perf_counter()
    check = await verify_events(store)
    elapsed = time.perf_counter() - began
    await store.close()
    assert not check.problems, check.problems
    return elapsed, check.events + check.rejects, check.batches - 1


def floor(db: Path) -> tuple[float, float, int]:
    """Seconds to read every raw event in one pass, and to read and SHA-256 each of them."""
    conn = sqlite3.connect(db)
    size, began = 0, time.perf_counter()
    for (raw,) in conn.execute("SELECT raw FROM events ORDER BY id"):
        size += len(raw)
    read, began = time.perf_counter() - began, time.perf_counter()
    for (raw,) in conn.execute("SELECT raw FROM events ORDER BY id"):
        hashlib.sha256(raw).digest()
    conn.close()
    return read, time.perf_counter() - began, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--dir", type=Path, default=None, help="where the store is kept")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if args.lines < 1 or args.runs < 1:
        parser.error("--lines and --runs must each be at least 1")
    folder = args.dir or Path(tempfile.gettempdir()) / f"thirdbook-bench-verify-{args.lines}"
    folder.mkdir(parents=True, exist_ok=True)
    db = asyncio.run(build(folder, args.lines))
    print(f"store       {db.stat().st_size / 1e6:,.0f} MB at {db}")
    cli: list[tuple[float, int, str]] = []
    chain: list[float] = []
    reads: list[float] = []
    hashes: list[float] = []
    rows = batches = size = 0
    for run in range(args.runs):  # the three side by side in each run
        cli.append(cli_verify(db))
        seconds, rows, batches = asyncio.run(events_only(db))
        chain.append(seconds)
        read, hashed, size = floor(db)
        reads.append(read)
        hashes.append(hashed)
        print(
            f"run {run + 1}: verify {cli[-1][0]:.1f} s, chain {chain[-1]:.1f} s, floor read "
            f"{read:.1f} s, read + SHA-256 {hashed:.1f} s",
            flush=True,
        )
    if rows == 0:
        raise SystemExit(f"{db} holds no events or rejects: remove it to build it again")
    seconds = [c[0] for c in cli]
    print(
        f"verify      {spread(seconds, '.1f', 's')} (thirdbook verify, its own process); "
        f"{spread([rows / s for s in seconds], ',.0f', 'rows/s')}, "
        f"{spread([size / s / 1e6 for s in seconds], ',.0f', 'MB/s of raw bytes')}, peak RSS "
        f"{max(c[1] for c in cli) / 1024:.0f} MiB"
    )
    print(f"            {cli[0][2]}")
    print(
        f"events      {spread(chain, '.1f', 's')} for {rows:,} rows in {batches:,} batches "
        "(the batch chain's part alone)"
    )
    print(
        f"floor       {spread(reads, '.1f', 's')} to read every raw event ({size / 1e6:,.0f} "
        f"MB); {spread(hashes, '.1f', 's')} to read and SHA-256 each (sqlite3, one query, "
        "no paging)"
    )
    print(f"ratio       verify / floor (read + SHA-256), paired: {spread(paired(seconds, hashes))}")
    print(f"            chain / floor (read + SHA-256), paired: {spread(paired(chain, hashes))}")


if __name__ == "__main__":
    main()
