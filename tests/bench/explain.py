"""Explain benchmark: explain by request id over a store of ten million events.

    .venv/bin/python tests/bench/explain.py [--events 10000000] [--dir DIR] [--lookups 1000]
                                             [--runs 10]

Builds the store once in DIR/SIZE (kept; reused when it is already there): mostly inference
decisions shaped like the demo's (system prompt, user prompt, retrieved policy, bureau tool
output, response, action), with some feedback, inquiry and metric events, inserted through
the store's own batch API (`commit_batch`, each batch in the event batch chain) with the
events indexes dropped and built again after, as a bulk ingest does; rows are made in a
second process meanwhile. Then prints, against the targets in issue 11:
1. `ExplainService.explain` by request id in this process, after one warm-up: p50, p95, p99
   and max over --lookups random existing request ids, and over a few unknown ones;
2. the whole `thirdbook explain REQUEST_ID --data-dir …` command in its own process, min,
   median, p95 and max of --runs runs (wall-clock and CPU), beside `python -c 'import
   thirdbook.cli'` alone (start-up), the services factory and the explain service alone (what
   start-up would cost without the other command groups, and without the other services),
   each run of these right after a run of the command, so that each share of it is a ratio
   paired run by run (min / median / max).
Defaults to /tmp/thirdbook-bench-explain; --events 100000 for a quick check.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.figures import paired, spread

from thirdbook.demo.credit import CURRENT_POLICY, POLICY_HASH, POLICY_ID, SYSTEM_PROMPT
from thirdbook.demo.estate import MODEL
from thirdbook.domain.records import lookup_key
from thirdbook.services.explain import UnknownDecisionError
from thirdbook.services.factory import build_services
from thirdbook.store import Store
from thirdbook.store.ingest_rows import EventTuple

BATCH = 20_000
START_US = 1_795_000_000_000_000  # late November 2026
STEP_US = 250_000  # four events a second
HOLDER = "bench-explain"
POLICY_DOC = (POLICY_ID, POLICY_HASH[CURRENT_POLICY])  # the policy the demo retrieves
VERSIONS = (("v6", "sha256:" + "6" * 64), ("v7", "sha256:" + "7" * 64))


def stamp(us: int) -> str:
    """An ISO 8601 UTC time with microseconds, as the demo writes them."""
    secs, micros = divmod(us, 1_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{micros:06d}+00:00"


def request_of(n: int) -> str:
    """Event n's request id (if it is a decision): random-looking, as real ones are."""
    return f"req-{n:08d}-{(n * 2654435761) & 0xFFFFFFFF:08x}"


