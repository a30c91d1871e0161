"""RELIABILITY A1, A4–A11: the tailer under fragments, rotation, truncation and bad bytes."""

from __future__ import annotations

import os
import shutil
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.helpers import (
    FAST,
    event_line,
    ingest_once,
    reject_reasons,
    source,
    stored_raw,
    stored_request_ids,
)
from thirdbook.config import IngestConfig, SourceConfig
from thirdbook.ingest.ingester import Ingester
from thirdbook.store import Store


async def _files(store: Store) -> list[tuple[str, int, str]]:
    rows = await store.fetchall("SELECT path, offset, state FROM files ORDER BY id")
    return [(r[0], r[1], r[2]) for r in rows]


@pytest.fixture
async def live(store: Store, tmp_path: Path) -> AsyncIterator[Ingester]:
    """An ingester holding the lease, driven pass by pass by the test."""
    ingester = Ingester(store, source(tmp_path / "logs" / "a.log*"), FAST)
    (tmp_path / "logs").mkdir()
    assert await ingester.acquire()
    yield ingester
    await ingester.release()


def ids(*ranges: range) -> list[str]:
    return [f"req-{i:08d}" for r in ranges for i in r]


# -- A1 --------------------------------------------------------------------------------------


async def test_fragments_split_inside_utf8_store_each_line_once(
    store: Store, live: Ingester, tmp_path: Path
) -> None:
    log = tmp_path / "logs" / "a.log"
    line = event_line(1).replace(b'"decline"', '"décline ✓ 日本"'.encode())
    cut1 = line.index("é".encode()) + 1  # inside the two-byte é
    cut2 = line.index("日".encode()) + 2  # inside the three-byte 日
    with log.open("ab", buffering=0) as writer:
        writer.write(event_line(0))
        for fragment in (line[:cut1], line[cut1:cut2]):
            writer.write(fragment)
            await live.ingest_available()
            assert await stored_request_ids(store) == ids(range(1))
            assert (await _files(store))[0][1] == len(event_line(0))  # offset at a line end
        writer.write(line[cut2:])
        await live.ingest_available()
    assert await stored_raw(store) == [event_line(0)[:-1], line[:-1]]
    assert (await _files(store))[0][1] == len(event_line(0)) + len(line)
    assert await reject_reasons(store) == []


async def test_unterminated_tail_is_not_stored(
    store: Store, live: Ingester, tmp_path: Path
) -> None:
    log = tmp_path / "logs" / "a.log"
    log.write_bytes(event_line(0) + event_line(1)[:-1])
    for _ in range(3):
        await live.ingest_available()
    assert await stored_request_ids(store) == ids(range(1))
    assert await reject_reasons(store) == []


# -- A4 --------------------------------------------------------------------------------------


async def test_rotation_while_running_loses_no_line(
    store: Store, live: Ingester, tmp_path: Path
) -> None:
    log = tmp_path / "logs" / "a.log"
    old = log.open("ab", buffering=0)
    old.write(b"".join(event_line(i) for i in range(50)))
    await live.ingest_available()
    log.rename(tmp_path / "logs" / "a.log.1")  # matched by the glob a.log* too
    log.touch()
    old.write(b"".join(event_line(i) for i in range(50, 60)))  # the writer has not reopened
    await live.ingest_available()
    old.close()
    with log.open("ab") as new:
        new.write(b"".join(event_line(i) for i in range(60, 80)))
    for _ in range(3):
        await live.ingest_available()
    assert sorted(await stored_request_ids(store)) == ids(range(80))
    assert len(await stored_request_ids(store)) == 80
    notes = await store.ingest.notes(kinds=["rotated"])
    assert any("a.log.1" in n.detail for n in notes)


