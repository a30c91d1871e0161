"""A lookup on a store behind its sources also reads the bytes ingest has not stored yet:
`events --request-id` and `explain` find a decision that is on disk but not in the store,
marked "from the log, not yet ingested" with its path and byte offset, and say what they
searched when it is nowhere. Through the real command, in its own process."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import subprocess
from pathlib import Path
from typing import Any

from tests.helpers import event_line, ingest_once
from tests.read_only_media import THIRDBOOK
from thirdbook.config import IngestConfig, SourceConfig
from thirdbook.domain.records import EventFilter
from thirdbook.services.unread_lookup import UnreadLookup
from thirdbook.store import Store

FROM_LOG = "from the log, not yet ingested"


def lines(first: int, last: int) -> bytes:
    """Valid decisions req-<first> .. req-<last - 1>."""
    return b"".join(event_line(n) for n in range(first, last))


def at(path: Path, n: int) -> int:
    """The byte offset of decision n's line in a file."""
    return path.read_bytes().index(event_line(n))


def configure(tmp_path: Path, *patterns: str, name: str = "app") -> None:
    """One configured source over `patterns` in the test's own config file."""
    listed = ", ".join(json.dumps(p) for p in patterns)
    (tmp_path / "thirdbook.toml").write_text(f'[[sources]]\nname = "{name}"\npaths = [{listed}]\n')


def thirdbook(*args: str) -> subprocess.CompletedProcess[str]:
    """The real command in its own process (config and data from the test's environment)."""
    return subprocess.run(
        [*THIRDBOOK, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "250"},
    )


def ingest_now(tmp_path: Path, log: Path, name: str = "app") -> None:
    """Ingest what `log` holds now, as the configured source, then stop."""

    async def go() -> None:
        store = await Store.open(tmp_path / "data" / "thirdbook.db")
        try:
            await ingest_once(store, [SourceConfig(name=name, paths=[str(log)])])
        finally:
            await store.close()

    asyncio.run(go())


def as_records(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines()]


def test_found_in_the_unread_bytes_of_a_live_file_after_ingest_stopped(tmp_path: Path) -> None:
    log = tmp_path / "app.jsonl"
    log.write_bytes(lines(0, 10))
    configure(tmp_path, str(log))
    ingest_now(tmp_path, log)
    feedback = {
        "v": 1,
        "kind": "feedback",
        "ts": "2026-11-27T10:09:00+00:00",
        "target": "credit-scorer",
        "category": "complaint",
        "request_id": "req-00000015",
        "text": "declined for no reason",
    }
    unread = lines(10, 20) + json.dumps(feedback).encode() + b"\n"
    log.write_bytes(log.read_bytes() + unread)  # written after ingest stopped
    offset = at(log, 15)
    feedback_at = log.stat().st_size - len(json.dumps(feedback)) - 1

    done = thirdbook("events", "--request-id", "req-00000015")
    assert done.returncode == 0, done.stderr
    where = f"{log}@{offset}"
    [row] = [x for x in done.stdout.splitlines() if "inference" in x]
    assert row.startswith(where) and "req-00000015" in row
    assert done.stdout.splitlines()[0].startswith(FROM_LOG)

    [told, record] = as_records(
        thirdbook("events", "--request-id", "req-00000015", "--json").stdout
    )
    assert told["event"]["kind"] == "feedback" and told["offset"] == feedback_at  # newest first
    assert record["provisional"] is True and record["id"] is None
    assert record["note"] == FROM_LOG
    assert record["path"] == str(log) and record["offset"] == offset
    assert record["event"]["request_id"] == "req-00000015"

    # One the store holds is the store's, and is not found a second time in the log.
    [stored] = as_records(thirdbook("events", "--request-id", "req-00000004", "--json").stdout)
    assert stored["id"] == 5 and "provisional" not in stored

    explained = thirdbook("explain", "req-00000015")
    assert explained.returncode == 0, explained.stderr
    assert f"decision: event: {FROM_LOG}: app {where}" in explained.stdout
    assert "snapshot: snapshot: not available until ingested" in explained.stdout
    assert "1 model: model version: v7" in explained.stdout
    assert (
        f"related: feedback ({FROM_LOG}): {log}@{feedback_at} 2026-11-27T10:09:00+00:00 "
        "feedback complaint from -: declined for no reason"
    ) in explained.stdout
    body = json.loads(thirdbook("explain", "req-00000015", "--json").stdout)
    assert body["provisional"] is True and body["event_id"] is None
    assert body["byte_offset"] == offset
    stored_body = json.loads(thirdbook("explain", "req-00000004", "--json").stdout)
    assert stored_body["provisional"] is False and stored_body["event_id"] == 5


