"""Exactly one ingester per store, and a core that never needs Textual."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import FAST, event_line, source, stored_request_ids
from thirdbook.config import IngestConfig
from thirdbook.domain.records import EventFilter
from thirdbook.ingest.ingester import Ingester
from thirdbook.store import LeaseLostError, Store


async def test_second_ingester_waits_then_takes_over_a_stale_lease(
    store: Store, tmp_path: Path
) -> None:
    log = tmp_path / "a.log"
    log.write_bytes(b"".join(event_line(i) for i in range(10)))
    short = IngestConfig(**{**FAST.model_dump(), "lease_ttl_s": 0.6})
    first = Ingester(store, source(log), short)
    second = Ingester(store, source(log), short)
    assert await first.acquire()
    assert not await second.acquire()  # the first is alive and renewing
    await first.ingest_available()
    await asyncio.sleep(0.7)  # the first stops renewing (a hung process, say)
    assert await second.acquire()
    with log.open("ab") as writer:
        writer.write(b"".join(event_line(i) for i in range(10, 20)))
    with pytest.raises(LeaseLostError):
        await first.ingest_available()  # its commit is refused: no split brain
    await second.ingest_available()
    assert await stored_request_ids(store) == [f"req-{i:08d}" for i in range(20)]
    lease = await store.leases.current()
    assert lease is not None and lease.holder == second.holder
    await first.release()  # releasing a lease it lost leaves the new holder alone
    assert (await store.leases.current()) is not None
    await second.release()
    assert await store.leases.current() is None


async def test_dead_local_holder_is_replaced_at_once(store: Store) -> None:
    assert await store.leases.try_acquire("ghost", user="bob", ttl_s=3600)
    async with store.write() as conn:
        await conn.execute("UPDATE leases SET pid = 2147483646")  # no such process
    assert await store.leases.try_acquire("me", user="alice", ttl_s=3600)


async def test_indexes_lost_to_an_interrupted_bulk_load_are_rebuilt(
    store: Store, tmp_path: Path
) -> None:
    await store.drop_event_indexes()  # as a bulk load killed before it rebuilt them
    log = tmp_path / "a.log"
    log.write_bytes(event_line(1))
    ingester = Ingester(store, source(log), FAST)
    await ingester.run(asyncio.Event(), once=True)
    await ingester.release()
    assert await store.missing_event_indexes() == []
    [note] = await store.ingest.notes(kinds=["indexes"])
    assert "interrupted bulk load" in note.detail
    page = await store.events.page(EventFilter(request_id="req-00000001"))
    assert [e.request_id for e in page.items] == ["req-00000001"]


def test_core_packages_never_import_textual() -> None:
    code = (
        "import sys\n"
        "import thirdbook.cli, thirdbook.services.factory, thirdbook.services.demo\n"
        "import thirdbook.ingest.ingester, thirdbook.store, thirdbook.demo.runner\n"
        "assert 'textual' not in sys.modules, 'a core module imported textual'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
