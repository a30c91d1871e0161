"""RELIABILITY B1–B4: one store, several processes, full disks and network filesystems."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.helpers import FAST, event_line, source, stored_request_ids
from thirdbook.cli import main
from thirdbook.ingest.ingester import Ingester
from thirdbook.services.factory import build_services
from thirdbook.store import NetworkFilesystemError, Store, StoreClosedError

CONSOLE_WORKER = """
import asyncio, sys
from pathlib import Path
from thirdbook.store import Store

async def main(path, n, name):
    store = await Store.open(Path(path))
    for i in range(n):
        await store.ingest.add_note(None, "console", f"{name} {i}")
        await store.events.page(limit=20)
    await store.close()

asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3]))
"""


@pytest.mark.slow
async def test_ingester_and_consoles_writing_at_once_never_see_locked(tmp_path: Path) -> None:
    db = tmp_path / "data" / "thirdbook.db"
    log = tmp_path / "a.log"
    log.write_bytes(b"".join(event_line(i) for i in range(30_000)))
    (tmp_path / "thirdbook.toml").write_text("[ingest]\nbatch_lines = 500\n")
    ingester = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "thirdbook.cli",
            "--data-dir",
            str(db.parent),
            "ingest",
            "--once",
            str(log),
        ],
        stderr=subprocess.PIPE,
    )
    consoles = [
        subprocess.Popen(
            [sys.executable, "-c", CONSOLE_WORKER, str(db), "300", f"c{k}"], stderr=subprocess.PIPE
        )
        for k in range(4)
    ]
    results = [
        (p.wait(timeout=180), p.stderr.read() if p.stderr else b"") for p in [ingester, *consoles]
    ]
    for code, err in results:
        assert code == 0, err.decode()
        assert b"locked" not in err
    store = await Store.open(db)
    try:
        assert len(await stored_request_ids(store)) == 30_000
        notes = await store.fetchall("SELECT count(*) FROM ingest_notes WHERE kind = 'console'")
        assert notes[0][0] == 1200
    finally:
        await store.close()


async def test_every_write_starts_with_begin_immediate(store: Store, tmp_path: Path) -> None:
    statements: list[str] = []
    await store.conn.set_trace_callback(statements.append)
    log = tmp_path / "a.log"
    log.write_bytes(b"".join(event_line(i) for i in range(50)) + b"junk\n")
    ingester = Ingester(store, source(log), FAST)
    await ingester.run(asyncio.Event(), once=True)
    await ingester.release()
    await store.ingest.add_note(None, "test", "a note")
    await store.conn.set_trace_callback(None)
    writes = 0
    in_immediate = False
    for statement in statements:
        word = statement.lstrip().split(None, 1)[0].upper()
        if statement.strip().upper() == "BEGIN IMMEDIATE":
            in_immediate = True
        elif word in {"COMMIT", "ROLLBACK", "END"}:
            in_immediate = False
        elif word == "BEGIN":
            raise AssertionError(f"a deferred transaction: {statement}")
        elif word in {"INSERT", "UPDATE", "DELETE", "REPLACE"}:
            writes += 1
            assert in_immediate, f"a write outside BEGIN IMMEDIATE: {statement}"
    assert writes > 5


@pytest.mark.slow
async def test_wal_stays_bounded_while_a_console_reads_during_ingest(
    store: Store, tmp_path: Path
) -> None:
    log = tmp_path / "a.log"
    log.write_bytes(b"".join(event_line(i, pad=400) for i in range(120_000)))  # ~70 MB
    wal = Path(f"{store.path}-wal")
    reader_store = await Store.open(store.path)
    console = build_services(reader_store)
    done = asyncio.Event()
    sizes: list[int] = []

    async def read_like_a_console() -> None:
        while not done.is_set():
            await console.queries.events(limit=100)
            await console.health.read()
            sizes.append(wal.stat().st_size if wal.exists() else 0)
            await asyncio.sleep(0.02)

    reader = asyncio.create_task(read_like_a_console())
    ingester = Ingester(store, source(log), FAST)
    await ingester.run(asyncio.Event(), once=True)
    await ingester.release()
    done.set()
    await reader
    await reader_store.close()
    # Large enough for a bulk load (parsing in worker processes, indexes dropped and built
    # again after): still every line once, in order, with every index back.
    assert await stored_request_ids(store) == [f"req-{i:08d}" for i in range(120_000)]
    assert await store.missing_event_indexes() == []
    assert [n.kind for n in await store.ingest.notes(kinds=["indexes"])] == ["indexes"]
    assert log.stat().st_size > 60 * 1024 * 1024
    assert max(sizes) < 64 * 1024 * 1024, f"WAL grew to {max(sizes)} bytes"


async def test_disk_full_pauses_ingest_then_resumes_without_loss(
    store: Store, tmp_path: Path
) -> None:
    log = tmp_path / "a.log"
    log.write_bytes(b"".join(event_line(i, pad=200) for i in range(2000)))
    pages = (await store.fetchone("PRAGMA page_count"))[0]  # type: ignore[index]
    await store.conn.execute(f"PRAGMA max_page_count = {pages + 2}")  # a full disk, for real
    ingester = Ingester(store, source(log), FAST)
    stop = asyncio.Event()
    task = asyncio.create_task(ingester.run(stop))
    for _ in range(1500):
        if ingester.status.paused_reason:
            break
        await asyncio.sleep(0.02)
    assert ingester.status.paused_reason is not None
    assert "full" in ingester.status.paused_reason
    health = await build_services(store).health.read()
    assert health.paused_reason is None or "full" in health.paused_reason
    offsets = await store.fetchall("SELECT offset FROM files")
    count = await store.events.count()
    assert all(row[0] in (0, *_line_ends(log)) for row in offsets)
    assert count == 0 or count < 2000  # nothing half-written, offset at a line end
    await store.conn.execute("PRAGMA max_page_count = 1073741823")  # space again
    for _ in range(300):
        if len(await stored_request_ids(store)) == 2000:
            break
        await asyncio.sleep(0.05)
    stop.set()
    await task
    await ingester.release()
    assert await stored_request_ids(store) == [f"req-{i:08d}" for i in range(2000)]
    assert ingester.status.paused_reason is None
    assert [n.kind for n in await store.ingest.notes(kinds=["resumed"])] == ["resumed"]


async def test_io_error_during_commit_rolls_back_and_retries(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "a.log"
    log.write_bytes(b"".join(event_line(i) for i in range(300)))
    real = store.ingest.commit_batch
    failures = {"left": 2}

    async def flaky(*args: object, **kwargs: object) -> None:
        if failures["left"]:
            failures["left"] -= 1
            async with store.write() as conn:  # a real transaction, then the I/O error
                await conn.execute(
                    "INSERT INTO ingest_notes (ts_us, kind, detail) "
                    "VALUES (0, 'doomed', 'rolled back')"
                )
                raise sqlite3.OperationalError("disk I/O error")
        await real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(store.ingest, "commit_batch", flaky)
    ingester = Ingester(store, source(log), FAST)
    stop = asyncio.Event()
    task = asyncio.create_task(ingester.run(stop))
    for _ in range(200):
        if len(await stored_request_ids(store)) == 300:
            break
        await asyncio.sleep(0.05)
    stop.set()
    await task
    await ingester.release()
    assert await stored_request_ids(store) == [f"req-{i:08d}" for i in range(300)]
    assert await store.ingest.notes(kinds=["doomed"]) == []
    assert failures["left"] == 0


def _line_ends(log: Path) -> list[int]:
    data = log.read_bytes()
    return [i + 1 for i, byte in enumerate(data) if byte == 0x0A]


NFS_MOUNTINFO = """\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
40 22 0:45 / /mnt/shared rw,relatime shared:20 - nfs4 filer:/export rw,vers=4.2
41 22 0:46 / /mnt/shared/local\\040disk rw,relatime - ext4 /dev/sdb1 rw
"""


async def test_store_on_network_filesystem_is_refused(tmp_path: Path) -> None:
    with pytest.raises(NetworkFilesystemError, match="network filesystem \\(nfs4\\)"):
        await Store.open(Path("/mnt/shared/ops/thirdbook.db"), mountinfo=NFS_MOUNTINFO)


async def test_local_mount_inside_a_network_one_is_allowed() -> None:
    from thirdbook.store.filesystem import network_filesystem

    assert network_filesystem(Path("/mnt/shared/local disk/x"), NFS_MOUNTINFO) is None
    assert network_filesystem(Path("/mnt/shared/x"), NFS_MOUNTINFO) == "nfs4"
    assert network_filesystem(Path("/home/x"), NFS_MOUNTINFO) is None


def test_cli_reports_network_filesystem_clearly(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import thirdbook.store.connection as connection
    import thirdbook.store.quick_reads as quick_reads

    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    assert CliRunner().invoke(main, ["ingest", "--once", str(empty)]).exit_code == 0  # a store
    # Both ways of opening the store read the mount table: the quick reads step aside, and
    # the store's own open refuses.
    for module in (connection, quick_reads):
        monkeypatch.setattr(module, "network_filesystem", lambda path, mountinfo=None: "cifs")
    result = CliRunner().invoke(main, ["events"])
    assert result.exit_code == 1
    assert "network filesystem (cifs)" in result.output
    assert "local disk" in result.output


async def test_closing_the_store_lets_a_query_on_its_way_finish_and_refuses_later_ones(
    tmp_path: Path,
) -> None:
    """A console closing under a refresh: the refresh gets its rows, not a closed-database
    crash; a query asked for after the close says the store is closed."""
    store = await Store.open(tmp_path / "data" / "thirdbook.db")
    slow = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300000) "
    reading = asyncio.ensure_future(store.fetchall(slow + "SELECT count(*) FROM n"))
    await asyncio.sleep(0)  # the read is on its way
    await store.close()
    assert (await reading)[0][0] == 300000
    with pytest.raises(StoreClosedError, match="is closed"):
        await store.fetchall("SELECT 1")


async def test_a_write_cancelled_at_any_point_leaves_the_store_writable(store: Store) -> None:
    """A console's esc (or Ctrl-C) cancels a replay while it keeps an answer: whatever
    statement the cancel lands on, the next write must still begin its own transaction."""
    written = 0
    for attempt in range(60):

        async def keep_notes() -> None:
            nonlocal written
            while True:
                await store.ingest.add_note(None, "console", "a note")
                written += 1

        task = asyncio.create_task(keep_notes())
        await asyncio.sleep(0.0005 * (attempt % 12))  # lands on BEGIN, INSERT or COMMIT
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await store.ingest.add_note(None, "console", f"after cancel {attempt}")
    assert written > 0
