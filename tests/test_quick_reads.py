"""Quick reads: `status` and `events` read on the stdlib sqlite3 without pydantic, `explain`
on the store's inline reads; each prints what the services print, byte for byte, and steps
aside wherever the store needs more than a read (a migration to run, a config file not yet
validated)."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import event_line, ingest_once, source
from thirdbook.config import Settings, StoreConfig
from thirdbook.domain.errors import StoreReadOnlyError
from thirdbook.domain.explain_render import as_json, as_text
from thirdbook.services.factory import build_services
from thirdbook.services.quick_settings import recall, remember
from thirdbook.store import Store
from thirdbook.store.inline import open_inline
from thirdbook.store.quick_reads import QuickReads
from thirdbook.store.schema import MIGRATIONS, SCHEMA_VERSION

HOLDER = "test-ingester"


async def build_estate(base: Path) -> Path:
    """A store away from its data directory (`[store] path` says where) holding events of
    several kinds and models, a reject, a live ingest lease with a pause and a backlog, gaps
    and truncations among its notes; and the config file naming it. Returns the config."""
    log = base / "logs" / "serving.jsonl"
    log.parent.mkdir()
    lines = [event_line(i) for i in range(120)] + [event_line(i, kind="metric") for i in range(5)]
    lines.insert(7, b"{not json\n")
    log.write_bytes(b"".join(lines))
    db = base / "elsewhere" / "thirdbook.db"
    store = await Store.open(db)
    await ingest_once(store, source(log))
    assert await store.leases.try_acquire(HOLDER, user="ana", ttl_s=3600)
    [tracked] = await store.ingest.files("active")
    await store.ingest.add_gap(HOLDER, tracked.id, 10, 20, "bytes 10..20 gone in a rotation")
    await store.ingest.add_gap(HOLDER, tracked.id, 30, None, "the rest of a file gone")
    await store.ingest.add_note(tracked.id, "truncated", "serving.jsonl truncated\x1b[2J")
    await store.ingest.save_progress(
        events_total=125,
        rejects_total=1,
        backlog_bytes=4096,
        last_event_ts_us=None,
        caught_up_us=None,
        paused_reason="the disk is full",
    )
    await store.close()
    config = base / "thirdbook.toml"
    config.write_text(
        f'[store]\npath = "{db}"\nbusy_timeout_ms = 5000\n\n[ingest]\nlease_ttl_s = 3600.0\n'
    )
    return config


def run(base: Path, config: Path, *args: str) -> tuple[str, bool]:
    """`thirdbook ARGS` in a fresh Python with its own cache directory: what it printed,
    and whether it imported pydantic (the services' path) or not (a quick read)."""
    probe = (
        "import sys\n"
        "from thirdbook.cli import main\n"
        "try:\n"
        f"    main({[*args, '--config', str(config), '--data-dir', str(base / 'data')]!r})\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        "print('pydantic' in sys.modules, file=sys.stderr)\n"
    )
    env = {**os.environ, "XDG_CACHE_HOME": str(base / "cache"), "COLUMNS": "200"}
    ran = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120
    )
    assert ran.returncode == 0, ran.stderr
    return ran.stdout, ran.stderr.strip().splitlines()[-1] == "True"


