"""Snapshot benchmark: an incident window of 1 GiB (logs and events) against the floor.

    .venv/bin/python tests/bench/snapshot.py [--log-mib 512] [--dir DIR] [--runs 5]

The window holds LOG_MIB of log lines (about 1 KiB each, in two files) whose events are in
the store: a snapshot keeps both, the log segments and the events as JSON lines, so it
writes about twice LOG_MIB (1 GiB by default). The store is built once in DIR and kept.

Each run, with a warm page cache, times the snapshot and then its floor on the very bytes it
kept, so the two are measured side by side and their ratio is paired run by run (never a
median over a median of other runs). Prints each run, then min / median / max of:
1. the snapshot (`ContainmentService.snapshot`, as `s` and `thirdbook snapshot` run it): seconds
   and MiB/s;
2. the floor for the same bytes: `cp` of them into the evidence file system, then
   `openssl dgst -sha256` of them;
3. the ratio, snapshot over floor, of each run (target: at most 1.5).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.figures import paired, spread

from thirdbook.config import ContainmentConfig, Settings, SourceConfig
from thirdbook.domain.alerts import Firing
from thirdbook.services.factory import Context, build_services, open_services
from thirdbook.store import Store

LINE = (
    '{{"v":1,"kind":"inference","ts":"2026-11-27T{h:02d}:{m:02d}:{s:02d}.{us:06d}+00:00",'
    '"request_id":"req-{n:09d}","subject":"applicant-{a}","route":"model",'
    '"model":{{"name":"credit-scorer","version":"v7","weights_hash":"sha256:{w}"}},'
    '"prompt":{{"template_id":"credit-decision","template_version":"12","system":"You assess '
    'consumer credit applications under lending policy CR-7.","user":"Applicant income {i} '
    'GBP; requested {r} GBP over 36 months; existing credit lines 4.{pad}"}},'
    '"response":{{"decision":"decline","score":0.{n:06d},"text":"Declined: affordability."}},'
    '"latency_ms":65.8}}\n'
)
WEIGHTS = "878f637502ff7783a2ebda2c683504a7e9a973a177fcc76d308b2e6ef411c416"


def write_logs(folder: Path, mib: int) -> list[Path]:
    """Two log files of about mib/2 MiB each, lines of about 1 KiB."""
    folder.mkdir(parents=True, exist_ok=True)
    files = [folder / "serving-a.jsonl", folder / "serving-b.jsonl"]
    per_file, n = mib * 1024 * 1024 // 2, 0
    for path in files:
        with path.open("w") as out:
            written = 0
            while written < per_file:
                chunk = []
                for _ in range(1000):
                    n += 1
                    seconds = n // 100
                    chunk.append(
                        LINE.format(
                            h=seconds // 3600 % 24,
                            m=seconds // 60 % 60,
                            s=seconds % 60,
                            us=n % 1_000_000,
                            n=n,
                            a=n % 99991,
                            w=WEIGHTS,
                            i=20000 + n % 90000,
                            r=1000 + n % 9000,
                            pad=" " * 560,
                        )
                    )
                data = "".join(chunk)
                out.write(data)
                written += len(data)
    return files


async def build(folder: Path, mib: int) -> tuple[Path, list[Path]]:
    """The logs and a store holding their events (kept in `folder` for later runs)."""
    store_path = folder / "data" / "thirdbook.db"
    logs = sorted((folder / "logs").glob("*.jsonl"))
    if store_path.exists() and logs:
        return store_path, logs
    shutil.rmtree(folder, ignore_errors=True)
    print(f"building: {mib} MiB of logs and their store in {folder} (once)", flush=True)
    logs = write_logs(folder / "logs", mib)
    sources = [SourceConfig(name="bench", paths=[str(folder / "logs" / "*.jsonl")])]
    console = await open_services(Context.for_store(store_path), ingest=True, sources=sources)
    try:
        await console.ingest.run(asyncio.Event(), once=True)
        print(f"  {(await console.health.read()).events_total:,} events stored", flush=True)
    finally:
        await console.close()
    return store_path, logs


async def incident(store_path: Path) -> int:
    store = await Store.open(store_path)
    try:
        existing = await store.incidents.newest(limit=1)  # from an earlier run
        if existing:
            return existing[0].id
        alert = await store.alerts.record(
            Firing(
                rule="acc",
                kind="drift",
                key="credit-scorer v7",
                event_ids=(1,),
                at=datetime(2026, 11, 27, 23, 0, tzinfo=UTC),
                summary="bench drift",
            )
        )
        console = build_services(store)
        found = await console.triage.declare(
            [alert.id], title="bench", severity="SEV2", blast_radius="medium"
        )
        return found.id
    finally:
        await store.close()


async def snapshot_once(store_path: Path, incident_id: int) -> tuple[float, list[Path]]:
    """Seconds for one snapshot into an empty evidence store; the objects it wrote."""
    shutil.rmtree(store_path.parent / "evidence", ignore_errors=True)
    paths = ContainmentConfig(window_before_s=10**9)
    console = await open_services(Context.for_store(store_path, Settings(containment=paths)))
    try:
        started = time.perf_counter()
        record = await console.containment.snapshot(incident_id)
        elapsed = time.perf_counter() - started
        items = (record.manifest or {}).get("items", [])
        big = [
            console.objects.path_of(i["sha256"])
            for i in items
            if i.get("kind") in {"events", "logs"}
        ]
        return elapsed, big
    finally:
        await console.close()


def floor_once(files: list[Path], scratch: Path) -> float:
    """Seconds to `cp` the files into `scratch` and `openssl dgst -sha256` them."""
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    started = time.perf_counter()
    for n, path in enumerate(files):
        subprocess.run(["cp", str(path), str(scratch / f"{n}.bin")], check=True)
    subprocess.run(
        ["openssl", "dgst", "-sha256", *map(str, files)], check=True, stdout=subprocess.DEVNULL
    )
    elapsed = time.perf_counter() - started
    shutil.rmtree(scratch)
    return elapsed


def warm(files: list[Path]) -> None:
    for path in files:
        with path.open("rb") as f:
            while f.read(1 << 24):
                pass


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log-mib", type=int, default=512)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/thirdbook-bench-snapshot"))
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if shutil.which("openssl") is None:
        sys.exit("openssl is needed for the floor")
    folder = args.dir / f"{args.log_mib}mib"
    store_path, logs = await build(folder, args.log_mib)
    incident_id = await incident(store_path)
    warm([*logs, store_path])
    snapshots: list[float] = []
    floors: list[float] = []
    sizes: list[int] = []
    for run in range(args.runs):
        seconds, objects = await snapshot_once(store_path, incident_id)
        if not objects:
            sys.exit("the snapshot kept no log segments or events: nothing to compare")
        # The floor copies and hashes the very bytes the snapshot kept (the log segments and
        # the events as JSON lines), read from the snapshot's own objects.
        kept = folder / "kept"
        shutil.rmtree(kept, ignore_errors=True)
        kept.mkdir()
        copies = []
        for n, path in enumerate(objects):
            copies.append(kept / f"{n}.bin")
            shutil.copyfile(path, copies[-1])
        warm(copies)
        floor = floor_once(copies, store_path.parent / "floor")
        snapshots.append(seconds)
        floors.append(floor)
        sizes.append(sum(p.stat().st_size for p in copies))
        print(
            f"run {run + 1}: snapshot {seconds:.2f} s, floor {floor:.2f} s, ratio "
            f"{seconds / floor:.2f}x ({sizes[-1] / 2**20:,.0f} MiB)",
            flush=True,
        )
    mib = [size / 2**20 for size in sizes]
    print(f"\nwindow: {spread(mib, ',.0f', 'MiB')} kept (log segments + events as JSON lines)")
    print(f"snapshot: {spread(snapshots, '.2f', 's')}")
    print(f"  {spread([m / s for m, s in zip(mib, snapshots, strict=True)], ',.0f', 'MiB/s')}")
    print(f"floor (cp + openssl dgst -sha256 of the same bytes): {spread(floors, '.2f', 's')}")
    print(f"  {spread([m / f for m, f in zip(mib, floors, strict=True)], ',.0f', 'MiB/s')}")
    ratios = paired(snapshots, floors)
    print(f"ratio, paired run by run: {spread(ratios, '.2f', 'x')} (target ≤ 1.5x)")


if __name__ == "__main__":
    asyncio.run(main())
