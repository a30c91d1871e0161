"""Every failure is one clear line and a non-zero exit; no Python traceback reaches the user.

A damaged store, a full disk under a snapshot (the store's or the evidence's), a read-only
control directory under the kill switch, a bug: each ends in one sentence naming what failed
(the traceback, if any, in a log file it names), and the console exits non-zero when it
crashes. The stored state stays consistent: `PRAGMA integrity_check` and `verify` pass.
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import re
import stat
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.helpers import event_line, ingest_once, source
from tests.read_only_media import THIRDBOOK, Pty, ReadOnly, one_sentence, read_only, why_not
from tests.test_read_only_store import build_estate
from thirdbook.cli import main
from thirdbook.config import ContainmentConfig
from thirdbook.domain.alerts import Firing
from thirdbook.services.factory import build_services
from thirdbook.store import Store, connection


@pytest.fixture(autouse=True)
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """The faults here are made by the page (a store damaged page by page, a disk full at
    the next page): stores made here have SQLite's 4 KiB pages, as these faults assume."""
    monkeypatch.setattr(connection, "PAGE_SIZE", 4096)


def _env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "THIRDBOOK_DATA_DIR": str(tmp_path / "data"),
        "THIRDBOOK_CONFIG": str(tmp_path / "thirdbook.toml"),
        "TERM": "xterm-256color",
    }


async def _events_then_rejects(tmp_path: Path) -> Path:
    """A store whose newest events sit in the middle of the file (the rejects come after)."""
    good, bad = tmp_path / "serving.jsonl", tmp_path / "broken.jsonl"
    good.write_bytes(b"".join(event_line(i, pad=200) for i in range(3000)))
    bad.write_bytes(b"".join(b"{not json %s %d\n" % (b"x" * 400, i) for i in range(3000)))
    store = await Store.open(tmp_path / "data" / "thirdbook.db")
    await ingest_once(store, source(good))
    await ingest_once(store, source(bad, name="broken"))
    await store.close()
    return tmp_path / "data" / "thirdbook.db"


