"""`thirdbook verify` sees the evidence index and every event's raw bytes: a snapshot the
index lost or downgraded, an event changed, deleted or inserted by hand, a batch record
removed; and events stored before the batch chain are counted, never failed."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests.helpers import event_line, ingest_once, source
from tests.test_audit_chain import tamper
from tests.test_evidence import _incident_with_log
from thirdbook.cli import main
from thirdbook.store import Store
from thirdbook.store.schema import SCHEMA_VERSION


def verify(tmp_path: Path) -> Result:
    return CliRunner().invoke(main, ["--data-dir", str(tmp_path / "data"), "verify"])


def store_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "thirdbook.db"


def failed(result: Result) -> list[str]:
    """The FAILED lines of a verify that must fail (exit 1, no traceback)."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # not a crash
    return [line for line in result.output.splitlines() if line.startswith("FAILED")]


async def _snapshotted(tmp_path: Path) -> None:
    console, incident_id, _ = await _incident_with_log(tmp_path)
    await console.containment.snapshot(incident_id)
    await console.close()


def test_an_intact_store_verifies_with_every_event_re_hashed(tmp_path: Path) -> None:
    asyncio.run(_snapshotted(tmp_path))
    result = verify(tmp_path)
    assert result.exit_code == 0, result.output
    assert "1 complete snapshot(s)" in result.output and "index matching the chain" in result.output
    assert "events ok: 200 events and 0 rejects in 1 batch(es) re-hashed" in result.output
    assert "predate" not in result.output


@pytest.mark.parametrize(
    ("sql", "said"),
    [
        (
            "DELETE FROM snapshots WHERE id = 1",
            "snapshot #1 is missing from the store's index, "
            "though the audit chain records it complete",
        ),
        (
            "UPDATE snapshots SET status = 'incomplete' WHERE id = 1",
            "snapshot #1 is incomplete in the store's index, though the audit chain records it "
            "complete",
        ),
        (
            "UPDATE snapshots SET manifest_sha256 = '" + "e" * 64 + "' WHERE id = 1",
            "snapshot #1's manifest hash in the store's index (" + "e" * 64 + ") is not the one",
        ),
        (
            "UPDATE snapshots SET manifest = replace(manifest, '\"logs\"', '\"LOGS\"') "
            "WHERE id = 1",
            "snapshot #1: the store's index holds a manifest that does not hash to its manifest",
        ),
        (
            "UPDATE snapshots SET manifest = '{not json' WHERE id = 1",
            "snapshot #1: the store's index holds a manifest that does not hash to its manifest",
        ),
    ],
    ids=["deleted", "set-incomplete", "other-manifest-hash", "manifest-edited", "manifest-garbled"],
)
def test_verify_names_a_snapshot_the_index_lost_or_changed(
    tmp_path: Path, sql: str, said: str
) -> None:
    asyncio.run(_snapshotted(tmp_path))
    tamper(store_path(tmp_path), sql)
    lines = failed(verify(tmp_path))
    assert any(said in line for line in lines), lines


def test_verify_names_a_snapshot_marked_complete_that_the_chain_never_recorded(
    tmp_path: Path,
) -> None:
    asyncio.run(_snapshotted(tmp_path))
    tamper(
        store_path(tmp_path),
        "INSERT INTO snapshots (incident_id, status, by_user, started_us, manifest_sha256, "
        "manifest) SELECT incident_id, 'complete', by_user, started_us, manifest_sha256, "
        "manifest FROM snapshots WHERE id = 1",
    )
    lines = failed(verify(tmp_path))
    assert "the audit chain never recorded it complete" in lines[0] and "#2" in lines[0]


async def _ingested(tmp_path: Path, lines: list[bytes]) -> Path:
    log = tmp_path / "logs" / "serving.jsonl"
    log.parent.mkdir(exist_ok=True)
    with log.open("ab") as f:
        f.write(b"".join(lines))
    store = await Store.open(store_path(tmp_path))
    await ingest_once(store, source(log))
    await store.close()
    return log


