"""Ingest benchmark: thirdbook's end-to-end ingest against the raw SQLite limit, paired.

    .venv/bin/python tests/bench/ingest.py [--lines 1000000] [--rounds 3]
                                           [--shapes bench,readme,otlp] [--no-cold] [--dir DIR]

For each shape of line (tests/bench/ingest_lines.py: "bench", the benchmark's realistic
inference records of ~750 bytes; "readme", the README's own inference example; "otlp", the
bench's inferences as OpenTelemetry GenAI spans, eight inferences (24 spans) an OTLP JSON
line, source format "otlp-json", --lines events in all), one file is generated and then, in
each of --rounds paired rounds (the order alternating, so a drift in the machine's load
falls on both sides alike):
1. the raw SQLite limit: stdlib `executemany`, batches of 10,000 pre-parsed tuples (one per
   event, with the raw bytes ingest stores for it), the same columns, no index, the same
   pragmas (WAL, synchronous=NORMAL), SQLite's default page size;
2. thirdbook's end-to-end ingest of the same file into a fresh store, ending with all its
   indexes built (read, validate every line, insert, move the checkpoint in the same
   transaction; a backlog this large is bulk-loaded), in a process of its own as
   `thirdbook ingest` runs (timed from the ingester's start to its end);
3. their ratio in that round, in events per second (target: at least 0.5).
It prints min / median / max over the rounds of each figure and of the per-round ratio, and
the store's bytes per event beside the log's. Then, for the first thirdbook shape and for
OTLP, a cold start on that file: `thirdbook ingest --once` then `thirdbook events
--request-id` for one request, as separate processes, beside lnav's load-and-search of the
same file when lnav is installed (OTLP lines searched by lnav as text).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ingest_lines import OTLP_FORMAT, SOURCES, write_lines

from thirdbook.config import IngestConfig, SourceConfig
from thirdbook.domain.events import model_of
from thirdbook.domain.formats import format_named, known_formats
from thirdbook.domain.line_format import LineReject
from thirdbook.domain.records import to_us
from thirdbook.ingest.ingester import Ingester
from thirdbook.store import Store

RAW_BATCH = 10_000


def preparse(path: Path, line_format: str) -> list[tuple[object, ...]]:
    """The file's events as insert-ready tuples, read by the source's format (not timed: the
    raw limit has no parsing in it). Each is stored with its own raw bytes, as ingest does:
    the line itself for a thirdbook line, its thirdbook JSON for an OTLP span."""
    rows: list[tuple[object, ...]] = []
    offset = 0
    now = time.time_ns() // 1000
    parse = format_named(line_format).parse_line
    with path.open("rb") as handle:
        for line in handle:
            found = parse(line[:-1])
            assert not isinstance(found, LineReject), found.reason
            for event, raw in found:
                name, version, weights = model_of(event)
                rows.append(
                    (
                        to_us(event.ts),
                        event.kind,
                        getattr(event, "request_id", None),
                        getattr(event, "subject", None),
                        name,
                        version,
                        weights,
                        getattr(event, "route", None),
                        1,
                        offset,
                        now,
                        line[:-1] if raw is None else raw,
                    )
                )
            offset += len(line)
    return rows


def fresh(db: Path) -> Path:
    """`db` with no database, WAL or shared-memory file left from an earlier round."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    return db


def raw_limit(rows: list[tuple[object, ...]], db: Path) -> float:
    """Rows per second for bare executemany into an unindexed table."""
    conn = sqlite3.connect(fresh(db), isolation_level=None)
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


async def thirdbook_ingest(path: Path, db: Path, line_format: str) -> tuple[float, int, int]:
    """(rows per second, events stored, store bytes) for thirdbook's own ingest into a
    fresh store."""
    store = await Store.open(fresh(db), cache_mb=64)
    source = SourceConfig(name="bench", paths=[str(path)], format=line_format)
    ingester = Ingester(store, [source], IngestConfig())
    began = time.perf_counter()
    await ingester.run(asyncio.Event(), once=True)
    elapsed = time.perf_counter() - began
    await ingester.release()
    count = await store.events.count()
    await store.close()
    size = sum(Path(f"{db}{s}").stat().st_size for s in ("", "-wal") if Path(f"{db}{s}").exists())
    return count / elapsed, count, size


def ingest_in_own_process(path: Path, db: Path, line_format: str) -> tuple[float, int, int]:
    """`thirdbook_ingest` in a process of its own, as `thirdbook ingest` runs: not beside the
    raw limit's pre-parsed rows (a gigabyte of tuples whose garbage collections and memory
    would be charged to thirdbook)."""
    done = subprocess.run(
        [sys.executable, __file__, "--one-ingest", str(path), str(db), line_format],
        check=True,
        capture_output=True,
        text=True,
    )
    rate, stored, size = done.stdout.split()
    return float(rate), int(stored), int(size)


def spread(values: list[float], digits: int = 0) -> str:
    """min / median / max."""
    return " / ".join(
        f"{v:,.{digits}f}" for v in (min(values), statistics.median(values), max(values))
    )


