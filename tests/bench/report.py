"""Report benchmark: the post-incident report of an incident with 100,000 events in its window
and 1,000 timeline entries (target: under 2 s).

    .venv/bin/python tests/bench/report.py [--events 100000] [--entries 1000] [--runs 5] [--dir DIR]

The store is built in DIR (a temporary folder by default; one of the same size already in DIR
is reused): the events (inference records of three versions over three routes, one in twenty an
agent's refund with an amount), one alert, the incident declared from it, action items and
notes to make up the timeline, and a serious marking. Prints the build, then each run's
report time and their min / median / max, the report's size, and whether it passed the
Markdown linter.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.figures import spread
from tests.helpers import ingest_once, source

from thirdbook.config import ContainmentConfig
from thirdbook.domain.alerts import Firing
from thirdbook.services.factory import build_services
from thirdbook.services.secret_patterns import load_secret_patterns
from thirdbook.store import Store

START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
ROUTES = ("model", "model", "model", "human", "fallback")
VERSIONS = ("v6", "v7", "v7")


def line(n: int) -> bytes:
    ts = (START + timedelta(milliseconds=20 * n)).isoformat()
    if n % 20 == 19:
        record: dict[str, object] = {
            "v": 1,
            "kind": "agent_action",
            "ts": ts,
            "agent": "support-agent",
            "tool": "issue_refund",
            "target": f"acct-{n % 5000}",
            "amount": round(5 + n % 75 + 0.25, 2),
            "currency": "GBP",
        }
    else:
        record = {
            "v": 1,
            "kind": "inference",
            "ts": ts,
            "request_id": f"req-{n:09d}",
            "subject": f"applicant-{n % 20011}",
            "route": ROUTES[n % len(ROUTES)],
            "model": {"name": "credit-scorer", "version": VERSIONS[n % 3], "weights_hash": "ab"},
            "response": {"decision": "decline"},
        }
    return json.dumps(record, separators=(",", ":")).encode() + b"\n"


TITLE = "v7 declines everyone"


async def build(folder: Path, events: int, entries: int) -> tuple[float, Path]:
    began = time.perf_counter()
    if (folder / "thirdbook.db").exists():  # built by an earlier run into this DIR
        return 0.0, folder / "thirdbook.db"
    log = folder / "serving.jsonl"
    with log.open("wb") as out:
        for n in range(events):
            out.write(line(n))
    store = await Store.open(folder / "thirdbook.db")
    await ingest_once(store, source(log))
    alert = await store.alerts.record(
        Firing(
            rule="credit drift",
            kind="drift",
            key="credit-scorer v7",
            event_ids=(1,),
            at=START + timedelta(minutes=5),
            summary="approval rate of credit-scorer v7 below its band for 3 windows",
        )
    )
    config = ContainmentConfig(window_before_s=3600)
    console = build_services(store, containment=config)
    incident = await console.triage.declare(
        [alert.id], title=TITLE, severity="SEV1", blast_radius="high"
    )
    for n in range(entries - 3):
        if n % 10 == 0:
            due = (START + timedelta(days=30 + n % 7)).date()
            await console.triage.add_action_item(
                incident.id, title=f"action {n}", owner=f"owner-{n % 5}", due=due
            )
        else:
            await console.triage.add_note(incident.id, f"note {n}: <b>looked</b> at [it](x)")
    await console.serious.mark(incident.id, "other", START + timedelta(hours=1))
    await store.close()
    return time.perf_counter() - began, folder / "thirdbook.db"


async def run(db: Path, runs: int) -> tuple[list[float], str]:
    store = await Store.open(db)
    console = build_services(store, containment=ContainmentConfig(window_before_s=3600))
    incident = next((i for i in await console.triage.incidents() if i.title == TITLE), None)
    if incident is None:
        await store.close()
        raise SystemExit(f"{db} holds no incident {TITLE!r}: remove it to build it again")
    times, text = [], ""
    for _ in range(runs):
        began = time.perf_counter()
        text = await console.report.markdown(incident.id)
        times.append(time.perf_counter() - began)
    timeline = await console.triage.timeline(incident.id)
    print(f"timeline entries: {len(timeline):,}")
    await store.close()
    return times, text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--entries", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--dir", type=Path)
    args = parser.parse_args()
    if args.events < 1 or args.runs < 1:
        parser.error("--events and --runs must each be at least 1")
    load_secret_patterns()
    with tempfile.TemporaryDirectory() as temp:
        folder = (args.dir or Path(temp)) / f"{args.events}-events-{args.entries}-entries"
        folder.mkdir(parents=True, exist_ok=True)
        built, db = asyncio.run(build(folder, args.events, args.entries))
        if built:
            print(
                f"built: {args.events:,} events, ~{args.entries:,} timeline entries in "
                f"{built:.1f} s"
            )
        else:
            print(f"reused: {db}")
        times, text = asyncio.run(run(db, args.runs))
        from pymarkdown.api import PyMarkdownApi

        lint = PyMarkdownApi().disable_rule_by_identifier("md013").scan_string(text)
        print("runs (s): " + ", ".join(f"{t:.3f}" for t in times))
        print(f"report: {spread(times, '.3f', 's')} (target < 2 s at the median)")
        print(f"report: {len(text.encode()):,} bytes, {text.count(chr(10)):,} lines")
        impact = next((x for x in text.splitlines() if "requests from" in x), "(no impact line)")
        print("impact: " + impact)
        print(f"markdown lint failures: {len(lint.scan_failures)}")
        began = time.perf_counter()
        PyMarkdownApi().disable_rule_by_identifier("md013").scan_string(text)
        print(f"(linting it takes {time.perf_counter() - began:.2f} s; not part of the report)")


if __name__ == "__main__":
    main()
