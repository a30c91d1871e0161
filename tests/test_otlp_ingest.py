"""RELIABILITY A2, A3 for OTLP lines: many spans a line, a real ingester killed with SIGKILL
again and again while lines are appended (split mid-line) and the file rotates: every event
stored once, at its line's offset and its index in the line."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import orjson
import pytest

from tests.helpers import event_line, ingest_once, stored_request_ids
from tests.test_crash_and_burst import FAST_CONFIG, _count, kill, start_ingester, wait_until
from thirdbook.config import SourceConfig
from thirdbook.domain.otlp_writer import otlp_lines
from thirdbook.store import Store


def batch_line(first: int, count: int) -> bytes:
    """One OTLP traces line carrying `count` inferences (numbered from `first`)."""
    records = [orjson.loads(event_line(first + k)) for k in range(count)]
    (line,) = otlp_lines(records)
    return line


class OtlpWriter(threading.Thread):
    """Appends OTLP lines of 1 to 6 inferences each at a steady pace, often split mid-line,
    renaming the file (a rotation) every `every` lines."""

    def __init__(self, path: Path, lines: int, seconds: float, every: int) -> None:
        super().__init__(daemon=True)
        self.path, self.lines, self.seconds, self.every = path, lines, seconds, every
        self.rng = random.Random(23)
        self.events = 0
        self.rotations = 0

    def run(self) -> None:
        began = time.monotonic()
        handle = self.path.open("ab", buffering=0)
        for n in range(self.lines):
            count = self.rng.choice([1, 2, 3, 6])
            line = batch_line(self.events, count)
            self.events += count
            cut = self.rng.randrange(1, len(line)) if self.rng.random() < 0.3 else len(line)
            handle.write(line[:cut])
            if cut < len(line):
                time.sleep(0.001)
                handle.write(line[cut:])
            if (n + 1) % self.every == 0:
                self.rotations += 1
                handle.close()
                self.path.rename(self.path.with_name(f"{self.path.name}.{self.rotations}"))
                handle = self.path.open("ab", buffering=0)
            ahead = began + self.seconds * (n + 1) / self.lines - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
        handle.close()


@pytest.mark.slow
async def test_sigkill_during_otlp_ingest_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    (tmp_path / "thirdbook.toml").write_text(FAST_CONFIG)  # THIRDBOOK_CONFIG points here
    data_dir = tmp_path / "data"
    logs = tmp_path / "logs"
    logs.mkdir()
    log = logs / "spans.json"
    pattern = str(logs / "spans.json*")
    # A backlog the parse workers take (several MiB, more than one batch), then appends.
    backlog = b"".join(batch_line(n * 5, 5) for n in range(4000))
    log.write_bytes(backlog)
    first = start_ingester(data_dir, pattern, "--format", "otlp-json")
    try:
        await wait_until(lambda: _count(data_dir, 1), timeout=120)
    finally:
        kill(first)  # likely with a batch in flight in a worker
    writer = OtlpWriter(log, lines=1500, seconds=12.0, every=500)
    writer.events = 20_000
    writer.start()
    rng = random.Random(29)
    kills = 1
    while kills < 25 or writer.is_alive():
        process = start_ingester(data_dir, pattern, "--format", "otlp-json")
        time.sleep(rng.uniform(0.05, 0.9))
        kill(process)
        kills += 1
    writer.join()
    assert writer.rotations == 3
    store = await Store.open(data_dir / "thirdbook.db")
    try:
        await ingest_once(store, [SourceConfig(name="spans", paths=[pattern], format="otlp-json")])
        got = await stored_request_ids(store)
        assert len(got) - len(set(got)) == 0, "duplicates"
        assert sorted(got) == [f"req-{n:08d}" for n in range(writer.events)], "missing"
        assert await store.events.reject_count() == 0
        assert await store.integrity_check() == "ok"
    finally:
        await store.close()
