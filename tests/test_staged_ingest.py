"""A backlog parsed by the worker processes goes into the store staged (a small SQLite database
a batch, copied in one statement): the store ends up exactly as when the ingester parses the
same lines itself — every column of every event and reject, the batch chain verifying, and
the triggers handed the same events."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.helpers import FAST, event_line
from tests.multi_event_format import EventArrays, array_line
from thirdbook.config import IngestConfig, SourceConfig
from thirdbook.domain.events import BOM
from thirdbook.evidence.event_chain import verify_events
from thirdbook.ingest import backfill
from thirdbook.ingest import ingester as ingester_module
from thirdbook.ingest.ingester import Ingester
from thirdbook.store import Store

OTLP = Path(__file__).parent / "fixtures" / "otlp" / "openai_v2.jsonl"
SMALL_LINES = IngestConfig(**{**FAST.model_dump(), "max_line_bytes": 30_000, "batch_lines": 97})

EVENT_COLUMNS = (
    "id, ts_us, kind, request_id, request_key, subject, subject_key, model_name, "
    "model_version, weights_hash, route, file_id, byte_offset, line_index, raw"
)


def write_logs(folder: Path) -> list[SourceConfig]:
    """Three sources: thirdbook lines (a BOM first, bad and over-long lines among them), a
    format giving none to three events a line, and OTLP spans (a raw made per span)."""
    folder.mkdir()
    plain = [
        b"not json %d\n" % n if n % 11 == 3 else event_line(n, pad=40_000 * (n % 97 == 5))
        for n in range(2_000)
    ]
    (folder / "serving.jsonl").write_bytes(BOM + b"".join(plain))
    arrays = [
        array_line(*(event_line(5_000 + 3 * n + k) for k in range(n % 4))) for n in range(600)
    ]
    (folder / "arrays.log").write_bytes(b"".join(arrays))
    (folder / "spans.otlp.json").write_bytes(OTLP.read_bytes() * 3)
    return [
        SourceConfig(name="plain", paths=[str(folder / "serving.jsonl")]),
        SourceConfig(name="arrays", paths=[str(folder / "arrays.log")], format=EventArrays.name),
        SourceConfig(name="spans", paths=[str(folder / "spans.otlp.json")], format="otlp-json"),
    ]


async def ingest_all(
    path: Path, sources: list[SourceConfig], workers: bool
) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]], list[tuple[int, str, bytes]]]:
    """(events, rejects, what the triggers were handed) after one ingest of every source."""
    handed: list[tuple[int, str, bytes]] = []

    async def on_commit(committed: list[tuple[int, str, bytes]]) -> None:
        handed.extend(committed)

    store = await Store.open(path)
    ingester = Ingester(store, sources, SMALL_LINES)
    ingester.on_commit = on_commit
    try:
        await ingester.run(asyncio.Event(), once=True)
        assert bool(ingester.parsers.worker_pids()) == workers
        assert ingester.parsers.usable and not ingester.status.problems
    finally:
        await ingester.release()
    events = [
        tuple(r) for r in await store.fetchall(f"SELECT {EVENT_COLUMNS} FROM events ORDER BY id")
    ]
    rejects = [
        tuple(r)
        for r in await store.fetchall(
            "SELECT id, file_id, byte_offset, length, reason, raw, raw_complete FROM rejects "
            "ORDER BY id"
        )
    ]
    check = await verify_events(store)
    assert check.problems == [], check.problems
    assert (check.events, check.rejects) == (len(events), len(rejects))
    await store.close()
    return events, rejects, handed


@pytest.mark.parametrize("bulk", [False, True], ids=["indexed", "bulk-loaded"])
async def test_a_backlog_staged_by_the_workers_stores_what_the_ingester_would(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bulk: bool
) -> None:
    sources = write_logs(tmp_path / "logs")
    by_hand = await ingest_all(tmp_path / "by-hand.db", sources, workers=False)
    monkeypatch.setattr(ingester_module, "PARALLEL_BACKLOG", 0)  # any backlog: to the workers
    if bulk:
        monkeypatch.setattr(backfill, "BULK_BACKLOG", 0)  # and loaded without the indexes
    staged = await ingest_all(tmp_path / "staged.db", sources, workers=True)
    events, rejects, handed = staged
    assert len(events) > 2_400 and len(rejects) > 150
    assert any(r[12] == 0 and bytes(r[-1]).startswith(BOM) for r in events), "the BOM line"
    assert any("exceeds the limit" in str(r[4]) for r in rejects), "an over-long line"
    assert {r[2] for r in events} >= {"inference", "span", "agent_action"}
    assert [len(x) for x in staged] == [len(x) for x in by_hand]
    assert events == by_hand[0]
    assert rejects == by_hand[1]
    assert handed == by_hand[2]
    assert [(i, bytes(raw)) for i, _, raw in handed] == [(r[0], bytes(r[-1])) for r in events]
