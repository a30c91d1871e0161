"""RELIABILITY B6: a store on read-only media, or in a directory this user may not write.

Every read command and the console work; every write says why it cannot, in one sentence,
and exits non-zero; the store's files are not changed by a single byte. Each test runs on a
real read-only bind mount (`medium`) and as `nobody` on a 0555 directory (`directory`),
wherever the machine allows (see `tests/read_only_media.py`).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.helpers import event_line, ingest_once, source
from tests.read_only_media import THIRDBOOK, Pty, ReadOnly, one_sentence, read_only
from thirdbook.config import ContainmentConfig
from thirdbook.domain.alerts import Firing
from thirdbook.domain.control import routing_flags
from thirdbook.services.factory import build_services
from thirdbook.store import Store
from thirdbook.store.schema import MIGRATIONS

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("way", ["medium", "directory"])]

EVENTS = 300


async def build_estate(base: Path) -> Path:
    """A store with events, a reject, an alert, an incident with a complete snapshot and its
    audit records, beside a flag file; closed cleanly (no -wal left). Returns the data dir."""
    data, log, control = base / "data", base / "logs" / "serving.jsonl", base / "control"
    log.parent.mkdir()
    control.mkdir()
    log.write_bytes(b"".join(event_line(i) for i in range(EVENTS)) + b"{not json\n")
    flag = control / "killswitch.flagd.json"
    flag.write_text(json.dumps(routing_flags("credit-scorer").model_dump(by_alias=True)))
    (base / "thirdbook.toml").write_text(f'[containment]\nflag_file = "{flag}"\n')
    store = await Store.open(data / "thirdbook.db")
    await ingest_once(store, source(log))
    alert = await store.alerts.record(
        Firing(
            rule="r",
            kind="drift",
            key="credit-scorer v7",
            event_ids=(1,),
            at=datetime(2026, 11, 27, 10, 0, tzinfo=UTC),
            summary="accuracy drift",
        )
    )
    paths = ContainmentConfig(flag_file=flag, window_before_s=10**9)
    console = build_services(store, containment=paths)
    incident = await console.triage.declare(
        [alert.id], title="drift on credit-scorer", severity="SEV2", blast_radius="medium"
    )
    await console.containment.snapshot(incident.id)
    await store.close()
    return data


def fingerprint(directory: Path) -> dict[str, str]:
    """Every file under `directory` with the SHA-256 of its bytes."""
    return {
        str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


READS = [
    (["status"], f"events      {EVENTS}"),
    (["events", "--limit", "5"], "credit-scorer v7"),
    (["events", "--json", "--limit", "1"], '"request_id": "req-00000299"'),
    (["rejects"], "not json"),
    (["alerts"], "accuracy drift"),
    (["status", "--json"], f'"events": {EVENTS}'),
    (["incidents"], "drift on credit-scorer"),
    (["incidents", "--json"], '"title": "drift on credit-scorer"'),
    (["timeline", "1"], "snapshot"),
    (["timeline", "1", "--json"], '"incident_id": 1'),
    (["precision"], "declared"),
    (["precision", "--json"], '"rule": "r"'),
    (["calibration"], "keep"),
    (["near-misses", "--json"], "no near misses"),
    (["action-items"], ""),
    (["action-items", "--json"], ""),
    (["audit"], '"snapshot": 1'),
    (["checkpoint"], '"seq"'),
    (["verify"], "evidence ok: 1 complete snapshot(s)"),
    (["registry", "history"], "no alias moves recorded"),
    (["registry", "history", "--json"], ""),
    (["schema"], '"kind"'),
    (["explain", "req-00000042"], "decision: request: req-00000042"),
    (["explain", "req-00000042", "--json"], '"request_id": "req-00000042"'),
    (["kill-switch", "1", "--mode", "human", "--dry-run"], "nothing was changed"),
]


def test_b6_every_read_command_works_on_a_read_only_store(way: str) -> None:
    with read_only(way) as ro:
        data = asyncio.run(build_estate(ro.base))
        ro.protect(data)
        before = fingerprint(data)
        for args, expected in READS:
            done = ro.run(data, *args)
            assert done.returncode == 0, f"{args}: {done.stderr}"
            # What a list says when it is empty goes to stderr (stdout keeps only records).
            assert expected in done.stdout + done.stderr, f"{args}: {done.stdout}"
            assert "Traceback" not in done.stderr
        assert fingerprint(data) == before
        assert not (data / "thirdbook.db-shm").exists()  # read as immutable: nothing made


WRITES = [
    ["ingest", "--once", "{log}"],
    ["declare", "1", "--title", "again", "--severity", "SEV3", "--blast-radius", "medium"],
    ["dismiss", "1", "--reason", "noise"],
    ["snapshot", "1"],
    ["kill-switch", "1", "--mode", "human"],
    ["action-items", "add", "1", "--title", "t", "--owner", "o", "--due", "2030-01-01"],
    ["events", "--reveal-secrets", "audit this"],
    ["runbook", "1", "--check", "1"],
]


def test_b6_writes_on_a_read_only_store_say_why_and_change_nothing(way: str) -> None:
    with read_only(way) as ro:
        data = asyncio.run(build_estate(ro.base))
        ro.protect(data)
        before = fingerprint(data)
        flag = (ro.base / "control" / "killswitch.flagd.json").read_bytes()
        for args in WRITES:
            args = [a.format(log=ro.base / "logs" / "serving.jsonl") for a in args]
            done = ro.run(data, *args)
            assert done.returncode != 0, f"{args}: {done.stdout}"
            line = one_sentence(done.stderr)
            assert str(data) in line and ("read-only" in line or "not writable" in line), line
        assert fingerprint(data) == before
        assert (ro.base / "control" / "killswitch.flagd.json").read_bytes() == flag


def _console(ro: ReadOnly, data: Path, *args: str) -> Pty:
    return Pty(ro.argv([*THIRDBOOK, *args]), ro.env(data))


def test_b6_console_read_only_shows_a_read_only_store_and_quits_cleanly(way: str) -> None:
    with read_only(way) as ro:
        data = asyncio.run(build_estate(ro.base))
        ro.protect(data)
        before = fingerprint(data)
        terminal = _console(ro, data, "console", "--read-only")
        try:
            terminal.wait_for("req-00000299")
            terminal.wait_for("Read-only")  # the banner says why it cannot write
            terminal.press(b"q")
            assert terminal.exit_code() == 0, terminal.after_screen()
        finally:
            terminal.close()
        assert "Traceback" not in terminal.after_screen()
        assert fingerprint(data) == before


def test_b6_console_without_read_only_falls_back_to_read_only_with_a_banner(way: str) -> None:
    """The choice made: the console opens read-only and says so (no ingest helper is
    started, no action is possible) rather than refusing to open at all."""
    with read_only(way) as ro:
        data = asyncio.run(build_estate(ro.base))
        ro.protect(data)
        before = fingerprint(data)
        terminal = _console(ro, data, "console")
        try:
            terminal.wait_for("req-00000299")
            terminal.wait_for("(read-only)")  # in the header, beside the store's path
            terminal.wait_for("Read-only")  # the banner says why
            terminal.press(b"\x0c")  # ctrl+l: clear the banner
            terminal.press(b"s")  # snapshot the active incident: refused, saying why
            terminal.wait_for("Refused")
            terminal.press(b"q")
            assert terminal.exit_code() == 0, terminal.after_screen()
        finally:
            terminal.close()
        assert fingerprint(data) == before
        assert not (data / "ingest.log").exists()


async def _store_with_unread_log(data: Path, into: Path, *, with_shm: bool) -> None:
    """Copy a store's files while its write-ahead log holds frames not yet checkpointed."""
    store = await Store.open(data / "thirdbook.db")
    await store.set_autocheckpoint(0)
    log = data.parent / "more.jsonl"
    log.write_bytes(b"".join(event_line(EVENTS + i) for i in range(50)))
    await ingest_once(store, source(log, name="more"))
    into.mkdir()
    for suffix in ("", "-wal", "-shm") if with_shm else ("", "-wal"):
        shutil.copyfile(data / f"thirdbook.db{suffix}", into / f"thirdbook.db{suffix}")
    await store.close()