def _mixed(start: int, count: int) -> list[bytes]:
    """Event lines, every tenth a line ingest rejects, every fiftieth over 40 KiB (verify
    reads such a row alone)."""
    return [
        b"not json %d\n" % n if n % 10 == 3 else event_line(n, pad=40_000 * (n % 50 == 7))
        for n in range(start, start + count)
    ]


_BATCH_2 = (
    "batch #2 (events #1–#180, rejects #1–#20): a row's raw bytes or byte offset, or "
    "the batch's record, no longer hash to what ingest stored"
)


@pytest.mark.parametrize(
    ("sql", "said"),
    [
        (
            "UPDATE events SET raw = CAST(replace(CAST(raw AS TEXT), 'decline', 'approve') "
            "AS BLOB) WHERE id = 57",
            "event #57: its raw bytes no longer match what ingest stored (batch #2)",
        ),
        (
            "UPDATE events SET raw = CAST(replace(CAST(raw AS TEXT), 'xxx', 'yyy') AS BLOB) "
            "WHERE id = 7",
            "event #7: its raw bytes no longer match what ingest stored (batch #2)",
        ),
        (
            "UPDATE rejects SET raw = X'00' WHERE id = 4",
            "reject #4: its raw bytes no longer match what ingest stored (batch #2)",
        ),
        (
            "DELETE FROM events WHERE id = 90",
            "event #90 is missing (batch #2 recorded events #1–#180)",
        ),
        (
            "DELETE FROM events WHERE id = 180",
            "event #180 is missing (batch #2 recorded events #1–#180)",
        ),
        (
            "INSERT INTO events (ts_us, kind, file_id, byte_offset, ingested_us, raw) "
            "VALUES (1, 'inference', 1, 0, 1, X'7B7D')",
            "event #226 is in no batch: it was inserted outside ingest",
        ),
        ("UPDATE events SET byte_offset = byte_offset + 1 WHERE id = 12", _BATCH_2),
        ("UPDATE events SET byte_offset = 'x' WHERE id = 12", _BATCH_2),
        # A change that keeps the row's Adler-32 (+1, -2, +1 on three bytes), which only finds
        # rows: the batch's SHA-256 still catches it.
        (
            "UPDATE events SET raw = CAST(replace(CAST(raw AS TEXT), 'req-', 'scr-') AS BLOB) "
            "WHERE id = 57",
            _BATCH_2,
        ),
        ("UPDATE events SET file_id = 9 WHERE id = 12", "event #12: its file was changed"),
        (
            "DELETE FROM event_batches WHERE id = 2",
            "batch #3 does not link to the batch before it (a batch record was removed or changed)",
        ),
        (
            "UPDATE event_batches SET locators = CAST(zeroblob(4) || substr(locators, 5) AS BLOB) "
            "WHERE id = 2",
            "event #1: its raw bytes no longer match what ingest stored (batch #2)",
        ),
        (
            "UPDATE event_batches SET locators = 'text' WHERE id = 2",
            "batch #2's record was changed: its locators no longer have the type ingest wrote",
        ),
        (
            "UPDATE events SET raw = 'text' WHERE id = 7",
            "event #7: its raw bytes no longer match what ingest stored (batch #2)",
        ),
        ("DROP TABLE event_batches", "the event batch chain is missing or empty"),
    ],
    ids=[
        "raw-changed",
        "big-raw-changed",
        "reject-changed",
        "deleted",
        "last-deleted",
        "inserted",
        "offset-moved",
        "offset-retyped",
        "locator-kept",
        "file-changed",
        "batch-removed",
        "locator-forged",
        "locators-retyped",
        "raw-retyped",
        "chain-dropped",
    ],
)
def test_verify_names_the_event_whose_raw_bytes_changed_or_that_was_deleted_or_inserted(
    tmp_path: Path, sql: str, said: str
) -> None:
    log = asyncio.run(_ingested(tmp_path, _mixed(0, 200)))
    asyncio.run(_ingested(tmp_path, _mixed(200, 50)))  # a second batch after the first
    assert log.stat().st_size > 0
    result = verify(tmp_path)
    assert result.exit_code == 0, result.output
    assert "events ok: 225 events and 25 rejects in 2 batch(es) re-hashed" in result.output
    tamper(store_path(tmp_path), sql)
    lines = failed(verify(tmp_path))
    assert said in lines[0], lines  # the first problem names it