async def test_rotated_out_of_the_glob_is_drained_then_released(
    store: Store, tmp_path: Path
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    ingester = Ingester(store, source(logs / "*.log"), FAST)
    assert await ingester.acquire()
    log = logs / "a.log"
    writer = log.open("ab", buffering=0)
    writer.write(b"".join(event_line(i) for i in range(10)))
    await ingester.ingest_available()
    log.rename(logs / "a.log.1")  # no longer matched
    writer.write(b"".join(event_line(i) for i in range(10, 15)))
    writer.close()
    await ingester.ingest_available()
    assert await stored_request_ids(store) == ids(range(15))
    await _wait_released(ingester)
    await ingester.release()
    assert (await _files(store))[0][2] == "released"


async def _wait_released(ingester: Ingester) -> None:
    import asyncio

    for _ in range(100):
        await ingester.ingest_available()
        if not ingester.tails:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the file was never released")


# -- A5 --------------------------------------------------------------------------------------


async def test_rotation_while_stopped_reads_the_rest_of_the_rotated_file(
    store: Store, tmp_path: Path
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    log = logs / "a.log"
    log.write_bytes(b"".join(event_line(i) for i in range(20)))
    await ingest_once(store, source(log))
    with log.open("ab") as writer:  # written while ingest is stopped
        writer.write(b"".join(event_line(i) for i in range(20, 30)))
    log.rename(logs / "a.log.1")
    log.write_bytes(b"".join(event_line(i) for i in range(30, 40)))
    await ingest_once(store, source(log))
    assert await stored_request_ids(store) == ids(range(40))


async def test_rotated_file_gone_while_stopped_is_a_recorded_gap(
    store: Store, tmp_path: Path
) -> None:
    from thirdbook.services.factory import build_services

    logs, archive = tmp_path / "logs", tmp_path / "archive"
    logs.mkdir()
    archive.mkdir()
    log = logs / "a.log"
    log.write_bytes(b"".join(event_line(i) for i in range(20)))
    await ingest_once(store, source(log))
    with log.open("ab") as writer:
        writer.write(b"".join(event_line(i) for i in range(20, 30)))
    log.rename(archive / "a.log.1")  # rotated and shipped away before ingest came back
    log.write_bytes(b"".join(event_line(i) for i in range(30, 35)))
    await ingest_once(store, source(log))
    assert await stored_request_ids(store) == ids(range(20), range(30, 35))
    [note] = await store.ingest.notes(kinds=["gap"])
    assert "while ingest was stopped" in note.detail and "a.log" in note.detail
    health = await build_services(store, sources=source(log)).health.read()
    assert health.gaps == 1


async def test_file_replaced_while_stopped_is_never_silent(store: Store, tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_bytes(b"".join(event_line(i) for i in range(20)))
    await ingest_once(store, source(log))
    log.unlink()  # the new file may or may not get the old inode back
    log.write_bytes(b"".join(event_line(i) for i in range(30, 35)))
    await ingest_once(store, source(log))
    assert await stored_request_ids(store) == ids(range(20), range(30, 35))
    notes = await store.ingest.notes(kinds=["gap", "truncated"])
    assert len(notes) == 1 and "while ingest was stopped" in notes[0].detail


# -- A6 / A7 ---------------------------------------------------------------------------------


async def test_copytruncate_while_running_restarts_at_zero(
    store: Store, live: Ingester, tmp_path: Path
) -> None:
    log = tmp_path / "logs" / "a.log"
    writer = log.open("ab", buffering=0)
    writer.write(b"".join(event_line(i) for i in range(30)))
    await live.ingest_available()
    shutil.copy(log, tmp_path / "copy-outside-the-glob.log")
    os.truncate(log, 0)
    writer.write(b"".join(event_line(i) for i in range(30, 35)))  # O_APPEND: lands at 0
    writer.close()
    await live.ingest_available()
    assert await stored_request_ids(store) == ids(range(35))
    notes = await store.ingest.notes(kinds=["truncated"])
    assert len(notes) == 1 and "shrank" in notes[0].detail


async def test_truncated_and_regrown_between_passes_is_detected(
    store: Store, live: Ingester, tmp_path: Path
) -> None:
    log = tmp_path / "logs" / "a.log"
    log.write_bytes(b"".join(event_line(i) for i in range(10)))
    await live.ingest_available()
    log.write_bytes(b"".join(event_line(i, pad=40) for i in range(100, 120)))  # longer now
    await live.ingest_available()
    assert await stored_request_ids(store) == ids(range(10), range(100, 120))


async def test_truncated_while_stopped_then_grown_past_old_offset_is_read_again(
    store: Store, tmp_path: Path
) -> None:
    log = tmp_path / "a.log"
    log.write_bytes(b"".join(event_line(i) for i in range(10)))
    await ingest_once(store, source(log))
    old_size = log.stat().st_size
    with log.open("wb") as writer:  # truncate, then write more than before
        writer.write(b"".join(event_line(i, pad=30) for i in range(200, 220)))
    assert log.stat().st_size > old_size
    await ingest_once(store, source(log))
    assert await stored_request_ids(store) == ids(range(10), range(200, 220))
    assert len(await store.ingest.notes(kinds=["truncated"])) == 1


# -- A8 --------------------------------------------------------------------------------------


async def test_two_files_with_identical_first_bytes_are_not_confused(
    store: Store, tmp_path: Path
) -> None:
    header = b"".join(event_line(i, pad=100) for i in range(10))  # > the 1 KiB fingerprint
    (tmp_path / "a.log").write_bytes(header + b"".join(event_line(i) for i in range(100, 105)))
    (tmp_path / "b.log").write_bytes(header + b"".join(event_line(i) for i in range(200, 203)))
    await ingest_once(store, source(tmp_path / "*.log"))
    assert sorted(await stored_request_ids(store)) == sorted(
        ids(range(10), range(100, 105), range(10), range(200, 203))
    )
    with (tmp_path / "b.log").open("ab") as writer:
        writer.write(event_line(204))
    await ingest_once(store, source(tmp_path / "*.log"))
    assert (await stored_request_ids(store))[-1] == "req-00000204"
    assert len(await stored_request_ids(store)) == 10 + 5 + 10 + 3 + 1


async def test_inode_reused_by_a_file_with_the_same_first_bytes_is_read_from_zero(
    store: Store, tmp_path: Path
) -> None:
    header = b"".join(event_line(i, pad=100) for i in range(10))
    old = tmp_path / "a.log"
    old.write_bytes(header + b"".join(event_line(i) for i in range(100, 110)))
    await ingest_once(store, source(tmp_path / "*.log"))
    old.unlink()
    new = tmp_path / "b.log"
    new.write_bytes(header + b"".join(event_line(i) for i in range(300, 330)))
    # Make the checkpoint claim the new file's inode, as a filesystem reusing it would.
    st = new.stat()
    async with store.write() as conn:
        await conn.execute("UPDATE files SET dev = ?, ino = ?", (st.st_dev, st.st_ino))
    await ingest_once(store, source(tmp_path / "*.log"))
    got = await stored_request_ids(store)
    assert got == ids(range(10), range(100, 110), range(10), range(300, 330))


# -- A9 --------------------------------------------------------------------------------------


async def test_file_deleted_while_open_is_read_to_its_end_then_released(
    store: Store, live: Ingester, tmp_path: Path
) -> None:
    log = tmp_path / "logs" / "a.log"
    writer = log.open("ab", buffering=0)
    writer.write(b"".join(event_line(i) for i in range(10)))
    await live.ingest_available()
    writer.write(b"".join(event_line(i) for i in range(10, 20)))
    log.unlink()
    writer.write(b"".join(event_line(i) for i in range(20, 25)))  # still being written
    writer.close()
    await _wait_released(live)
    assert await stored_request_ids(store) == ids(range(25))
    assert (await _files(store))[0][2] == "released"


# -- A10 -------------------------------------------------------------------------------------


async def test_ten_megabyte_line_is_rejected_with_bounded_memory(
    store: Store, tmp_path: Path
) -> None:
    log = tmp_path / "a.log"
    huge = b'{"v":1,"kind":"inference","junk":"' + b"x" * (10 * 1024 * 1024)
    with log.open("wb") as writer:
        writer.write(event_line(0))
        writer.write(huge + b"\n")
        writer.write(b"".join(event_line(i) for i in range(1, 50)))
    settings = IngestConfig(**{**FAST.model_dump(), "read_chunk_bytes": 256 * 1024})
    tracemalloc.start()
    await ingest_once(store, source(log), settings)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 6 * 1024 * 1024, f"peak {peak} bytes while skipping a 10 MB line"
    assert await stored_request_ids(store) == ids(range(50))
    [(offset, reason, raw)] = await reject_reasons(store)
    assert offset == len(event_line(0))
    assert "exceeds the limit" in reason and str(len(huge)) in reason
    assert raw == huge[: 64 * 1024]


# -- A11 -------------------------------------------------------------------------------------


async def test_bad_bytes_are_kept_verbatim_with_reasons(store: Store, tmp_path: Path) -> None:
    bad = {
        # Otherwise valid events: only the bad bytes are wrong with them.
        "invalid utf-8": event_line(4).replace(b"applicant-4", b"applicant-\xff\xfe"),
        "nul": event_line(5).replace(b"applicant-5", b"appli\x00cant"),
        "invalid json": b'{"v":1,"kind":\n',
        "deep": b"[" * 5000 + b"]" * 5000 + b"\n",
        "not an object": b"[1, 2, 3]\n",
        "wrong shape": b'{"v":1,"kind":"metric","ts":"2026-11-27T10:00:00+00:00"}\n',
        "unknown kind": b'{"v":1,"kind":"telepathy","ts":"2026-11-27T10:00:00+00:00"}\n',
        "naive time": event_line(7).replace(b"+00:00", b""),
        "empty": b"\n",
    }
    bom_line = b"\xef\xbb\xbf" + event_line(1)
    crlf_line = event_line(2)[:-1] + b"\r\n"
    content = bom_line + crlf_line + b"".join(bad.values()) + event_line(3)
    (tmp_path / "a.log").write_bytes(content)
    await ingest_once(store, source(tmp_path / "a.log"))
    assert await stored_request_ids(store) == ids(range(1, 4))
    assert (await stored_raw(store))[:2] == [bom_line[:-1], crlf_line[:-1]]  # verbatim
    rejects = await reject_reasons(store)
    assert [raw + b"\n" for _, _, raw in rejects] == list(bad.values())
    reasons = dict(zip(bad, (reason for _, reason, _ in rejects), strict=True))
    assert reasons["invalid utf-8"].startswith("invalid UTF-8")
    assert reasons["nul"].startswith("contains a NUL byte")
    assert reasons["invalid json"].startswith("invalid JSON")
    assert "recursion" in reasons["deep"]
    assert reasons["not an object"] == "wrong shape: a line must be a JSON object"
    assert "model: Field required" in reasons["wrong shape"]
    assert "telepathy" in reasons["unknown kind"]
    assert "timezone" in reasons["naive time"]
    assert reasons["empty"] == "empty line"
    offsets = [offset for offset, _, _ in rejects]
    assert offsets[0] == len(bom_line) + len(crlf_line)
    assert all(content[o : o + 1] == list(bad.values())[i][:1] for i, o in enumerate(offsets))


async def test_source_name_and_offset_are_recorded_with_rejects(
    store: Store, tmp_path: Path
) -> None:
    (tmp_path / "a.log").write_bytes(event_line(0) + b"nope\n")
    await ingest_once(store, [SourceConfig(name="serving", paths=[str(tmp_path / "a.log")])])
    page = await store.events.rejects_page()
    [reject] = page.items
    assert (reject.source, reject.path, reject.byte_offset) == (
        "serving",
        str(tmp_path / "a.log"),
        len(event_line(0)),
    )
    assert reject.raw == b"nope" and reject.raw_complete


async def test_copytruncate_copy_inside_the_glob_is_not_read_twice(
    store: Store, live: Ingester, tmp_path: Path
) -> None:
    log = tmp_path / "logs" / "a.log"
    writer = log.open("ab", buffering=0)
    writer.write(b"".join(event_line(i) for i in range(30)))
    await live.ingest_available()
    writer.write(b"".join(event_line(i) for i in range(30, 40)))  # not read yet
    shutil.copy(log, tmp_path / "logs" / "a.log.1")  # matched by a.log* too
    os.truncate(log, 0)
    writer.write(b"".join(event_line(i) for i in range(40, 45)))
    writer.close()
    for _ in range(3):
        await live.ingest_available()
    got = await stored_request_ids(store)
    assert sorted(got) == ids(range(45)) and len(got) == 45  # each line once
    [copy] = await store.ingest.notes(kinds=["copy"])
    assert "a.log.1 is the copy of" in copy.detail
