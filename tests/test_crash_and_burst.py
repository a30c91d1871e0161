"""RELIABILITY A2, A3, A12: real ingester processes, killed with SIGKILL, under bursts."""

from __future__ import annotations

import asyncio
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import event_line, ingest_once, stored_raw, stored_request_ids
from tests.multi_event_format import EventArrays, array_line
from thirdbook.config import Settings, SourceConfig
from thirdbook.services.console import Console
from thirdbook.store import Store

FAST_CONFIG = """
[ingest]
debounce_ms = 30
poll_interval_s = 0.2
lease_ttl_s = 2.0
release_after_s = 0.5
"""


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    (tmp_path / "thirdbook.toml").write_text(FAST_CONFIG)  # THIRDBOOK_CONFIG points here
    return tmp_path / "data"


def start_ingester(data_dir: Path, pattern: str, *extra: str) -> subprocess.Popen[bytes]:
    """`thirdbook ingest PATTERN` as its own process, as a bastion service would run it."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "thirdbook.cli",
            "--data-dir",
            str(data_dir),
            "ingest",
            pattern,
            *extra,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def kill(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


async def wait_until(check: Callable[[], object], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out waiting")


async def count_events(data_dir: Path) -> int:
    store = await Store.open(data_dir / "thirdbook.db")
    try:
        return await store.events.count()
    finally:
        await store.close()


@pytest.mark.slow
async def test_half_line_survives_sigkill(data_dir: Path, tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    line = event_line(10, pad=50)
    log.write_bytes(b"".join(event_line(i) for i in range(10)) + line[:40])
    first = start_ingester(data_dir, str(log))
    try:
        await wait_until(lambda: _count(data_dir, 10))
        await asyncio.sleep(0.3)  # it has read the half line and holds it back
    finally:
        kill(first)
    with log.open("ab") as writer:
        writer.write(line[40:] + event_line(11))
    second = start_ingester(data_dir, str(log))
    try:
        await wait_until(lambda: _count(data_dir, 12))
    finally:
        kill(second)
    store = await Store.open(data_dir / "thirdbook.db")
    try:
        raw = await stored_raw(store)
        assert raw[10] == line[:-1]  # whole, once
        assert await stored_request_ids(store) == [f"req-{i:08d}" for i in range(12)]
    finally:
        await store.close()


async def _count(data_dir: Path, at_least: int) -> bool:
    if not (data_dir / "thirdbook.db").exists():
        return False
    return await count_events(data_dir) >= at_least


class PacedWriter(threading.Thread):
    """Appends numbered lines at a steady pace, often in fragments split mid-line."""

    def __init__(self, path: Path, lines: int, seconds: float, seed: int = 3) -> None:
        super().__init__(daemon=True)
        self.path, self.lines, self.seconds = path, lines, seconds
        self.rng = random.Random(seed)

    def run(self) -> None:
        began = time.monotonic()
        with self.path.open("ab", buffering=0) as handle:
            for n in range(self.lines):
                line = event_line(n, pad=self.rng.randrange(0, 300))
                if self.rng.random() < 0.2:
                    cut = self.rng.randrange(1, len(line))
                    handle.write(line[:cut])
                    time.sleep(0.001)
                    handle.write(line[cut:])
                else:
                    handle.write(line)
                ahead = began + self.seconds * (n + 1) / self.lines - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)


@pytest.mark.slow
async def test_crash_loop_loses_and_duplicates_nothing(data_dir: Path, tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    total = 20_000
    writer = PacedWriter(log, total, seconds=35.0)
    writer.start()
    rng = random.Random(11)
    kills = 0
    while kills < 110 or writer.is_alive():
        process = start_ingester(data_dir, str(log))
        time.sleep(rng.uniform(0.05, 0.9))
        kill(process)
        kills += 1
    writer.join()
    final = start_ingester(data_dir, str(log), "--once")
    assert final.wait(timeout=120) == 0, final.stderr.read() if final.stderr else ""
    store = await Store.open(data_dir / "thirdbook.db")
    try:
        got = await stored_request_ids(store)
        expected = [f"req-{i:08d}" for i in range(total)]
        assert len(got) - len(set(got)) == 0, "duplicates"
        assert sorted(set(expected) - set(got)) == [], "missing"
        assert got == expected, "out of order"
        assert await store.integrity_check() == "ok"
        assert await store.events.reject_count() == 0
    finally:
        await store.close()
    assert kills >= 100


class ArrayWriter(threading.Thread):
    """Appends lines of 0 to 5 events each (numbered on across lines) at a steady pace, often
    in fragments split mid-line."""

    def __init__(self, path: Path, first: int, lines: int, seconds: float) -> None:
        super().__init__(daemon=True)
        self.path, self.first, self.lines, self.seconds = path, first, lines, seconds
        self.rng = random.Random(5)
        self.events = first

    def line(self) -> bytes:
        count = self.rng.choice([0, 1, 1, 2, 3, 5])
        line = array_line(*(event_line(self.events + k) for k in range(count)))
        self.events += count
        return line

    def run(self) -> None:
        began = time.monotonic()
        with self.path.open("ab", buffering=0) as handle:
            for n in range(self.lines):
                line = self.line()
                cut = self.rng.randrange(1, len(line)) if self.rng.random() < 0.3 else len(line)
                handle.write(line[:cut])
                if cut < len(line):
                    time.sleep(0.001)
                    handle.write(line[cut:])
                ahead = began + self.seconds * (n + 1) / self.lines - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)


def start_array_ingester(data_dir: Path) -> subprocess.Popen[bytes]:
    """`thirdbook watch` over the configured array source, the test format registered."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.multi_event_cli", "--data-dir", str(data_dir), "watch"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=Path(__file__).parent.parent,
    )