def test_verify_counts_events_that_predate_the_batch_chain_and_never_fails_for_them(
    tmp_path: Path,
) -> None:
    asyncio.run(_ingested(tmp_path, _mixed(0, 100)))
    # A store from before schema 11: no batch chain; opening it migrates.
    tamper(
        store_path(tmp_path),
        "DROP TABLE event_batches",
        # ... nor what later migrations added (the rotation bookkeeping of schema 12).
        "DROP INDEX files_by_identity",
        "DROP INDEX files_by_head",
        *(
            f"ALTER TABLE files DROP COLUMN {c}"
            for c in ("stat_size", "stat_mtime_ns", "compressed")
        ),
        *(f"ALTER TABLE ingest_notes DROP COLUMN {c}" for c in ("gap_start", "gap_end")),
        # ... nor the line index and parse fallback of schema 13.
        "ALTER TABLE events DROP COLUMN line_index",
        "ALTER TABLE ingest_progress DROP COLUMN parse_fallback",
        # ... nor the baselines of schema 14, nor the replay runs of schema 15.
        "DROP TABLE baselines",
        "DROP TABLE replay_answers",
        "DROP TABLE replay_runs",
        # ... nor the recovery decisions of schema 16.
        "DROP TABLE band_overrides",
        "DROP TABLE quarantine_signoffs",
        "DROP TABLE recovery_decisions",
        # ... nor the checks by action and the incident roles of schema 17.
        "ALTER TABLE runbook_checks DROP COLUMN by_action",
        "DROP TABLE incident_roles",
        # ... nor the review of schema 18.
        "DROP TABLE review_findings",
        "DROP TABLE review_completions",
        "DROP TABLE runbook_copies",
        *(f"ALTER TABLE action_items DROP COLUMN {c}" for c in ("kind", "finding_id")),
        "PRAGMA user_version = 10",
    )
    asyncio.run(_ingested(tmp_path, _mixed(100, 40)))
    db = sqlite3.connect(store_path(tmp_path))
    assert db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    db.close()
    result = verify(tmp_path)
    assert result.exit_code == 0, result.output
    assert (
        "events ok: 36 events and 4 rejects in 1 batch(es) re-hashed; 90 events and 10 "
        "rejects predate the batch chain" in result.output
    )
    # Their raw bytes cannot be checked, but a deleted one is still seen (they are counted).
    tamper(store_path(tmp_path), "DELETE FROM events WHERE id = 5")
    lines = failed(verify(tmp_path))
    assert "1 of the 90 events stored before the batch chain (up to #90) are missing" in lines[0]


async def test_verify_while_ingest_commits_finds_nothing_wrong(tmp_path: Path) -> None:
    """Batches committed while verify reads (from another connection) are never mistaken for
    rows inserted by hand, and a verify made meanwhile sees whole batches only."""
    from tests.helpers import FAST
    from thirdbook.evidence.event_chain import verify_events
    from thirdbook.ingest.ingester import Ingester

    log = tmp_path / "logs" / "serving.jsonl"
    log.parent.mkdir()
    log.write_bytes(b"".join(_mixed(0, 500)))
    path = store_path(tmp_path)
    store = await Store.open(path)
    reader = await Store.open(path)
    ingester = Ingester(store, source(log), FAST)
    stop = asyncio.Event()
    running = asyncio.create_task(ingester.run(stop))
    try:
        seen = 0
        for n in range(12):
            with log.open("ab") as f:
                f.write(b"".join(_mixed(500 + n * 300, 300)))
            check = await verify_events(reader)
            assert check.problems == [], check.problems
            seen = max(seen, check.events + check.rejects)
            await asyncio.sleep(0.02)
        for _ in range(600):  # wait (generously) for ingest to take everything in
            row = await reader.fetchone("SELECT count(*) FROM events")
            if row is not None and row[0] == 3690:
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await running
        await ingester.release()
    check = await verify_events(reader)
    assert check.problems == [] and (check.events, check.rejects) == (3690, 410)
    assert seen > 0
    await reader.close()
    await store.close()