def test_found_when_ingest_never_ran_and_there_is_no_store(tmp_path: Path) -> None:
    log = tmp_path / "app.jsonl"
    log.write_bytes(lines(0, 30))
    configure(tmp_path, str(tmp_path / "*.jsonl"))
    done = thirdbook("events", "--request-id", "req-00000021", "--json")
    assert done.returncode == 0, done.stderr
    [record] = as_records(done.stdout)
    assert record["provisional"] is True and record["offset"] == at(log, 21)
    assert "no store" in done.stderr
    assert not (tmp_path / "data" / "thirdbook.db").exists()  # a read makes no store
    explained = thirdbook("explain", "req-00000021")
    assert explained.returncode == 0, explained.stderr
    assert FROM_LOG in explained.stdout and "there is no store yet" in explained.stdout


def test_not_found_says_what_was_searched_besides_the_store(tmp_path: Path) -> None:
    log = tmp_path / "app.jsonl"
    other = tmp_path / "other.jsonl"
    log.write_bytes(lines(0, 10))
    configure(tmp_path, str(tmp_path / "*.jsonl"))
    ingest_now(tmp_path, tmp_path / "*.jsonl")
    log.write_bytes(log.read_bytes() + lines(10, 13))
    other.write_bytes(lines(50, 52))  # a file ingest never saw: unread from byte 0
    unread = len(lines(10, 13)) + len(lines(50, 52))

    done = thirdbook("events", "--request-id", "req-77777777")
    assert done.returncode == 0 and done.stdout == ""
    assert (
        f"no events match: request id 'req-77777777' is not in the store, nor in the "
        f"{unread:,} bytes not yet ingested (2 files), searched too"
    ) in done.stderr
    explained = thirdbook("explain", "req-77777777")
    assert explained.returncode == 1
    assert f"nor in the {unread:,} bytes not yet ingested (2 files), searched too" in (
        explained.stderr
    )
    # And the file ingest never saw is searched from its first byte.
    [record] = as_records(thirdbook("events", "--request-id", "req-00000050", "--json").stdout)
    assert record["path"] == str(other) and record["offset"] == 0


def test_found_in_a_rotated_file_ingest_had_not_finished(tmp_path: Path) -> None:
    log = tmp_path / "app.jsonl"
    log.write_bytes(lines(0, 10))
    configure(tmp_path, str(log))
    ingest_now(tmp_path, log)
    log.write_bytes(log.read_bytes() + lines(10, 20))
    offset = at(log, 12)
    rotated = tmp_path / "app.jsonl.1"
    log.rename(rotated)  # rotated while ingest was stopped: its rest is unread
    log.write_bytes(lines(100, 105))  # the new live file

    [record] = as_records(thirdbook("events", "--request-id", "req-00000012", "--json").stdout)
    assert record["path"] == str(rotated) and record["provisional"] is True
    assert record["offset"] == offset
    [new] = as_records(thirdbook("events", "--request-id", "req-00000101", "--json").stdout)
    assert new["path"] == str(log) and new["offset"] == at(log, 101)
    [old] = as_records(thirdbook("events", "--request-id", "req-00000003", "--json").stdout)
    assert "provisional" not in old  # read before the rotation: the store's

    # Compressed (and the uncompressed rotation deleted): its content is searched.
    packed = tmp_path / "app.jsonl.1.gz"
    packed.write_bytes(gzip.compress(rotated.read_bytes()))
    rotated.unlink()
    done = thirdbook("events", "--request-id", "req-00000012")
    assert done.returncode == 0, done.stderr
    [row] = [x for x in done.stdout.splitlines() if "req-00000012" in x]
    assert row.startswith(f"{packed}@{offset} (in its gzip")
    [again] = as_records(thirdbook("events", "--request-id", "req-00000003", "--json").stdout)
    assert "provisional" not in again  # nothing before the checkpoint is found twice


