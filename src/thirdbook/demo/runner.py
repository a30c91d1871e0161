"""The demo serving layer: runs the simulated estate in (scaled) real time, writing its logs.

Its events are stamped by the demo's clock (`thirdbook.demo.clock`), which is the wall clock
when it runs: the console's incidents, timeline and registry history read the same clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import orjson

from thirdbook.config import SourceConfig
from thirdbook.demo.clock import DemoClock
from thirdbook.demo.control_files import ControlFiles, write_initial_control
from thirdbook.demo.estate import Estate
from thirdbook.demo.model_server import ModelServer
from thirdbook.domain.otlp_writer import WRITABLE_KINDS, otlp_lines

STREAMS = ("serving", "signals", "agent", "changes")
TICK_S = 0.1
OTLP_BATCH = 64
"""The most events one OTLP line carries (an exporter's batch): a long step (a stalled loop,
a replayed script) stays many lines well under ingest's line limit, not one too long."""


class DemoServingLayer:
    """Writes the estate's events into `logs/`, obeying the files in `control/`."""

    def __init__(
        self,
        demo_dir: Path,
        *,
        seed: int = 7,
        speed: float = 20.0,
        requests_per_second: float = 4.0,
        start: datetime | None = None,
        endpoints_file: Path | None = None,
        otlp: bool = False,
    ) -> None:
        """`start` pins demo second 0 to a time (to replay the script with `advance_to`);
        without it, `run` stamps each event with the wall-clock time it is written. While it
        runs, the model server answers as v6 and v7, its base URLs in `endpoints_file`.
        With `otlp`, inferences, agent actions and metrics are written as OpenTelemetry
        GenAI spans and evaluation records (OTLP JSON lines, `*.otlp.json`), a batch a line;
        the rest stays thirdbook JSON lines."""
        self.demo_dir = demo_dir
        self.logs = demo_dir / "logs"
        self.control_dir = demo_dir / "control"
        self.speed = speed
        self.clock = DemoClock(speed, start)
        self.control = ControlFiles(self.control_dir)
        self.estate = Estate(
            seed, self.clock, requests_per_second, deploy=self.control.set_serving_alias
        )
        self.demo_seconds = 0.0
        self.lines_written = 0
        self.events_written = 0
        self._files: dict[str, IO[bytes]] = {}
        self.model_server = ModelServer(endpoints_file)
        self.otlp = otlp

    @property
    def store_path(self) -> Path:
        """The demo's own store, kept apart from any real one."""
        return self.demo_dir / "thirdbook.db"

    def sources(self) -> list[SourceConfig]:
        """The watched sources that cover the demo's logs: thirdbook JSON lines, and the
        OTLP JSON lines a run with `otlp` writes."""
        return [
            SourceConfig(name="demo", paths=[str(self.logs / "*.jsonl")]),
            SourceConfig(
                name="demo-otel", paths=[str(self.logs / "*.otlp.json")], format="otlp-json"
            ),
        ]

    def reset(self) -> None:
        """Start from nothing: no logs, no store, fresh control files."""
        for name in ("logs", "control"):
            shutil.rmtree(self.demo_dir / name, ignore_errors=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.store_path}{suffix}").unlink(missing_ok=True)
        self.logs.mkdir(parents=True, exist_ok=True)
        write_initial_control(self.control_dir, self.clock.at(0))

    def _file(self, name: str) -> IO[bytes]:
        handle = self._files.get(name)
        if handle is None:
            handle = open(self.logs / name, "ab")  # noqa: SIM115
            self._files[name] = handle
        return handle

    def advance_to(self, demo_seconds: float) -> int:
        """Write every event due up to `demo_seconds`; returns how many lines."""
        events = self.estate.run_until(demo_seconds, self.control.serving)
        touched: set[str] = set()
        batches: dict[str, list[dict[str, Any]]] = {}
        written = 0
        for stream, record in events:
            if self.otlp and record.get("kind") in WRITABLE_KINDS:
                batches.setdefault(stream, []).append(record)
                continue
            name = f"{stream}.jsonl"
            self._file(name).write(orjson.dumps(record) + b"\n")
            touched.add(name)
            written += 1
        for stream, records in batches.items():
            name = f"{stream}.otlp.json"
            for first in range(0, len(records), OTLP_BATCH):
                batch = records[first : first + OTLP_BATCH]
                for line in otlp_lines(batch, service=f"demo-{stream}"):
                    self._file(name).write(line)
                    written += 1
            touched.add(name)
        for name in touched:
            self._files[name].flush()
        self.demo_seconds = demo_seconds
        self.lines_written += written
        self.events_written += len(events)
        return written

    async def run(self, stop: asyncio.Event, duration_s: float | None = None) -> None:
        """Run in real time scaled by the speed factor until stopped (or for `duration_s`),
        with the model server beside it."""
        self.model_server.start()
        self.clock.resume(self.demo_seconds)  # what is written from now is stamped now
        began = time.monotonic() - self.demo_seconds / self.speed
        try:
            while not stop.is_set():
                elapsed = time.monotonic() - began
                if duration_s is not None and elapsed >= duration_s:
                    self.advance_to(duration_s * self.speed)
                    break
                self.advance_to(elapsed * self.speed)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=TICK_S)
        finally:
            self.model_server.stop()
            self.close()

    def close(self) -> None:
        """Close the log files."""
        for handle in self._files.values():
            handle.close()
        self._files.clear()