def rows(first: int, count: int) -> tuple[list[EventTuple], int]:
    """Events `first` .. `first + count - 1` (numbered from 0) as store rows with byte
    offsets from 0, and the bytes their lines take. About 95 % inference, 3 % feedback on an
    earlier decision, 1.8 % metric windows, 0.2 % inquiries."""
    rng = random.Random(first)
    out: list[EventTuple] = []
    offset = 0
    ingested = START_US + (first + count) * STEP_US
    for n in range(first, first + count):
        ts_us = START_US + n * STEP_US
        ts = stamp(ts_us)
        roll = rng.random()
        request_id = subject = name = version = weights = route = None
        record: dict[str, object]
        if roll < 0.95:
            request_id = request_of(n)
            subject = f"applicant-{100000 + rng.randrange(900000)}"
            version, weights = VERSIONS[rng.random() < 0.5]
            name, route = MODEL, "model"
            approve = rng.random() < 0.7
            record = {
                "v": 1,
                "kind": "inference",
                "ts": ts,
                "request_id": request_id,
                "subject": subject,
                "route": route,
                "model": {"name": name, "version": version, "weights_hash": weights},
                "prompt": {
                    "template_id": "credit-decision",
                    "template_version": "12",
                    "system": SYSTEM_PROMPT,
                    "user": f"Applicant income {rng.randrange(18, 140) * 1000} GBP; requested "
                    f"{rng.randrange(1, 40) * 500} GBP over 36 months; existing credit lines "
                    f"{rng.randrange(0, 6)}.",
                    "retrieved": [{"id": POLICY_DOC[0], "content_hash": POLICY_DOC[1]}],
                    "tool_outputs": [
                        {
                            "tool": "bureau_lookup",
                            "output": f"score={rng.randrange(380, 820)} "
                            f"delinquencies={rng.randrange(0, 3)}",
                        }
                    ],
                },
                "response": {
                    "decision": "approve" if approve else "decline",
                    "score": round(
                        rng.uniform(0.55, 0.95) if approve else rng.uniform(0.05, 0.45), 3
                    ),
                    "text": "Approved: affordability within policy."
                    if approve
                    else "Declined: affordability below policy threshold.",
                },
                "action": {
                    "type": "letter",
                    "target": subject,
                    "detail": "offer" if approve else "adverse action notice",
                },
            }
        elif roll < 0.98 or roll >= 0.998:
            back = max(0, n - rng.randrange(1, 5000))
            request_id = request_of(back)  # an earlier decision (or another event)
            inquiry = roll >= 0.998
            record = {
                "v": 1,
                "kind": "inquiry" if inquiry else "feedback",
                "ts": ts,
                "request_id": request_id,
            }
            if inquiry:
                record |= {
                    "inquiry_id": f"INQ-{n:08d}",
                    "source": "regulator",
                    "question": "Why did your system decline this application?",
                }
            else:
                record |= {
                    "target": MODEL,
                    "category": "wrong_decline",
                    "reporter": "customer-support",
                    "text": "Applicant meets policy CR-7 affordability but was declined.",
                }
        else:
            version, weights = VERSIONS[rng.randrange(2)]
            name = MODEL
            record = {
                "v": 1,
                "kind": "metric",
                "ts": ts,
                "model": {"name": name, "version": version, "weights_hash": weights},
                "metric": "approval_rate",
                "value": round(rng.uniform(0.5, 0.8), 4),
                "window_start": stamp(ts_us - 60_000_000),
                "window_end": ts,
            }
        raw = json.dumps(record, separators=(",", ":")).encode()
        kind = str(record["kind"])
        out.append(
            (
                ts_us,
                kind,
                request_id,
                lookup_key(request_id),
                subject,
                lookup_key(subject),
                name,
                version,
                weights,
                route,
                0,
                offset,
                0,
                ingested,
                raw,
            )
        )
        offset += len(raw) + 1
    return out, offset


async def build(db: Path, total: int) -> None:
    """The store at `db`, `total` events committed batch by batch as bulk ingest does."""
    db.parent.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    store = await Store.open(db)
    assert await store.leases.try_acquire(HOLDER, user="bench", ttl_s=3600)
    tracked = await store.ingest.add_file(
        HOLDER, source="bench", path=str(db.parent / "serving.jsonl"), dev=0, ino=0,
        head_len=0, head_hash="",
    )  # fmt: skip
    await store.drop_event_indexes()
    offset = 0
    with ProcessPoolExecutor(1) as pool:
        starts = list(range(0, total, BATCH))
        ahead = [pool.submit(rows, s, min(BATCH, total - s)) for s in starts[:3]]
        for i in range(len(starts)):
            events, length = ahead.pop(0).result()
            if i + 3 < len(starts):
                s = starts[i + 3]
                ahead.append(pool.submit(rows, s, min(BATCH, total - s)))
            placed = [(*e[:10], tracked.id, e[11] + offset, *e[12:]) for e in events]
            await store.ingest.commit_batch(
                HOLDER, file_id=tracked.id, events=placed, rejects=[], start=offset,
                offset=offset + length, tail_hash="", head_len=0, head_hash="",
                size_seen=offset + length, path=tracked.path,
            )  # fmt: skip
            offset += length
            if (i + 1) % 25 == 0:
                done = (i + 1) * BATCH
                rate = done / (time.perf_counter() - began)
                print(f"  {done:,} events, {rate:,.0f}/s", flush=True)
    inserted = time.perf_counter() - began
    built = await store.build_event_indexes()
    await store.leases.release(HOLDER)
    await store.checkpoint("TRUNCATE")
    await store.close()
    elapsed = time.perf_counter() - began
    print(
        f"build       {total:,} events ({offset / 1e9:.1f} GB of lines) in {elapsed:.0f} s: "
        f"inserted in {inserted:.0f} s ({total / inserted:,.0f}/s), indexes "
        f"{', '.join(built)} in {elapsed - inserted:.0f} s"
    )


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def in_process(db: Path, lookups: int) -> tuple[list[float], list[float], list[str]]:
    """Milliseconds per explain of `lookups` random existing request ids and of a few unknown
    ones, after one warm-up; and the ids asked for."""
    store = await Store.open(db, access="read")
    svc = build_services(store)
    top = await store.events.count()
    if top == 0:
        await svc.close()
        raise SystemExit(f"{db} holds no events: remove it and run again to build it")
    rng = random.Random(7)
    ids: list[str] = []
    for _ in range(lookups * 20):  # 95 % of the events are decisions: far more than enough
        if len(ids) == lookups:
            break
        row = await store.fetchone(
            "SELECT request_id FROM events WHERE id = ? AND kind = 'inference'",
            (rng.randrange(1, top + 1),),
        )
        if row is not None:
            ids.append(str(row[0]))
    if not ids:
        await svc.close()
        raise SystemExit(f"{db} holds no inference events to explain")
    await svc.explain.explain(request_id=ids[-1])  # the warm-up
    known = []
    for request_id in ids:
        began = time.perf_counter()
        found = await svc.explain.explain(request_id=request_id)
        known.append((time.perf_counter() - began) * 1000)
        assert found.prompt is not None, request_id
    unknown = []
    for n in range(20):
        began = time.perf_counter()
        try:
            await svc.explain.explain(request_id=f"req-nope-{n}")
        except UnknownDecisionError:
            unknown.append((time.perf_counter() - began) * 1000)
        else:
            raise SystemExit(f"req-nope-{n} was found")
    await svc.close()
    return known, unknown, ids


