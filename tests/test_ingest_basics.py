"""Ingest's everyday behaviour: lines in, rows out, each exactly once."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import event_line, ingest_once, source, stored_request_ids
from thirdbook.store import Store


async def test_appended_lines_are_stored_once_each(store: Store, tmp_path: Path) -> None:
    log = tmp_path / "serving.jsonl"
    log.write_bytes(b"".join(event_line(i) for i in range(100)))
    await ingest_once(store, source(log))
    with log.open("ab") as handle:
        handle.write(b"".join(event_line(i) for i in range(100, 150)))
    await ingest_once(store, source(log))
    await ingest_once(store, source(log))
    assert await stored_request_ids(store) == [f"req-{i:08d}" for i in range(150)]


async def test_events_page_newest_first_by_keyset(store: Store, tmp_path: Path) -> None:
    log = tmp_path / "serving.jsonl"
    log.write_bytes(b"".join(event_line(i) for i in range(25)))
    await ingest_once(store, source(log))
    first = await store.events.page(limit=10)
    second = await store.events.page(before_id=first.next_key, limit=10)
    third = await store.events.page(before_id=second.next_key, limit=10)
    ids = [e.request_id for page in (first, second, third) for e in page.items]
    assert ids == [f"req-{i:08d}" for i in range(24, -1, -1)]
    assert third.next_key is None
