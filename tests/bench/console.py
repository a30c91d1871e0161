"""Console benchmark: alert latency, first paint on a big store, key latency under ingest.

    .venv/bin/python tests/bench/console.py [--events 10000000] [--dir DIR] [--runs 5]
                                            [--only alerts,paint,keys] [--against SRC]

Each figure is measured --runs times (5 by default) and printed per run, then as
min / median / max over the runs. Every step waits for the condition it measures with a
generous ceiling (a run that never sees it fails with a sentence saying what), never an
assumed timing. The machine may be shared: beside the wall-clock figures, first paint gives
the CPU seconds the console used, the steadier figure. Child processes run with bytecode
caching on (PYTHONDONTWRITEBYTECODE unset), as an installed thirdbook runs.

1. alert latency: from a line appended to a watched log to its alert on the console's screen
   (the alert table's cell), p50 and p95 over 40 lines (target: p95 < 500 ms). The console
   runs as `thirdbook console` does: default settings, its helper process ingesting.
2. first paint with --events events in the store: the real `thirdbook console --read-only`
   on a pseudo-terminal, from exec to the newest event's row in its output, and its resident
   memory then and at its peak (targets: < 1 s at the median, RSS < 200 MB). One warm-up run
   first (printed, not counted). The big store is built once in DIR through the store's bulk
   path (tests/bench/console_store.py) and kept for later runs. With --against SRC (the `src`
   directory of another checkout, e.g. main's), that code's console runs in the same runs, in
   turn (each first every other run), and the ratio of each run to its pair is printed.
3. key-to-screen latency while the console's helper ingests 20,000 events/s written by
   another process: from writing a key to the bytes that show its effect: `]`/`[` (a page of
   events from the store) and `j` (the cursor), p50 and p95 over 60 and 30 presses (target:
   p95 < 100 ms), and the ingest rate reached meanwhile.
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.console_keys import key_latency
from tests.bench.console_paint import Paint, first_paint
from tests.bench.console_store import big_store, request_of
from tests.bench.figures import NeverHappened, await_for, paired, pct, spread

import thirdbook
from thirdbook.services.factory import Context, Services, open_services
from thirdbook.services.ingest_child import IngestChild, watch_command
from thirdbook.tui.app import ThirdbookApp
from thirdbook.tui.widgets.alert_table import AlertTable

LANE_CONFIG = """
[[triggers.lanes]]
agent = "refund-bot"
tools = ["issue_refund"]
max_amount = 100
"""


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())


def app_on(work: Path, log: Path) -> ThirdbookApp:
    """A console on `log` as `thirdbook console` runs: default settings, with its helper
    process ingesting (the console's own process only draws and answers keys)."""
    config = work / f"{log.stem}.toml"
    config.write_text(f'[[sources]]\nname = "bench"\npaths = ["{log}"]\n' + LANE_CONFIG)
    data = work / f"{log.stem}-data"
    context = Context.load(data, config)

    async def open_console() -> Services:
        return await open_services(context)

    helper = IngestChild(watch_command(data, config), log=work / f"{log.stem}-ingest.log")
    return ThirdbookApp(open_console, ingest=False, subtitle="bench", ingest_child=helper)


def _alert_shown(table: AlertTable, wanted: str) -> bool:
    """Whether a row's summary holds `wanted` (rows may be replaced while it looks)."""
    for r in range(table.row_count):
        try:
            if wanted in str(table.get_row_at(r)[5]):
                return True
        except LookupError:  # the row went away under the look: look again next time
            return False
    return False


async def alert_latency(work: Path, lines: int = 40) -> list[float]:
    """Milliseconds from each line written to its alert on screen."""
    work.mkdir(parents=True, exist_ok=True)
    log = work / "alerts.jsonl"
    log.write_bytes(b"")
    app = app_on(work, log)
    latencies: list[float] = []
    async with app.run_test(size=(200, 50)) as pilot:

        async def ingesting() -> bool:
            await pilot.pause(0.05)
            svc = app.console_service
            return svc is not None and (await svc.health.read()).ingesting_here

        await await_for(ingesting, "the console's helper taking the ingest lease", ceiling_s=120)
        table = app.query_one(AlertTable)
        for n in range(lines):
            amount = 1000 + n
            line = (
                f'{{"v":1,"kind":"agent_action","ts":"{now_iso()}","agent":"refund-bot",'
                f'"tool":"issue_refund","target":"acct-{n}","amount":{amount}}}\n'
            )
            start = time.perf_counter()
            with log.open("a") as f:
                f.write(line)
            wanted = f"amount {amount} is over"

            async def shown(wanted: str = wanted) -> bool:
                return _alert_shown(table, wanted)

            await await_for(shown, f"the alert for line {n + 1}", ceiling_s=60, every_s=0.002)
            latencies.append((time.perf_counter() - start) * 1000)
            await asyncio.sleep(random.uniform(0.1, 0.4))
        await app.action_quit()
    return latencies


def report_alerts(work: Path, runs: int) -> None:
    p50s, p95s = [], []
    for run in range(runs):
        ms = asyncio.run(alert_latency(work / f"alerts-{run}"))
        p50s.append(pct(ms, 50))
        p95s.append(pct(ms, 95))
        print(
            f"  run {run + 1}: p50 {p50s[-1]:.0f} ms, p95 {p95s[-1]:.0f} ms, "
            f"max {max(ms):.0f} ms ({len(ms)} lines)",
            flush=True,
        )
    print(f"alert latency p50: {spread(p50s, '.0f', 'ms')}")
    print(f"alert latency p95: {spread(p95s, '.0f', 'ms')} (target p95 < 500 ms)")


def report_paint(folder: Path, work: Path, events: int, runs: int, against: Path | None) -> None:
    store = big_store(folder, events)
    newest = request_of(events - 1)
    variants: dict[str, Path | None] = {"this": None}
    if against is not None:
        variants["against"] = against.resolve()
        for src in (Path(thirdbook.__file__).parent.parent, variants["against"]):
            compileall.compile_dir(src / "thirdbook", quiet=1)
    for name, src in variants.items():
        warm = first_paint(store, newest, work, src=src)
        print(
            f"  warm-up of {name} (not counted): {warm.painted_s:.2f} s, {warm.cpu_s:.2f} s CPU",
            flush=True,
        )
    paints: dict[str, list[Paint]] = {name: [] for name in variants}
    for run in range(runs):
        order = list(variants) if run % 2 == 0 else list(reversed(variants))
        for name in order:  # in turn, each first every other run: a busy moment hits both
            paints[name].append(first_paint(store, newest, work, src=variants[name]))
            p = paints[name][-1]
            print(
                f"  run {run + 1} {name}: newest row at {p.painted_s:.2f} s (first byte "
                f"{p.first_byte_s:.2f} s), {p.cpu_s:.2f} s CPU, RSS {p.rss_kb / 1024:.0f} MB",
                flush=True,
            )
    for name, runs_of in paints.items():
        print(f"first paint with {events:,} events, from exec ({name}):")
        _paint_figures(runs_of)
    if against is not None:
        this, base = paints["this"], paints["against"]
        print("this / against, paired run by run:")
        wall = paired([p.painted_s for p in this], [p.painted_s for p in base])
        cpu = paired([p.cpu_s for p in this], [p.cpu_s for p in base])
        print(f"  newest row: {spread(wall, '.2f')}")
        print(f"  CPU used by then: {spread(cpu, '.2f')}")


def _paint_figures(paints: list[Paint]) -> None:
    print(f"  newest row: {spread([p.painted_s for p in paints], '.2f', 's')} (target < 1 s)")
    print(f"  CPU used by then: {spread([p.cpu_s for p in paints], '.2f', 's')}")
    print(f"  first byte: {spread([p.first_byte_s for p in paints], '.2f', 's')}")
    print(f"  RSS at paint: {spread([p.rss_kb / 1024 for p in paints], '.0f', 'MB')}")
    print(
        f"  peak RSS: {spread([p.peak_kb / 1024 for p in paints], '.0f', 'MB')} (target < 200 MB)"
    )


def report_keys(work: Path, runs: int) -> None:
    figures: dict[str, list[float]] = {k: [] for k in ("pp50", "pp95", "cp50", "cp95", "rate")}
    for run in range(runs):
        keys = key_latency(work / f"keys-{run}")
        figures["pp50"].append(pct(keys.paging, 50))
        figures["pp95"].append(pct(keys.paging, 95))
        figures["cp50"].append(pct(keys.cursor, 50))
        figures["cp95"].append(pct(keys.cursor, 95))
        figures["rate"].append(keys.ingest_per_s)
        print(
            f"  run {run + 1}: ] / [ p50 {figures['pp50'][-1]:.0f} ms, p95 "
            f"{figures['pp95'][-1]:.0f} ms; j p50 {figures['cp50'][-1]:.0f} ms, p95 "
            f"{figures['cp95'][-1]:.0f} ms; written {keys.written_per_s:,.0f} lines/s, "
            f"ingested {keys.ingest_per_s:,.0f} events/s meanwhile",
            flush=True,
        )
    print("key latency while ingesting (lines written at 20,000/s):")
    print(f"  ] / [ (a page from the store) p50: {spread(figures['pp50'], '.0f', 'ms')}")
    print(f"  ] / [ p95: {spread(figures['pp95'], '.0f', 'ms')} (target p95 < 100 ms)")
    print(f"  j (cursor) p50: {spread(figures['cp50'], '.0f', 'ms')}")
    print(f"  j p95: {spread(figures['cp95'], '.0f', 'ms')}")
    print(f"  ingested meanwhile: {spread(figures['rate'], ',.0f', 'events/s')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "thirdbook-bench")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", default="alerts,paint,keys", help="which figures, by name")
    parser.add_argument("--skip-big", action="store_true", help="leave out the first paint")
    parser.add_argument(
        "--against", type=Path, help="first paint: another checkout's src, run in turn"
    )
    args = parser.parse_args()
    only = set(args.only.split(",")) - ({"paint"} if args.skip_big else set())
    if unknown := only - {"alerts", "paint", "keys"}:
        parser.error(f"unknown figures: {', '.join(sorted(unknown))}")
    args.dir.mkdir(parents=True, exist_ok=True)
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"load average {load} on {os.cpu_count()} CPUs; {args.runs} runs of each figure")
    try:
        with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
            work = Path(tmp)
            if "alerts" in only:
                report_alerts(work, args.runs)
            if "paint" in only:
                report_paint(args.dir, work, args.events, args.runs, args.against)
            if "keys" in only:
                report_keys(work, args.runs)
    except NeverHappened as exc:
        sys.exit(f"console benchmark: {exc}")


if __name__ == "__main__":
    main()