def timed(args: list[str]) -> tuple[float, float]:
    """Milliseconds of wall-clock and of CPU (user + system) for one command in its own
    process (it must succeed). On a shared machine the CPU time is the steadier figure."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True, env={**os.environ, "NO_COLOR": "1"})
    wall = (time.perf_counter() - began) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/thirdbook-bench-explain"))
    parser.add_argument("--lookups", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    if args.events < 1 or args.lookups < 1 or args.runs < 1:
        parser.error("--events, --lookups and --runs must each be at least 1")
    data = args.dir / str(args.events) / "data"
    db = data / "thirdbook.db"
    if db.exists():
        print(f"store       reused {db}")
    else:
        asyncio.run(build(db, args.events))
    print(f"store       {db.stat().st_size / 1e9:.1f} GB, {args.events:,} events")
    known, unknown, ids = asyncio.run(in_process(db, args.lookups))
    command = [sys.executable, "-m", "thirdbook.cli", "explain"]
    timed([*command, ids[0], "--data-dir", str(data)])  # warm the page cache
    names = ("thirdbook.cli", "thirdbook.services.factory", "thirdbook.services.explain")
    whole: list[tuple[float, float]] = []
    imports: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
    for run in range(args.runs):  # each import right after its command: paired run by run
        whole.append(timed([*command, ids[(run + 1) % len(ids)], "--data-dir", str(data)]))
        for name in names:
            imports[name].append(timed([sys.executable, "-c", f"import {name}"]))
    print(f"load        {os.getloadavg()[0]:.1f} (1-minute average) on {os.cpu_count()} CPUs")
    print(f"\n{'measure':40} {'p50':>8} {'p95':>8} {'p99':>8} {'max':>8}  target")
    for label, values, target in (
        (f"explain in process ({len(known):,} ids), ms", known, "p99 < 50 ms"),
        (f"explain unknown id ({len(unknown)} ids), ms", unknown, ""),
    ):
        figures = " ".join(f"{pct(values, q):8.1f}" for q in (0.5, 0.95, 0.99))
        print(f"{label:40} {figures} {max(values):8.1f}  {target}")
    print(
        f"\n{'in its own process, ms':40} {'min':>8} {'median':>8} {'p95':>8} {'max':>8} "
        f"{'cpu med':>8}  target"
    )
    for label, runs, target in (
        (f"`thirdbook explain` command ({len(whole)} runs)", whole, "< 400 ms"),
        *((f"`import {name}` alone", runs, "") for name, runs in imports.items()),
    ):
        wall, cpu = [r[0] for r in runs], [r[1] for r in runs]
        figures = (
            f"{min(wall):8.0f} {statistics.median(wall):8.0f} {pct(wall, 0.95):8.0f} "
            f"{max(wall):8.0f} {statistics.median(cpu):8.0f}"
        )
        print(f"{label:40} {figures}  {target}")
    print("\nshare of the command's wall-clock, paired run by run:")
    for name, runs in imports.items():
        shares = paired([r[0] for r in runs], [w[0] for w in whole])
        print(f"  `import {name}`: {spread(shares, '.2f')}")


if __name__ == "__main__":
    main()
