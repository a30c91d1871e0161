"""Console benchmark: alert latency, first paint on a big store, key latency under ingest.

    .venv/bin/python tests/bench/console.py [--events 10000000] [--dir DIR] [--skip-big]

Prints:
1. alert latency: from a line appended to a watched log to its alert on the console's screen
   (the alert table's cell), p50 and p95 over 40 lines (target: p95 < 500 ms). The console
   runs as `thirdbook console` does: default settings, its helper process ingesting.
2. first paint with 10 million events in the store: the real `thirdbook console --read-only`
   on a pseudo-terminal, from exec to the newest event's row in its output, and the
   process's resident memory then and at its peak (targets: < 1 s, RSS < 200 MB). The big
   store is built once (bulk SQL, then indexes) and kept in DIR for later runs.
3. key-to-screen latency while the console's helper ingests 20,000 events/s written by
   another process: the real `thirdbook console` on a pseudo-terminal, from writing a key to
   the bytes that show its effect: `]`/`[` (a page of events from the store) and `j` (the
   cursor), p50 and p95 over 60 and 30 presses (target: p95 < 100 ms), and the ingest rate
   reached meanwhile.
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import os
import pty
import random
import select
import sqlite3
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

from thirdbook.domain.records import lookup_key
from thirdbook.services.factory import Context, Services, open_services
from thirdbook.services.ingest_child import IngestChild, watch_command
from thirdbook.store import Store
from thirdbook.tui.app import ThirdbookApp
from thirdbook.tui.widgets.alert_table import AlertTable

INFERENCE = (
    '{{"v":1,"kind":"inference","ts":"{ts}","request_id":"req-{n:09d}","subject":"applicant-{s}",'
    '"model":{{"name":"credit-scorer","version":"v7","weights_hash":"sha256:ab12"}},'
    '"prompt":{{"text":"score applicant {s}"}},"response":{{"decision":"decline"}}}}\n'
)


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) of values, in the same unit."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())


LANE_CONFIG = """
[[triggers.lanes]]
agent = "refund-bot"
tools = ["issue_refund"]
max_amount = 100
"""


def app_on(work: Path, log: Path, lanes: bool = False) -> ThirdbookApp:
    """A console on `log` as `thirdbook console` runs: default settings, with its helper
    process ingesting (the console's own process only draws and answers keys)."""
    config = work / f"{log.stem}.toml"
    config.write_text(
        f'[[sources]]\nname = "bench"\npaths = ["{log}"]\n' + (LANE_CONFIG if lanes else "")
    )
    data = work / f"{log.stem}-data"
    context = Context.load(data, config)

    async def open_console() -> Services:
        return await open_services(context)

    helper = IngestChild(watch_command(data, config), log=work / f"{log.stem}-ingest.log")
    return ThirdbookApp(open_console, ingest=False, subtitle="bench", ingest_child=helper)


async def ingesting(app: ThirdbookApp, pilot: object) -> Services:
    """Wait until the console's helper holds the ingest lease."""
    while True:
        await pilot.pause(0.05)  # type: ignore[attr-defined]
        svc = app.console_service
        if svc is not None and (await svc.health.read()).ingesting_here:
            return svc


# -- 1. alert latency -------------------------------------------------------------------------


async def alert_latency(work: Path, lines: int = 40) -> list[float]:
    log = work / "alerts.jsonl"
    log.write_bytes(b"")
    app = app_on(work, log, lanes=True)
    latencies: list[float] = []
    async with app.run_test(size=(200, 50)) as pilot:
        await ingesting(app, pilot)
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
            while not any(wanted in str(table.get_row_at(r)[5]) for r in range(table.row_count)):
                await asyncio.sleep(0.002)
                if time.perf_counter() - start > 10:
                    raise RuntimeError("an alert never appeared")
            latencies.append((time.perf_counter() - start) * 1000)
            await asyncio.sleep(random.uniform(0.1, 0.4))
        await app.action_quit()
    return latencies


# -- 2. first paint on a big store ------------------------------------------------------------


def build_big_store(path: Path, events: int) -> None:
    """A store with `events` inference events, built by bulk SQL (minutes, once)."""
    path.parent.mkdir(parents=True, exist_ok=True)

    async def schema() -> None:
        await (await Store.open(path)).close()

    asyncio.run(schema())
    db = sqlite3.connect(path)
    db.executescript("PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF; PRAGMA cache_size=-262144;")
    found = db.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' "
        "AND sql IS NOT NULL"
    ).fetchall()
    indexes = [sql for _, sql in found]
    for name, _ in found:
        db.execute(f"DROP INDEX {name}")
    db.execute(
        "INSERT INTO files (source, path, dev, ino, head_len, head_hash, first_seen_us, "
        "updated_us) VALUES ('bench', '/var/log/serving.jsonl', 0, 0, 0, '', 0, 0)"
    )
    start_us = 1_790_000_000_000_000
    batch = 200_000
    for first in range(0, events, batch):
        rows = []
        for n in range(first, min(events, first + batch)):
            request, subject = f"req-{n:09d}", f"applicant-{n % 100_003}"
            ts = start_us + n * 10_000
            raw = INFERENCE.format(ts="2026-09-21T10:00:00+00:00", n=n, s=n % 100_003).encode()
            rows.append(
                (
                    ts,
                    "inference",
                    request,
                    lookup_key(request),
                    subject,
                    lookup_key(subject),
                    "credit-scorer",
                    "v7",
                    "sha256:ab12",
                    "model",
                    1,
                    n * 300,
                    ts,
                    raw,
                )
            )
        db.executemany(
            "INSERT INTO events (ts_us, kind, request_id, request_key, subject, subject_key, "
            "model_name, model_version, weights_hash, route, file_id, byte_offset, ingested_us, "
            "raw) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        db.commit()
        print(f"  built {min(events, first + batch):,} events", end="\r", flush=True)
    for sql in indexes:
        db.execute(sql)
    db.commit()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    print()


def first_paint(store: Path, events: int, work: Path) -> tuple[float, int, int]:
    """Seconds from exec to the newest event on screen; RSS then and at peak (kB)."""
    config = work / "paint.toml"
    config.write_text(f'[store]\npath = "{store}"\n')
    env = dict(
        os.environ,
        TERM="xterm-256color",
        THIRDBOOK_CONFIG=str(config),
        THIRDBOOK_DATA_DIR=str(work / "paint-data"),
    )
    thirdbook = str(Path(sys.executable).with_name("thirdbook"))
    newest = f"req-{events - 1:09d}".encode()
    start = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:
        os.execvpe(thirdbook, [thirdbook, "console", "--read-only"], env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
    out = bytearray()
    painted = None
    rss = peak = 0
    try:
        while time.perf_counter() - start < 30:
            ready, _, _ = select.select([fd], [], [], 0.005)
            if ready:
                out += os.read(fd, 1 << 16)
            if painted is None and newest in out:
                painted = time.perf_counter() - start
                rss, peak = _memory(pid)
                time.sleep(1.0)  # let it settle, then read the peak again
                peak = max(peak, _memory(pid)[1])
                break
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        os.close(fd)
    if painted is None:
        raise RuntimeError("the newest event never appeared")
    return painted, rss, peak


def _memory(pid: int) -> tuple[int, int]:
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    fields = dict(line.split(":", 1) for line in status)
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


# -- 3. key latency under ingest --------------------------------------------------------------

WRITER = r"""
import sys, time
path, rate, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
line = sys.argv[4]
n = 0
start = time.perf_counter()
with open(path, "a", buffering=1 << 20) as f:
    while time.perf_counter() - start < seconds:
        due = int((time.perf_counter() - start) * rate)
        if due > n:
            ts = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
            f.write("".join(line.format(ts=ts, n=i, s=i % 9973) for i in range(n, due)))
            f.flush()
            n = due
        time.sleep(0.01)
print(n)
"""


class Pty:
    """The real program on a pseudo-terminal: keys in, bytes out."""

    def __init__(self, argv: list[str], env: dict[str, str], rows: int = 50, cols: int = 200):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execvpe(argv[0], argv, env)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def read_until(self, wanted: bytes, timeout: float = 20.0) -> float:
        """Seconds until `wanted` is in what the program writes from now on."""
        start = time.perf_counter()
        seen = b""
        while time.perf_counter() - start < timeout:
            ready, _, _ = select.select([self.fd], [], [], 0.002)
            if ready:
                seen = seen[-len(wanted) :] + os.read(self.fd, 1 << 16)
                if wanted in seen:
                    return time.perf_counter() - start
        raise RuntimeError(f"{wanted!r} never appeared")

    def key(self, data: bytes, then: bytes) -> float:
        """Milliseconds from writing a key to `then` on screen."""
        self.drain()
        start = time.perf_counter()
        os.write(self.fd, data)
        self.read_until(then)
        return (time.perf_counter() - start) * 1000

    def drain(self) -> None:
        while select.select([self.fd], [], [], 0)[0]:
            os.read(self.fd, 1 << 16)

    def close(self) -> None:
        os.kill(self.pid, 9)
        os.waitpid(self.pid, 0)
        os.close(self.fd)


def key_latency(work: Path, rate: int = 20_000, rounds: int = 30) -> dict[str, object]:
    """The real `thirdbook console` (its helper ingesting) while another process writes."""
    log = work / "keys.jsonl"
    log.write_bytes(b"")
    config = work / "keys.toml"
    config.write_text(f'[[sources]]\nname = "bench"\npaths = ["{log}"]\n')
    data = work / "keys-data"
    env = dict(
        os.environ,
        TERM="xterm-256color",
        THIRDBOOK_CONFIG=str(config),
        THIRDBOOK_DATA_DIR=str(data),
    )
    seconds = 6 + rounds * 1.2
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(log), str(rate), str(seconds), INFERENCE],
        stdout=subprocess.PIPE,
    )
    console = Pty([str(Path(sys.executable).with_name("thirdbook")), "console"], env)
    paging: list[float] = []
    cursor: list[float] = []
    try:
        console.read_until(b"ingesting here")
        time.sleep(2.0)
        store = sqlite3.connect(data / "thirdbook.db")
        before, t_before = store.execute("SELECT max(id) FROM events").fetchone()[0], time.time()
        console.key(b"\t", b"")  # from the live triggers to the events
        for _ in range(rounds):
            paging.append(console.key(b"]", b"page 2, older events"))
            time.sleep(0.3)
            cursor.append(console.key(b"j", b"req-"))  # the rows the cursor left and reached
            time.sleep(0.3)
            paging.append(console.key(b"[", b"live, newest first"))
            time.sleep(0.3)
        after, t_after = store.execute("SELECT max(id) FROM events").fetchone()[0], time.time()
        store.close()
    finally:
        console.close()
        writer.wait()
    written = int((writer.stdout.read() if writer.stdout else b"0") or 0)
    return {
        "paging": paging,
        "cursor": cursor,
        "written": written,
        "ingest_rate": (after - before) / (t_after - t_before),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "thirdbook-bench")
    parser.add_argument("--skip-big", action="store_true", help="skip the big-store first paint")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        work = Path(tmp)
        latencies = asyncio.run(alert_latency(work))
        print(
            f"alert latency (line written -> alert on screen), {len(latencies)} lines: "
            f"p50 {pct(latencies, 50):.0f} ms, p95 {pct(latencies, 95):.0f} ms, "
            f"max {max(latencies):.0f} ms (target p95 < 500 ms)"
        )
        if not args.skip_big:
            big = args.dir / f"console-{args.events}.db"
            if not big.exists():
                print(f"building a store of {args.events:,} events in {big} (once) ...")
                started = time.perf_counter()
                build_big_store(big, args.events)
                print(
                    f"  built in {time.perf_counter() - started:.0f} s, "
                    f"{big.stat().st_size / 1e9:.1f} GB"
                )
            runs = [first_paint(big, args.events, work) for _ in range(3)]
            best = min(runs)
            print(
                f"first paint with {args.events:,} events: "
                f"{', '.join(f'{r[0]:.2f}' for r in runs)} s from exec (best {best[0]:.2f} s; "
                f"target < 1 s), RSS {best[1] / 1024:.0f} MB at paint, peak "
                f"{max(r[2] for r in runs) / 1024:.0f} MB (target < 200 MB)"
            )
        keys = key_latency(work)
        paging, cursor = keys["paging"], keys["cursor"]
        assert isinstance(paging, list) and isinstance(cursor, list)
        print(
            f"key latency while ingesting (written {keys['written']:,} lines at 20,000/s; "
            f"ingested {keys['ingest_rate']:,.0f} events/s meanwhile):"
        )
        print(
            f"  ] / [ (a page from the store): p50 {pct(paging, 50):.0f} ms, "
            f"p95 {pct(paging, 95):.0f} ms (target p95 < 100 ms)"
        )
        print(
            f"  j (cursor): p50 {pct(cursor, 50):.0f} ms, p95 {pct(cursor, 95):.0f} ms, "
            f"mean {statistics.mean(cursor):.0f} ms"
        )


if __name__ == "__main__":
    main()
