"""Rotations found by identity and fingerprint wherever logrotate leaves them (issue 9).

Each test plays one thing logrotate (or a person) does to a watched file, with a narrow
source (the live file only) unless it says otherwise, and checks every line is stored once.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.helpers import FAST, event_line, ingest_once, reject_reasons, source, stored_request_ids
from thirdbook.config import IngestConfig, SourceConfig
from thirdbook.ingest.ingester import Ingester
from thirdbook.ingest.rotation import settle_pending
from thirdbook.store import Store


@contextlib.asynccontextmanager
async def following(
    store: Store, sources: list[SourceConfig], settings: IngestConfig = FAST
) -> AsyncIterator[Ingester]:
    """An ingester holding the lease, driven pass by pass by the test."""
    ingester = Ingester(store, sources, settings)
    assert await ingester.acquire()
    try:
        yield ingester
    finally:
        await ingester.release()


def ids(*ranges: range) -> list[str]:
    return [f"req-{i:08d}" for r in ranges for i in r]


def lines(numbers: range) -> bytes:
    return b"".join(event_line(i, pad=30) for i in numbers)


async def test_rotation_compressed_while_stopped_is_read_through_the_decompressor(
    store: Store, tmp_path: Path
) -> None:
    log = tmp_path / "app.jsonl"
    log.write_bytes(lines(range(40)))
    await ingest_once(store, source(log))
    with log.open("ab") as writer:
        writer.write(lines(range(40, 60)))  # written, never read
    rotated = tmp_path / "app.jsonl.1"
    log.rename(rotated)
    (tmp_path / "app.jsonl.1.gz").write_bytes(gzip.compress(rotated.read_bytes()))
    rotated.unlink()  # compress without delaycompress: only the .gz is left
    log.write_bytes(lines(range(60, 70)))  # may well get the freed inode back
    await ingest_once(store, source(log))
    assert sorted(await stored_request_ids(store)) == ids(range(70))
    assert await reject_reasons(store) == []
    assert [n for n in await store.ingest.notes(kinds=["gap"])] == []


async def test_copytruncate_copy_outside_the_glob_supplies_the_unread_tail(
    store: Store, tmp_path: Path
) -> None:
    log = tmp_path / "app.jsonl"
    writer = log.open("ab", buffering=0)
    writer.write(lines(range(30)))
    await ingest_once(store, source(log))
    writer.write(lines(range(30, 45)))  # not read before the rotation
    shutil.copy(log, tmp_path / "app.jsonl.1")  # only the live file is watched
    os.truncate(log, 0)
    writer.write(lines(range(45, 50)))
    writer.close()
    await ingest_once(store, source(log))
    got = await stored_request_ids(store)
    assert sorted(got) == ids(range(50)) and len(got) == 50
    [copy] = await store.ingest.notes(kinds=["copy"])
    assert "app.jsonl.1 is the copy of" in copy.detail


async def test_file_created_and_rotated_away_while_stopped_is_read(
    store: Store, tmp_path: Path
) -> None:
    log = tmp_path / "app.jsonl"
    log.write_bytes(lines(range(10)))
    await ingest_once(store, source(log))
    log.rename(tmp_path / "app.jsonl.2")  # the file ingest knew
    log.write_bytes(lines(range(10, 20)))  # a file ingest never saw ...
    log.rename(tmp_path / "app.jsonl.1")  # ... rotated away before it came back
    log.write_bytes(lines(range(20, 25)))
    await ingest_once(store, source(log))
    assert sorted(await stored_request_ids(store)) == ids(range(25))


async def test_rotations_older_than_ingest_are_not_read(store: Store, tmp_path: Path) -> None:
    old = tmp_path / "app.jsonl.3.gz"
    old.write_bytes(gzip.compress(lines(range(100, 110))))
    os.utime(old, (time.time() - 86400, time.time() - 86400))  # last month's rotations
    log = tmp_path / "app.jsonl"
    log.write_bytes(lines(range(5)))
    await ingest_once(store, source(log))
    assert await stored_request_ids(store) == ids(range(5))


async def test_rotation_into_olddir_while_stopped_is_finished(store: Store, tmp_path: Path) -> None:
    logs, old = tmp_path / "logs", tmp_path / "old"
    logs.mkdir()
    old.mkdir()
    log = logs / "app.jsonl"
    sources = [SourceConfig(name="app", paths=[str(log)], olddirs=[str(old)])]
    log.write_bytes(lines(range(10)))
    await ingest_once(store, sources)
    with log.open("ab") as writer:
        writer.write(lines(range(10, 20)))
    log.rename(old / "app.jsonl-20261201")  # dateext into olddir
    log.write_bytes(lines(range(20, 23)))
    await ingest_once(store, sources)
    assert sorted(await stored_request_ids(store)) == ids(range(23))
    assert await store.ingest.notes(kinds=["gap"]) == []


async def test_compressed_rotation_matched_by_a_wide_glob_is_never_read_as_text(
    store: Store, tmp_path: Path
) -> None:
    log = tmp_path / "app.jsonl"
    log.write_bytes(lines(range(10)))
    wide = source(f"{log}*")
    await ingest_once(store, wide)
    log.rename(tmp_path / "app.jsonl.1")
    log.write_bytes(lines(range(10, 15)))
    await ingest_once(store, wide)
    rotated = tmp_path / "app.jsonl.1"
    (tmp_path / "app.jsonl.1.gz").write_bytes(gzip.compress(rotated.read_bytes()))
    rotated.unlink()
    await ingest_once(store, wide)
    got = await stored_request_ids(store)
    assert sorted(got) == ids(range(15)) and len(got) == 15
    assert await reject_reasons(store) == []


async def test_half_written_gzip_is_read_once_it_is_complete(store: Store, tmp_path: Path) -> None:
    log = tmp_path / "app.jsonl"
    log.write_bytes(lines(range(10)))
    await ingest_once(store, source(log))
    with log.open("ab") as writer:
        writer.write(lines(range(10, 30)))
    rotated = tmp_path / "app.jsonl.1"
    log.rename(rotated)
    whole = gzip.compress(rotated.read_bytes())
    rotated.unlink()
    gz = tmp_path / "app.jsonl.1.gz"
    gz.write_bytes(whole[: len(whole) // 2])  # logrotate is still compressing
    log.write_bytes(b"")

    async with following(store, source(log), IngestConfig(rotation_wait_s=30)) as ingester:
        await ingester.ingest_available()
        assert sorted(await stored_request_ids(store)) == ids(range(10))
        with gz.open("ab") as writer:
            writer.write(whole[len(whole) // 2 :])
        await ingester.ingest_available()
        got = await stored_request_ids(store)
        assert sorted(got) == ids(range(30)) and len(got) == 30
    assert await reject_reasons(store) == []


async def test_rotated_file_gone_from_disk_is_a_gap_with_its_byte_range(
    store: Store, tmp_path: Path
) -> None:
    log = tmp_path / "app.jsonl"
    log.write_bytes(lines(range(10)))
    await ingest_once(store, source(log))
    read_to = log.stat().st_size
    with log.open("ab") as writer:
        writer.write(lines(range(10, 12)))
    (tmp_path / "shipped").mkdir()
    log.rename(tmp_path / "shipped" / "app.jsonl.1")  # rotated and shipped off while stopped
    log.write_bytes(lines(range(20, 22)))
    await ingest_once(store, source(log))
    [gap] = await store.ingest.notes(kinds=["gap"])
    assert gap.gap_start == read_to
    assert "while ingest was stopped" in gap.detail


async def test_symlink_out_of_the_watched_directory_is_refused_unread(
    store: Store, tmp_path: Path
) -> None:
    logs, secret = tmp_path / "logs", tmp_path / "elsewhere"
    logs.mkdir()
    secret.mkdir()
    (secret / "shadow").write_bytes(b"root:$6$hash:19000:0:99999:7:::\n")
    (logs / "app.jsonl").write_bytes(lines(range(3)))
    (logs / "evil.jsonl").symlink_to(secret / "shadow")
    await ingest_once(store, source(logs / "*.jsonl"))
    assert await stored_request_ids(store) == ids(range(3))
    assert await reject_reasons(store) == []  # nothing of the target was read
    [refused] = await store.ingest.notes(kinds=["refused"])
    assert "evil.jsonl" in refused.detail and "outside" in refused.detail


async def test_symlink_to_another_watched_file_is_read_once(store: Store, tmp_path: Path) -> None:
    (tmp_path / "app.jsonl").write_bytes(lines(range(4)))
    (tmp_path / "alias.jsonl").symlink_to(tmp_path / "app.jsonl")
    await ingest_once(store, source(tmp_path / "*.jsonl"))
    got = await stored_request_ids(store)
    assert sorted(got) == ids(range(4)) and len(got) == 4


def test_status_shows_each_gap_with_the_bytes_lost(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from thirdbook.cli import main

    logs = tmp_path / "logs"
    logs.mkdir()
    log = logs / "app.jsonl"
    log.write_bytes(lines(range(10)))
    runner = CliRunner()
    assert runner.invoke(main, ["ingest", "--once", str(log)]).exit_code == 0
    read_to = log.stat().st_size
    with log.open("ab") as writer:
        writer.write(lines(range(10, 12)))
    (tmp_path / "shipped").mkdir()
    log.rename(tmp_path / "shipped" / "app.jsonl.1")
    log.write_bytes(lines(range(20, 22)))
    assert runner.invoke(main, ["ingest", "--once", str(log)]).exit_code == 0
    result = runner.invoke(main, ["status"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "gaps        1" in result.output
    # Piped, one gap a line, whole: when, the byte range, the bytes lost, why.
    gap_line = next(x for x in result.output.splitlines() if f" {read_to}.." in x)
    assert "while ingest was stopped" in gap_line


async def test_copy_found_before_its_truncate_is_noticed_is_read_once(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from thirdbook.ingest.tail import Tail

    log = tmp_path / "app.jsonl"
    writer = log.open("ab", buffering=0)
    writer.write(lines(range(30)))
    async with following(store, source(log), FAST) as ingester:
        await ingester.ingest_available()
        writer.write(lines(range(30, 45)))
        shutil.copy(log, tmp_path / "app.jsonl.1")
        os.truncate(log, 0)
        writer.write(lines(range(45, 50)))
        # The truncate lands just after the pass looked for one: the copy is seen first.
        with monkeypatch.context() as patch:
            patch.setattr(Tail, "replaced_or_truncated", lambda self: None)
            patch.setattr(Tail, "cut_while_reading", lambda self: None)
            patch.setattr(Ingester, "_drain", _no_drain)
            await ingester.ingest_available()
        for _ in range(3):
            await ingester.ingest_available()
    writer.close()
    got = await stored_request_ids(store)
    assert sorted(got) == ids(range(50)) and len(got) == 50


async def _no_drain(self: object, tail: object) -> int:
    return 0


async def test_copy_caught_while_logrotate_writes_it_is_not_read_from_zero(
    store: Store, tmp_path: Path
) -> None:
    log = tmp_path / "app.jsonl"
    writer = log.open("ab", buffering=0)
    writer.write(lines(range(30)))
    async with following(store, source(f"{log}*"), FAST) as ingester:  # the copy is in the glob
        await ingester.ingest_available()
        writer.write(lines(range(30, 45)))
        copy = tmp_path / "app.jsonl.1"
        whole = log.read_bytes()
        copy.write_bytes(whole[:500])  # logrotate has written its first block
        await ingester.ingest_available()
        copy.write_bytes(whole)
        os.truncate(log, 0)
        writer.write(lines(range(45, 50)))
        for _ in range(3):
            await ingester.ingest_available()
    writer.close()
    got = await stored_request_ids(store)
    assert sorted(got) == ids(range(50)) and len(got) == 50


async def test_copy_of_a_file_barely_read_is_not_read_from_zero(
    store: Store, tmp_path: Path
) -> None:
    log = tmp_path / "app.jsonl"
    writer = log.open("ab", buffering=0)
    writer.write(lines(range(3)))  # under the 1 KiB fingerprint: little read so far
    async with following(store, source(log), FAST) as ingester:
        await ingester.ingest_available()
        writer.write(lines(range(3, 20)))
        shutil.copy(log, tmp_path / "app.jsonl.1")  # copied; the truncate has not come yet
        await ingester.ingest_available()
        os.truncate(log, 0)
        writer.write(lines(range(20, 25)))
        for _ in range(3):
            await ingester.ingest_available()
    writer.close()
    got = await stored_request_ids(store)
    assert sorted(got) == ids(range(25)) and len(got) == 25


async def test_live_file_missing_at_restart_does_not_hide_its_rotation(
    store: Store, tmp_path: Path
) -> None:
    log = tmp_path / "app.jsonl"
    log.write_bytes(lines(range(20)))
    glob = source(f"{tmp_path}/*.jsonl")  # a glob that matches the live file only
    await ingest_once(store, glob)
    with log.open("ab") as writer:
        writer.write(lines(range(20, 30)))
    log.rename(tmp_path / "app.jsonl.1")  # rotated; the service has not reopened yet
    await ingest_once(store, glob)  # ingest restarts meanwhile
    log.write_bytes(lines(range(30, 35)))
    await ingest_once(store, glob)
    got = await stored_request_ids(store)
    assert sorted(got) == ids(range(35)) and len(got) == 35
    assert await store.ingest.notes(kinds=["gap"]) == []


async def test_copytruncate_refilled_past_the_old_size_records_no_false_gap(
    store: Store, tmp_path: Path
) -> None:
    log = tmp_path / "app.jsonl"
    writer = log.open("ab", buffering=0)
    writer.write(lines(range(20)))
    async with following(store, source(log), FAST) as ingester:
        await ingester.ingest_available()
        shutil.copy(log, tmp_path / "app.jsonl.1")
        os.truncate(log, 0)
        writer.write(lines(range(20, 60)))  # the service writes past the old size first
        for _ in range(3):
            await ingester.ingest_available()
        await settle_pending(ingester, force=True)
    writer.close()
    got = await stored_request_ids(store)
    assert sorted(got) == ids(range(60)) and len(got) == 60
    assert await store.ingest.notes(kinds=["gap"]) == []


@pytest.mark.parametrize("stopped_again", [True, False])
async def test_copy_ending_inside_a_line_keeps_the_fragment_and_records_the_cut(
    store: Store, tmp_path: Path, stopped_again: bool
) -> None:
    # The interleaving the real-logrotate drill found (RELIABILITY A16, copytruncate): ingest
    # is stopped across a rotation; logrotate's copy races the service's write of four lines,
    # its last read seeing the file end at a page boundary inside the first of them; the
    # truncate then takes the rest of the write. Ingest restarts and continues the copy from
    # its checkpoint; it is stopped again before the copy is released (the drill's case), or
    # not, and an ingester releases it.
    log = tmp_path / "app.jsonl"
    writer = log.open("ab", buffering=0)
    writer.write(lines(range(20)))
    await ingest_once(store, source(log))
    writer.write(lines(range(20, 36)))
    writer.write(lines(range(36, 40)))  # one write, in progress when the copy ends
    whole = log.read_bytes()
    line_36 = whole.index(b'"req-00000036"')
    line_36 = whole.rindex(b"\n", 0, line_36) + 1
    cut = line_36 + 100  # inside line 36, past its request id
    (tmp_path / "app.jsonl.1").write_bytes(whole[:cut])
    os.truncate(log, 0)
    writer.write(lines(range(40, 45)))
    writer.close()
    if stopped_again:
        async with following(store, source(log), IngestConfig(release_after_s=3600)) as ingester:
            await ingester.ingest_available()  # reads the copy's whole lines, never releases
    async with following(store, source(log), IngestConfig(release_after_s=0)) as ingester:
        await ingester.ingest_available()
    got = await stored_request_ids(store)
    assert sorted(got) == ids(range(36), range(40, 45)) and len(got) == 41
    [(offset, reason, raw)] = await reject_reasons(store)
    assert (offset, raw) == (line_36, whole[line_36:cut]) and "without a newline" in reason
    [gap] = await store.ingest.notes(kinds=["gap"])
    assert (gap.gap_start, gap.gap_end) == (cut, None)
    assert "app.jsonl.1: the copy ends inside a line" in gap.detail