def bench_shape(shape: str, lines: int, rounds: int, work: Path) -> tuple[Path, str]:
    """Generate one shape's file and run the paired rounds on it; returns the file and one
    request id in it (two thirds of the way through)."""
    line_format = OTLP_FORMAT if shape == "otlp" else "thirdbook"
    log = work / f"{shape}.jsonl"
    began = time.perf_counter()
    lines_written, size = write_lines(log, SOURCES[shape](lines))
    rows = preparse(log, line_format)
    count = len(rows)
    print(
        f"[{shape}] file {lines_written:,} lines, {count:,} events, {size / 1e6:,.0f} MB "
        f"({size / count:.0f} bytes/event), format {line_format!r}, "
        f"made in {time.perf_counter() - began:.1f} s"
    )
    request_id = str(rows[len(rows) * 2 // 3][2])
    raws: list[float] = []
    ours: list[float] = []
    ratios: list[float] = []
    sizes: list[float] = []
    for n in range(rounds):
        raw_first = n % 2 == 0
        if raw_first:
            raw = raw_limit(rows, work / "raw.db")
        rate, stored, store_bytes = ingest_in_own_process(log, work / "thirdbook.db", line_format)
        if not raw_first:
            raw = raw_limit(rows, work / "raw.db")
        assert stored == count, f"stored {stored} of {count}"
        raws.append(raw)
        ours.append(rate)
        ratios.append(rate / raw)
        sizes.append(store_bytes / stored)
        print(
            f"[{shape}] round {n + 1}: raw {raw:,.0f} rows/s, thirdbook {rate:,.0f} rows/s, "
            f"ratio {rate / raw:.2f} ({'raw' if raw_first else 'thirdbook'} first)"
        )
    del rows
    print(f"[{shape}] min / median / max of {rounds} paired rounds:")
    print(
        f"[{shape}]   raw limit  {spread(raws)} rows/s  (sqlite3 executemany, batches of "
        f"{RAW_BATCH:,}, pre-parsed tuples, no index)"
    )
    print(
        f"[{shape}]   thirdbook  {spread(ours)} rows/s  (end to end: read, validate every "
        "line, insert, all indexes built, checkpoint per batch)"
    )
    print(f"[{shape}]   ratio      {spread(ratios, 2)}  (per round; target >= 0.50)")
    print(
        f"[{shape}]   store      {spread(sizes)} bytes/event, beside the log's "
        f"{size / count:.0f} bytes/event ({statistics.median(sizes) / (size / count):.2f}x)"
    )
    return log, request_id


def cold_start(path: Path, work: Path, request_id: str, line_format: str) -> tuple[float, str]:
    """Seconds from nothing to the answer for one request id, as a user would run it."""
    data = work / "cold"
    shutil.rmtree(data, ignore_errors=True)
    thirdbook = [sys.executable, "-m", "thirdbook.cli", "--data-dir", str(data)]
    began = time.perf_counter()
    subprocess.run(
        [*thirdbook, "ingest", "--once", "--format", line_format, str(path)],
        check=True,
        capture_output=True,
    )
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
        "file-pattern": r".*/(bench|readme)\.jsonl$",  # OTLP lines are searched as text
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
    shown = subprocess.run(
        [lnav, "-n", "-c", f":filter-in {request_id}", str(path)],
        check=True,
        capture_output=True,
        env={"HOME": str(home), "PATH": "/usr/bin"},
    ).stdout
    seconds = time.perf_counter() - began
    assert request_id.encode() in shown, "lnav's search did not show the request"
    return seconds


def main() -> None:
    if sys.argv[1:2] == ["--one-ingest"]:  # the child of `ingest_in_own_process`
        path, db, line_format = sys.argv[2:5]
        rate, stored, size = asyncio.run(thirdbook_ingest(Path(path), Path(db), line_format))
        print(rate, stored, size)
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3, help="paired rounds per shape")
    parser.add_argument(
        "--shapes", default="bench,readme,otlp", help="comma-separated: bench, readme, otlp"
    )
    parser.add_argument("--no-cold", action="store_true", help="skip the cold start and lnav")
    parser.add_argument("--dir", type=Path, default=None, help="work directory (default: temp)")
    args = parser.parse_args()
    work = args.dir or Path(tempfile.mkdtemp(prefix="thirdbook-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    cold: dict[str, tuple[Path, str]] = {}  # the first thirdbook shape, and OTLP
    for shape in args.shapes.split(","):
        if shape == "otlp" and OTLP_FORMAT not in known_formats():
            print(f"[otlp] skipped: the {OTLP_FORMAT!r} format is not in this build yet")
            continue
        found = bench_shape(shape, args.lines, args.rounds, work)
        cold.setdefault(OTLP_FORMAT if shape == "otlp" else "thirdbook", found)
    for line_format, (log, request_id) in ({} if args.no_cold else cold).items():
        seconds, found_text = cold_start(log, work, request_id, line_format)
        assert request_id in found_text, "the cold-start search did not find the request"
        print(
            f"[{line_format}] cold start  {seconds:.1f} s  "
            "(thirdbook ingest --once, then events --request-id)"
        )
        lnav = lnav_search(log, work, request_id)
        if lnav is None:
            print(
                f"[{line_format}] lnav        not installed (apt-get install lnav): no comparison"
            )
        else:
            print(
                f"[{line_format}] lnav        {lnav:.1f} s  (load and :filter-in the same id), "
                f"ratio {seconds / lnav:.2f}"
            )
    if args.dir is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