@pytest.mark.slow
async def test_crash_loop_stores_every_event_of_many_a_line_once(
    data_dir: Path, tmp_path: Path
) -> None:
    log = tmp_path / "arrays.log"
    source = SourceConfig(name="arrays", paths=[str(log)], format=EventArrays.name)
    (tmp_path / "thirdbook.toml").write_text(
        FAST_CONFIG + f'[[sources]]\nname = "arrays"\npaths = ["{log}"]\n'
        f'format = "{EventArrays.name}"\n'
    )
    # A backlog the parse workers take (over 8 MiB in more than one batch), then appends.
    backlog = b"".join(array_line(event_line(n)) for n in range(60_000))
    log.write_bytes(backlog)
    first = start_array_ingester(data_dir)
    try:
        await wait_until(lambda: _count(data_dir, 1), timeout=120)
    finally:
        kill(first)  # likely with a batch in flight in a worker
    writer = ArrayWriter(log, 60_000, lines=3000, seconds=12.0)
    writer.start()
    rng = random.Random(17)
    kills = 1
    while kills < 25 or writer.is_alive():
        process = start_array_ingester(data_dir)
        time.sleep(rng.uniform(0.05, 0.9))
        kill(process)
        kills += 1
    writer.join()
    store = await Store.open(data_dir / "thirdbook.db")
    try:
        await ingest_once(store, [source])
        got = await stored_request_ids(store)
        assert len(got) - len(set(got)) == 0, "duplicates"
        assert got == [f"req-{n:08d}" for n in range(writer.events)], "missing or out of order"
        # Each at its line's offset and its index in the line, as the file has them.
        content, where, at = log.read_bytes(), [], 0
        for line in content.splitlines(keepends=True):
            where.extend((at, index) for index in range(line.count(b'"request_id"')))
            at += len(line)
        rows = await store.fetchall("SELECT byte_offset, line_index FROM events ORDER BY id")
        assert [(r[0], r[1]) for r in rows] == where
        assert await store.events.reject_count() == 0
        assert await store.integrity_check() == "ok"
    finally:
        await store.close()


class RotatingBurst(threading.Thread):
    """Writes `rate` lines a second for `seconds`, renaming the file every `every` s."""

    def __init__(self, path: Path, rate: int, seconds: float, every: float) -> None:
        super().__init__(daemon=True)
        self.path, self.rate, self.seconds, self.every = path, rate, seconds, every
        self.written = 0
        self.rotations = 0

    def run(self) -> None:
        lines = [event_line(n) for n in range(int(self.rate * self.seconds))]
        began = time.monotonic()
        handle = self.path.open("ab", buffering=0)
        last_rotation = began
        step = max(1, self.rate // 100)  # write in 10 ms slices
        for start in range(0, len(lines), step):
            handle.write(b"".join(lines[start : start + step]))
            self.written = start + len(lines[start : start + step])
            now = time.monotonic()
            if now - last_rotation >= self.every:
                self.rotations += 1
                self.path.rename(self.path.with_name(f"{self.path.name}.{self.rotations}"))
                handle.close()
                handle = self.path.open("ab", buffering=0)
                last_rotation = now
            ahead = began + self.written / self.rate - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
        handle.close()


@pytest.mark.slow
async def test_burst_with_rotation_loses_nothing_and_shows_lag(
    data_dir: Path, tmp_path: Path
) -> None:
    log = tmp_path / "a.log"
    burst = RotatingBurst(log, rate=50_000, seconds=4.0, every=1.5)
    process = start_ingester(data_dir, str(tmp_path / "a.log*"))
    try:
        await wait_until(lambda: (data_dir / "thirdbook.db").exists())
        burst.start()
        console = Console(await Store.open(data_dir / "thirdbook.db"), Settings(), [])
        lags: list[float] = []
        backlogs: list[int] = []
        try:
            while burst.is_alive() or await console.store.events.count() < burst.written:
                health = await console.health()
                backlogs.append(health.backlog_bytes)
                lags.append(health.lag_s or 0.0)
                await asyncio.sleep(0.2)
                assert process.poll() is None, "the ingester died"
            got = await stored_request_ids(console.store)
        finally:
            await console.store.close()
    finally:
        kill(process)
    assert burst.rotations >= 2
    assert len(got) == burst.written == 200_000
    assert len(set(got)) == len(got)
    assert max(backlogs) > 0 and max(lags) > 0, "ingest lag was never shown"


async def test_watch_ingests_configured_sources_until_sigterm(
    data_dir: Path, tmp_path: Path
) -> None:
    log = tmp_path / "serving.jsonl"
    log.write_bytes(b"".join(event_line(i) for i in range(5)))
    config = tmp_path / "thirdbook.toml"
    config.write_text(FAST_CONFIG + f'\n[[sources]]\nname = "serving"\npaths = ["{log}"]\n')
    process = subprocess.Popen(
        [sys.executable, "-m", "thirdbook.cli", "--data-dir", str(data_dir), "watch"],
        stderr=subprocess.PIPE,
    )
    try:
        await wait_until(lambda: _count(data_dir, 5))
        with log.open("ab") as writer:
            writer.write(event_line(5))
        await wait_until(lambda: _count(data_dir, 6))
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    assert process.stderr is not None
    assert b"6 events, 0 rejects" in process.stderr.read()
    store = await Store.open(data_dir / "thirdbook.db")
    try:
        assert await store.leases.current() is None  # released on the way out
    finally:
        await store.close()


def test_watch_without_sources_says_what_to_do(data_dir: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "thirdbook.cli", "--data-dir", str(data_dir), "watch"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert "no sources are configured" in result.stderr
    assert "config --example" in result.stderr