def _damage_the_middle(db: Path) -> None:
    """Overwrite the middle fifth of the database file (whole pages of it unreadable)."""
    size = db.stat().st_size
    with db.open("r+b") as f:
        f.seek(size * 2 // 5)
        f.write(b"\xff" * (size // 5))


def _says_damaged(line: str, db: Path) -> None:
    assert f"the store {db} is damaged" in line, line
    assert "PRAGMA integrity_check" in line and "restore it from a backup" in line, line


def _last_words(terminal: Pty) -> str:
    """The line the program printed after leaving the full screen, escapes removed."""
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", terminal.after_screen())
    return one_sentence(text)


def test_a_damaged_store_is_said_by_status_events_and_the_console(tmp_path: Path) -> None:
    db = asyncio.run(_events_then_rejects(tmp_path))
    _damage_the_middle(db)
    installed = str(Path(sys.executable).with_name("thirdbook"))  # the script users run
    for argv in ([installed, "status"], [*THIRDBOOK, "events"]):
        done = subprocess.run(argv, env=_env(tmp_path), capture_output=True, text=True, timeout=120)
        assert done.returncode == 1, done.stdout
        _says_damaged(one_sentence(done.stderr), db)
    terminal = Pty([*THIRDBOOK, "console"], _env(tmp_path))
    try:
        assert terminal.exit_code() == 1
    finally:
        terminal.close()
    line = _last_words(terminal)
    _says_damaged(line, db)
    # The traceback is kept for a bug report, in the file the sentence names.
    log = Path(line.split("the traceback is in ")[1].split(";")[0])
    assert "database disk image is malformed" in log.read_text()
    assert stat.S_IMODE(log.stat().st_mode) == 0o600


def test_the_console_exits_non_zero_with_a_sentence_when_it_crashes(tmp_path: Path) -> None:
    db = asyncio.run(_events_then_rejects(tmp_path))
    terminal = Pty([*THIRDBOOK, "console", "--read-only"], _env(tmp_path))
    try:
        terminal.wait_for("req-00002999")  # up and showing the newest events
        _damage_the_middle(db)

        async def another_responder_writes() -> None:  # so the console reads the disk again
            store = await Store.open(db)
            await store.ingest.add_note(None, "console", "a note from another responder")
            await store.close()

        asyncio.run(another_responder_writes())
        assert terminal.exit_code() == 1
    finally:
        terminal.close()
    _says_damaged(_last_words(terminal), db)


async def _incident_over_many_logs(tmp_path: Path) -> None:
    """An incident whose window spans 30 log files (its snapshot manifest runs to pages)."""
    logs = tmp_path / "logs"
    logs.mkdir()
    for n in range(30):
        (logs / f"serving-{n:02d}.jsonl").write_bytes(
            b"".join(event_line(n * 100 + i, pad=100) for i in range(100))
        )
    store = await Store.open(tmp_path / "data" / "thirdbook.db")
    await ingest_once(store, source(logs / "*.jsonl"))
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
    console = build_services(store, containment=ContainmentConfig(window_before_s=1e9))
    await console.triage.declare([alert.id], title="drift", severity="SEV2", blast_radius="medium")
    await store.close()


async def _consistent(tmp_path: Path) -> list[str]:
    """Checks the store passes, and the snapshots' states (none complete after a fault)."""
    store = await Store.open(tmp_path / "data" / "thirdbook.db")
    try:
        assert await store.integrity_check() == "ok"
        return [s.status for s in await store.snapshots.for_incident(1)]
    finally:
        await store.close()


def _verify_passes(tmp_path: Path) -> None:
    done = CliRunner().invoke(main, ["verify"])
    assert done.exit_code == 0, done.output
    assert list((tmp_path / "data" / "evidence" / "tmp").glob("*")) == []  # no half object


def test_a_full_store_disk_during_a_snapshot_is_one_sentence_and_nothing_is_complete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asyncio.run(_incident_over_many_logs(tmp_path))
    real = Store._configure

    async def no_page_more(self: Store, busy_timeout_ms: int, cache_mb: int) -> None:
        await real(self, busy_timeout_ms, cache_mb)  # then the disk is full, for real
        pages = (await self.fetchone("PRAGMA page_count"))[0]  # type: ignore[index]
        await self.conn.execute(f"PRAGMA max_page_count = {pages}")

    with monkeypatch.context() as patch:  # (undo() would also undo the isolated data dir)
        patch.setattr(Store, "_configure", no_page_more)
        done = CliRunner().invoke(main, ["snapshot", "1"])
    assert done.exit_code == 1
    assert "Traceback" not in done.output
    line = done.stderr.strip().splitlines()[-1]
    assert line.startswith("Error: snapshot failed: the disk holding the store ") and (
        "is full" in line and "rolled back" in line
    ), line
    assert asyncio.run(_consistent(tmp_path)) == ["incomplete"]  # begun, never complete
    _verify_passes(tmp_path)


def test_a_full_evidence_disk_during_a_snapshot_is_one_sentence_and_nothing_is_complete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asyncio.run(_incident_over_many_logs(tmp_path))
    scratch = str(tmp_path / "data" / "evidence" / "tmp")
    real_write = os.write

    def write(fd: int, data: bytes) -> int:  # the evidence's disk fills up; nothing else's
        if os.readlink(f"/proc/self/fd/{fd}").startswith(scratch):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    with monkeypatch.context() as patch:
        patch.setattr(os, "write", write)
        done = CliRunner().invoke(main, ["snapshot", "1"])
    assert done.exit_code == 1 and "Traceback" not in done.output
    line = done.stderr.strip().splitlines()[-1]
    assert line.startswith("Error: snapshot failed: cannot store evidence in ") and (
        "No space left on device (ENOSPC)" in line
    ), line
    assert asyncio.run(_consistent(tmp_path)) == ["incomplete"]
    _verify_passes(tmp_path)


def test_a_really_full_small_evidence_filesystem_is_one_sentence(tmp_path: Path) -> None:
    """The same on a real 256 KiB tmpfs (a private mount namespace, where allowed)."""
    reason = why_not("medium")
    if reason is not None:
        pytest.skip(f"cannot mount a small filesystem here: {reason}")
    asyncio.run(_incident_over_many_logs(tmp_path))
    evidence = tmp_path / "data" / "evidence"
    evidence.mkdir()
    small = 'mount -t tmpfs -o size=256k tmpfs "$1"; shift; exec "$@"'
    done = subprocess.run(
        [
            "unshare",
            "--mount",
            "--",
            "sh",
            "-ec",
            small,
            "sh",
            str(evidence),
            *THIRDBOOK,
            "snapshot",
            "1",
        ],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    line = done.stderr.strip().splitlines()[-1]
    assert "cannot store evidence in" in line and "ENOSPC" in line, line
    assert asyncio.run(_consistent(tmp_path)) == ["incomplete"]
    _verify_passes(tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("way", ["medium", "directory"])
def test_a_read_only_control_directory_stops_the_kill_switch_in_one_sentence(way: str) -> None:
    with read_only(way) as ro:
        data = asyncio.run(build_estate(ro.base))
        control = ro.base / "control"
        flag = (control / "killswitch.flagd.json").read_bytes()
        ro.protect(control)
        done = ro.run(data, "kill-switch", "1", "--mode", "human")
        assert done.returncode == 1, done.stdout
        line = one_sentence(done.stderr)
        assert str(control) in line and ("read-only" in line or "permission" in line), line
        assert (control / "killswitch.flagd.json").read_bytes() == flag
        _kill_switch_audited_as_failed(ro, data)


def _kill_switch_audited_as_failed(ro: ReadOnly, data: Path) -> None:
    done = ro.run(data, "audit", "--json")
    outcomes = [(r["action"], r["outcome"]) for r in map(json.loads, done.stdout.splitlines())]
    assert ("kill-switch", "failed") in outcomes and ("kill-switch", "done") not in outcomes
    assert ro.run(data, "verify").returncode == 0

    async def integrity() -> str:
        store = await Store.open(data / "thirdbook.db", access="read")
        try:
            return await store.integrity_check()
        finally:
            await store.close()

    assert asyncio.run(integrity()) == "ok"


async def _a_store(path: Path) -> None:
    await (await Store.open(path)).close()


def test_an_unexpected_error_is_one_sentence_with_its_traceback_in_a_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from thirdbook.services.health import HealthService
    from thirdbook.store.quick_reads import QuickReads

    async def broken(self: HealthService) -> None:
        raise RuntimeError("a bug in the health line")

    def broken_quickly(self: QuickReads, **_: object) -> None:
        raise RuntimeError("a bug in the health line")

    asyncio.run(_a_store(tmp_path / "data" / "thirdbook.db"))  # a read needs a store
    # `status` reads quickly where it can, else through the services: both are broken.
    monkeypatch.setattr(HealthService, "read", broken)
    monkeypatch.setattr(QuickReads, "ingest_rows", broken_quickly)
    done = CliRunner().invoke(main, ["status"])
    assert done.exit_code == 1
    line = one_sentence(done.stderr)
    assert line.startswith(
        "Error: status failed: an unexpected error (RuntimeError: a bug in "
        "the health line) (the traceback is in "
    )
    log = Path(line.split("the traceback is in ")[1].split(";")[0])
    assert log.parent == tmp_path / "data" / "crashes"
    assert "Traceback" in log.read_text() and "a bug in the health line" in log.read_text()
    # With --debug, the traceback is shown instead, as Python shows it.
    done = CliRunner().invoke(main, ["--debug", "status"])
    assert done.exit_code == 1 and isinstance(done.exception, RuntimeError)


async def test_a_kill_switch_the_machine_cannot_write_is_said_and_the_console_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.test_console_flows import incident_console, service, wait_until
    from thirdbook.config import ContainmentConfig
    from thirdbook.domain.control import routing_flags

    control = tmp_path / "control"
    control.mkdir()
    flags = control / "killswitch.flagd.json"
    flags.write_text(routing_flags("credit-scorer").model_dump_json(by_alias=True))
    before = flags.read_bytes()
    real_open = os.open

    def read_only_open(path: object, flags: int, *args: object, **kwargs: object) -> int:
        # What a read-only filesystem does: opening to write there is refused (as root too).
        if str(path).startswith(str(control)) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return real_open(path, flags, *args, **kwargs)  # type: ignore[arg-type]

    async with incident_console(tmp_path, containment=ContainmentConfig(flag_file=flags)) as (
        app,
        pilot,
    ):
        svc = await service(app)
        with monkeypatch.context() as patch:
            patch.setattr(os, "open", read_only_open)
            await pilot.press("K")
            await wait_until(pilot, lambda: type(app.screen).__name__ == "KillSwitchDialog", "asks")
            await pilot.press("enter")  # human review; no snapshot, so a reason is asked for
            await pilot.press(*"applicants harmed now", "enter")
            await wait_until(
                pilot,
                lambda: any(
                    n.message.startswith("Failed: ") and str(control) in n.message for n in app.said
                ),
                "the failure said",
            )
            said = next(n.message for n in app.said if n.message.startswith("Failed: "))
            assert "read-only file" in said and "unchanged" in said, said
        assert app.is_running and app.crash is None  # the console goes on
        outcomes = [
            r.content["outcome"]
            for r in await svc.store.audit.records()
            if r.content["action"] == "kill-switch"
        ]
        assert outcomes == ["failed"]
    assert flags.read_bytes() == before


def test_a_list_piped_to_head_ends_quietly(tmp_path: Path) -> None:
    # `thirdbook events | head -1`: the reader leaving is not a failure of ours; no error
    # line, no crash log, just the line head asked for.
    asyncio.run(_events_then_rejects(tmp_path))
    bin_dir = Path(sys.executable).parent
    done = subprocess.run(
        f"{bin_dir / 'thirdbook'} events --limit 3000 | head -1",
        shell=True,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.stdout.count("\n") == 1, done.stdout
    assert done.stderr == "", done.stderr
    assert not (tmp_path / "data" / "crashes").exists() or not any(
        (tmp_path / "data" / "crashes").iterdir()
    )