@pytest.mark.parametrize(
    "args",
    [
        ["status"],
        ["status", "--json"],
        ["events", "--request-id", "req-00000042"],
        ["events", "--request-id", "req-00000042", "--json"],
        ["events", "--kind", "metric", "--json"],
        ["events", "--subject", "applicant-3", "--limit", "2"],
        ["events", "--model", "credit-scorer", "--version", "v7", "--limit", "7"],
        ["events", "--request-id", "req-nope"],
    ],
)
def test_a_quick_read_prints_what_the_services_print(tmp_path: Path, args: list[str]) -> None:
    config = asyncio.run(build_estate(tmp_path))
    through_services, with_pydantic = run(tmp_path, config, *args)
    assert with_pydantic  # the first load of this config file validates it
    quickly, again_with_pydantic = run(tmp_path, config, *args)
    if args[-1] == "req-nope":
        # Not in the store: the bytes not yet ingested are searched too, through the
        # services (tests/test_lookup_unread.py checks what it says).
        assert again_with_pydantic
    else:
        assert not again_with_pydantic  # ... the next read trusts what that load remembered
    assert quickly == through_services
    if args[:2] == ["status", "--json"]:
        shown = json.loads(quickly)
        assert shown["lease"]["user"] == "ana" and shown["lease"]["live"]
        assert (shown["events"], shown["rejects"], shown["backlog_bytes"]) == (125, 1, 4096)
        assert (shown["gaps"], shown["truncations"]) == (2, 1)
        assert shown["paused_reason"] == "the disk is full"
    if args == ["status"]:
        assert "\x1b" not in quickly and "truncated\\e[2J" in quickly
    if args[:3] == ["events", "--request-id", "req-00000042"]:
        assert "req-00000042" in quickly


def test_a_changed_config_file_is_validated_again_before_a_quick_read(tmp_path: Path) -> None:
    config = tmp_path / "thirdbook.toml"
    config.write_text("[store]\nbusy_timeout_ms = 5000\n")
    settings = Settings(store=StoreConfig(busy_timeout_ms=5000))
    remember(config.read_bytes(), settings, tmp_path / "cache")
    found = recall(config, tmp_path / "cache")
    assert found is not None and (found.store_path, found.busy_timeout_ms) == (None, 5000)
    config.write_text("[store]\nbusy_timeout_ms = 50\n")  # not valid: never validated
    assert recall(config, tmp_path / "cache") is None
    config.unlink()  # no file at all is its own case, remembered on its own
    assert recall(config, tmp_path / "cache") is None
    remember(None, Settings(), tmp_path / "cache")
    found = recall(config, tmp_path / "cache")
    assert found is not None and found.busy_timeout_ms == Settings().store.busy_timeout_ms


def test_a_store_with_a_migration_to_run_is_migrated_not_read_quickly(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    db = data / "thirdbook.db"
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.executescript(MIGRATIONS[0])
    conn.execute("PRAGMA user_version = 1")
    conn.execute(
        "INSERT INTO ingest_notes (ts_us, file_id, kind, detail) VALUES (?, ?, ?, ?)",
        (1_796_000_000_000_000, None, "gap", "a note from an old store"),
    )
    conn.close()
    assert QuickReads.open(db) is None
    remember(None, Settings(), tmp_path / "cache" / "thirdbook")  # no config file: defaults
    shown, with_pydantic = run(tmp_path, tmp_path / "absent.toml", "status")
    assert with_pydantic and "a note from an old store" in shown
    reads = QuickReads.open(db)  # migrated by the services' path: quick from now on
    assert reads is not None
    reads.close()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


def test_explain_on_the_inline_reads_is_the_services_explanation(tmp_path: Path) -> None:
    config = asyncio.run(build_estate(tmp_path))
    db = tmp_path / "elsewhere" / "thirdbook.db"
    assert str(db) in config.read_text()

    async def both() -> tuple[list[str], list[str]]:
        store = await Store.open(db, access="read")
        inline = open_inline(db, 5000)
        assert inline is not None
        try:
            texts = []
            for opened in (store, inline):
                explain = build_services(opened).explain
                found = [await explain.explain(request_id=f"req-{n:08d}") for n in (3, 42)]
                texts.append([as_text(e) + as_json(e) for e in found])
            with pytest.raises(StoreReadOnlyError):
                async with inline.write():
                    pass
            return texts[0], texts[1]
        finally:
            await store.close()
            await inline.close()

    from_store, from_inline = asyncio.run(both())
    assert from_inline == from_store
    assert "req-00000042" in from_inline[1]