def test_the_id_in_another_field_is_no_match(tmp_path: Path) -> None:
    log = tmp_path / "app.jsonl"
    wanted = "req-00000003"
    feedback = {
        "v": 1,
        "kind": "feedback",
        "ts": "2026-11-27T10:05:00+00:00",
        "target": "credit-scorer",
        "category": "complaint",
        "text": f"I was told to quote {wanted}",
    }
    named_subject = json.loads(event_line(40)) | {"subject": wanted}
    log.write_bytes(
        (json.dumps(feedback) + "\n" + json.dumps(named_subject) + "\n").encode() + lines(0, 5)
    )
    configure(tmp_path, str(log))
    [record] = as_records(thirdbook("events", "--request-id", wanted, "--json").stdout)
    assert record["event"]["request_id"] == wanted and record["event"]["subject"] != wanted
    by_subject = as_records(thirdbook("events", "--subject", wanted, "--json").stdout)
    assert [r["event"]["request_id"] for r in by_subject] == ["req-00000040"]
    nothing = thirdbook("events", "--request-id", "quote")
    assert nothing.stdout == "" and "could not be read" not in nothing.stderr
    assert "no events match: there is no store yet" in nothing.stderr


def test_a_malformed_line_naming_the_id_is_no_event_but_is_mentioned(tmp_path: Path) -> None:
    log = tmp_path / "app.jsonl"
    log.write_bytes(lines(0, 5))
    configure(tmp_path, str(log))
    ingest_now(tmp_path, log)
    broken = b'{"v": 1, "kind": "inference", "request_id": "req-00000666", "ts": \n'
    offset = log.stat().st_size
    log.write_bytes(log.read_bytes() + broken + lines(5, 6))

    done = thirdbook("events", "--request-id", "req-00000666", "--json")
    assert done.returncode == 0 and done.stdout == ""
    assert f"mentions request id 'req-00000666' but could not be read: {log}@{offset}" in (
        done.stderr
    )
    assert "invalid JSON" in done.stderr and "no events match" in done.stderr
    explained = thirdbook("explain", "req-00000666")
    assert explained.returncode == 1
    assert "a line not yet ingested mentions it but could not be read" in explained.stderr


def test_an_event_stored_while_the_lookup_ran_is_found_once(tmp_path: Path) -> None:
    """The checkpoints are read before the store is asked: a batch committed in between
    is the store's, and is not shown again from the log."""
    log = tmp_path / "app.jsonl"
    log.write_bytes(lines(0, 4))

    async def go() -> tuple[list[int], list[int]]:
        store = await Store.open(tmp_path / "thirdbook.db")
        sources = [SourceConfig(name="app", paths=[str(log)])]
        try:
            await ingest_once(store, sources)
            log.write_bytes(log.read_bytes() + event_line(2) + event_line(9))
            lookup = UnreadLookup(store, sources, IngestConfig())
            where = EventFilter(request_id="req-00000002")
            plan = await lookup.plan()
            await ingest_once(store, sources)  # commits while the lookup is under way
            stored = (await store.events.page(where)).items
            found = await lookup.search(plan, where, stored=stored)
            return [s.byte_offset for s in stored], [e.byte_offset for e in found.events]
        finally:
            await store.close()

    stored, from_log = asyncio.run(go())
    assert stored == [len(lines(0, 4)), len(lines(0, 2))] and from_log == []


def test_hostile_text_from_the_log_reaches_the_terminal_made_visible(tmp_path: Path) -> None:
    log = tmp_path / "app.jsonl"
    hostile = "req-\x1b[2J\u202e-9"  # written JSON-escaped, as most writers write it
    record = json.loads(event_line(9)) | {"request_id": hostile, "subject": "\x07bell"}
    log.write_bytes(json.dumps(record).encode() + b"\n" + lines(0, 3))
    configure(tmp_path, str(log))
    for args in (("events", "--request-id", hostile), ("explain", hostile)):
        done = thirdbook(*args)
        assert done.returncode == 0, done.stderr
        assert FROM_LOG in done.stdout and "req-\\e[2J" in done.stdout
        assert not any(c in done.stdout + done.stderr for c in ("\x1b", "\x07", "\u202e"))
    missing = thirdbook("events", "--request-id", "\x1b[31mnothing")
    assert "no events match" in missing.stderr and "\x1b" not in missing.stderr