def test_b6_a_write_ahead_log_that_cannot_be_read_is_said_not_ignored(way: str) -> None:
    with read_only(way) as ro:
        data = asyncio.run(build_estate(ro.base))
        asyncio.run(_store_with_unread_log(data, ro.base / "copied", with_shm=False))
        asyncio.run(_store_with_unread_log(data, ro.base / "whole", with_shm=True))
        ro.protect(ro.base / "copied", ro.base / "whole")
        # Without its -shm, the log cannot be read here: said, not silently left out.
        done = ro.run(ro.base / "copied", "status")
        assert done.returncode == 1
        line = one_sentence(done.stderr)
        assert "thirdbook.db-wal" in line and "bytes" in line and "copy" in line, line
        # With it, SQLite reads the log read-only: the 50 newer events are there.
        done = ro.run(ro.base / "whole", "status")
        assert done.returncode == 0, done.stderr
        assert f"events      {EVENTS + 50}" in done.stdout


def _older_store(data: Path) -> None:
    """A store as the first thirdbook left it (schema 1), with one ingest note."""
    data.mkdir()
    conn = sqlite3.connect(data / "thirdbook.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.executescript(MIGRATIONS[0])
    conn.execute("PRAGMA user_version = 1")
    conn.execute(
        "INSERT INTO ingest_notes (ts_us, file_id, kind, detail) VALUES (?, ?, ?, ?)",
        (1_796_000_000_000_000, None, "gap", "a note from an old store"),
    )
    conn.close()


def test_b6_an_older_store_is_read_through_an_upgraded_copy_and_left_as_it_was(
    way: str,
) -> None:
    with read_only(way) as ro:
        data = ro.base / "old"
        _older_store(data)
        ro.protect(data)
        before = fingerprint(data)
        done = ro.run(data, "status")
        assert done.returncode == 0, done.stderr
        assert "a note from an old store" in done.stdout and "events      0" in done.stdout
        done = ro.run(data, "verify")
        assert done.returncode == 0, done.stderr
        done = ro.run(
            data, "declare", "1", "--title", "t", "--severity", "SEV3", "--blast-radius", "medium"
        )
        line = one_sentence(done.stderr)
        assert done.returncode == 1 and ("read-only" in line or "not writable" in line), line
        assert fingerprint(data) == before
        assert list((ro.base / "tmp").glob("thirdbook-upgraded-*")) == []  # the copy is gone
