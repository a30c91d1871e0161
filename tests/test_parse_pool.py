"""The parse workers: a dead one moves parsing into the ingester's own process (and the
health line says so), and no worker, nor multiprocessing's helpers, outlives the ingester."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import FAST, event_line, source, stored_request_ids
from tests.processes import marked, marked_env, new_marker, wait_for_none
from thirdbook.config import Settings
from thirdbook.ingest import ingester as ingester_module
from thirdbook.ingest.ingester import Ingester
from thirdbook.services.health import HealthMeter
from thirdbook.store import Store
from thirdbook.tui.widgets.health_line import health_text

FALLBACK = "parsing in process (workers failed)"


def ids(numbers: range) -> list[str]:
    return [f"req-{n:08d}" for n in numbers]


def append(log: Path, numbers: range) -> None:
    with log.open("ab") as writer:
        writer.write(b"".join(event_line(n) for n in numbers))


async def test_a_dead_parse_worker_moves_parsing_into_the_ingester(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingester_module, "PARALLEL_BACKLOG", 0)  # any backlog: to the workers
    log = tmp_path / "a.log"
    append(log, range(500))
    ingester = Ingester(store, source(log), FAST)
    try:
        await ingester.run(asyncio.Event(), once=True)
        [victim, *_] = ingester.parsers.worker_pids()
        os.kill(victim, signal.SIGKILL)
        append(log, range(500, 1000))
        await ingester.run(asyncio.Event(), once=True)
        assert await stored_request_ids(store) == ids(range(1000))  # ingest went on, whole
        assert not ingester.parsers.usable
        here = await HealthMeter(store, ingester, Settings()).read()
        assert FALLBACK in health_text(here).plain
        # Another console sees it too, from what the ingester published.
        other = await HealthMeter(store, Ingester(store, [], FAST), Settings()).read()
        assert FALLBACK in health_text(other).plain and not other.ingesting_here
        [note] = await store.ingest.notes(kinds=["parsing"])
        assert "a parse worker failed" in note.detail
        append(log, range(1000, 1500))  # and it stays so: no worker starts again
        await ingester.run(asyncio.Event(), once=True)
        assert ingester.parsers.worker_pids() == []
        assert await stored_request_ids(store) == ids(range(1500))
    finally:
        await ingester.release()


def big_backlog(log: Path) -> None:
    """Over 8 MiB: parsed by the worker processes."""
    log.write_bytes(b"".join(event_line(n) for n in range(45_000)))


def start(tmp_path: Path, marker: str, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "thirdbook.cli", "--data-dir", str(tmp_path / "data"), *args],
        env=marked_env(marker),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def forkserver_processes(marker: str, ingester: int) -> int:
    """How many of its processes are the fork server or its workers (forked from it)."""
    return sum(
        "multiprocessing.forkserver" in c for c in marked(marker, besides={ingester}).values()
    )


@pytest.mark.slow
def test_ingest_once_leaves_no_process_behind(tmp_path: Path) -> None:
    marker, log = new_marker(), tmp_path / "big.log"
    big_backlog(log)
    process = start(tmp_path, marker, "ingest", "--once", str(log))
    seen = 0
    while process.poll() is None:
        seen = max(seen, forkserver_processes(marker, process.pid))
        time.sleep(0.02)
    assert process.returncode == 0, process.stderr.read() if process.stderr else ""
    assert seen >= 2, "no worker process parsed the backlog"
    assert wait_for_none(marker) == {}, "processes outlived `thirdbook ingest --once`"


@pytest.mark.slow
def test_a_killed_ingester_leaves_no_process_behind(tmp_path: Path) -> None:
    marker, log = new_marker(), tmp_path / "big.log"
    big_backlog(log)
    process = start(tmp_path, marker, "ingest", str(log))
    try:
        deadline = time.monotonic() + 120
        while forkserver_processes(marker, process.pid) < 2 and time.monotonic() < deadline:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            time.sleep(0.02)
        assert forkserver_processes(marker, process.pid) >= 2, "no worker process started"
    finally:
        process.send_signal(signal.SIGKILL)  # no shutdown runs: the workers see it go
        process.wait(timeout=10)
    assert wait_for_none(marker) == {}, "processes outlived a killed `thirdbook ingest`"
