"""RELIABILITY C1-C5: the audit chain records every action and names the first bad record."""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from thirdbook.cli import main
from thirdbook.domain.alerts import Firing
from thirdbook.domain.audit import canonical_bytes, record_hash
from thirdbook.domain.errors import TriageRefusedError
from thirdbook.domain.incidents import Actor
from thirdbook.evidence.chain import verify_chain
from thirdbook.services.factory import build_services
from thirdbook.store import Store

ME = Actor(user="alice", uid=1000, origin="203.0.113.9 52144")


async def chain_of(path: Path, records: int) -> None:
    store = await Store.open(path)
    for n in range(records):
        await store.audit.append(ME, "note", "done", {"n": n, "text": f"record {n}"})
    await store.close()


async def problems(path: Path) -> list[tuple[int, str]]:
    store = await Store.open(path)
    try:
        return [(p.seq, p.reason) for p in await verify_chain(store)]
    finally:
        await store.close()


def tamper(path: Path, *statements: str) -> None:
    db = sqlite3.connect(path)
    for sql in statements:
        db.execute(sql)
    db.commit()
    db.close()


async def test_an_intact_chain_verifies(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    await chain_of(path, 5)
    assert await problems(path) == []


async def test_c1_a_flipped_byte_is_named_by_its_sequence_number(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    await chain_of(path, 5)
    tamper(
        path, "UPDATE audit SET content = replace(content, 'record 3', 'record 8') WHERE seq = 4"
    )
    assert await problems(path) == [(4, "its content does not match its hash")]


async def test_c1_a_deleted_record_is_named(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    await chain_of(path, 5)
    tamper(path, "DELETE FROM audit WHERE seq = 3")
    [(seq, reason)] = await problems(path)
    assert seq == 3 and "missing" in reason


async def test_c1_reordered_records_are_named(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    await chain_of(path, 5)
    tamper(
        path,
        "UPDATE audit SET seq = -2 WHERE seq = 2",
        "UPDATE audit SET seq = 2 WHERE seq = 3",
        "UPDATE audit SET seq = 3 WHERE seq = -2",
    )
    [(seq, _)] = await problems(path)
    assert seq == 2


async def test_c1_an_inserted_record_breaks_the_chain_where_it_was_put(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    await chain_of(path, 5)
    db = sqlite3.connect(path)
    h2 = db.execute("SELECT hash FROM audit WHERE seq = 2").fetchone()[0]
    for seq in (5, 4, 3):
        db.execute("UPDATE audit SET seq = ? WHERE seq = ?", (seq + 1, seq))
    forged = {
        "at_us": 1,
        "action": "note",
        "outcome": "done",
        "incident": None,
        "actor": {"user": "mallory", "uid": 0, "origin": "local"},
        "detail": {},
    }
    db.execute(
        "INSERT INTO audit (seq, at_us, content, prev_hash, hash) VALUES (3, 1, ?, ?, ?)",
        (canonical_bytes(forged).decode(), h2, record_hash(3, h2, forged)),
    )
    db.commit()
    db.close()
    # A well-forged record verifies by itself; the record after it can no longer link.
    assert await problems(path) == [(4, "does not link to the record before it")]


def test_c2_eight_processes_appending_at_once_make_one_linear_chain(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    asyncio.run(chain_of(path, 0))
    script = (
        "import asyncio, sys\n"
        "from pathlib import Path\n"
        "from thirdbook.store import Store\n"
        "from thirdbook.domain.incidents import Actor\n"
        "async def go():\n"
        "    store = await Store.open(Path(sys.argv[1]))\n"
        "    for n in range(int(sys.argv[3])):\n"
        "        await store.audit.append(Actor(user=sys.argv[2], uid=1, origin='local'),\n"
        "                                 'note', 'done', {'n': n})\n"
        "    await store.close()\n"
        "asyncio.run(go())\n"
    )
    writers = [
        subprocess.Popen([sys.executable, "-c", script, str(path), f"p{i}", "1000"])
        for i in range(8)
    ]
    assert [w.wait(timeout=240) for w in writers] == [0] * 8
    db = sqlite3.connect(path)
    seqs = [r[0] for r in db.execute("SELECT seq FROM audit ORDER BY seq")]
    db.close()
    assert seqs == list(range(1, 8001))  # contiguous: no fork, no gap
    assert asyncio.run(problems(path)) == []


def test_c3_a_store_rolled_back_to_an_older_copy_is_detected(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store_path = data / "thirdbook.db"
    asyncio.run(chain_of(store_path, 3))
    old_copy = tmp_path / "old.db"
    shutil.copyfile(store_path, old_copy)
    asyncio.run(chain_of(store_path, 2))
    runner = CliRunner()
    args = ["--data-dir", str(data), "--config", str(tmp_path / "none.toml")]
    out = runner.invoke(main, [*args, "checkpoint", "--out", str(tmp_path / "cp.json")])
    assert out.exit_code == 0 and json.loads(out.output)["seq"] == 5
    ok = runner.invoke(main, [*args, "verify", "--checkpoint", str(tmp_path / "cp.json")])
    assert ok.exit_code == 0 and "5 records, and holds checkpoint 5" in ok.output
    shutil.copyfile(old_copy, store_path)  # restored from the older copy
    for suffix in ("-wal", "-shm"):
        Path(f"{store_path}{suffix}").unlink(missing_ok=True)
    rolled = runner.invoke(main, [*args, "verify", "--checkpoint", str(tmp_path / "cp.json")])
    assert rolled.exit_code == 1
    assert "FAILED at audit record 5" in rolled.output and "rolled back" in rolled.output


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ({"a": 1, "b": 2}, {"b": 2, "a": 1}),  # key order
        ({"name": "Zoe\u0301"}, {"name": "Zo\u00e9"}),  # Unicode normalisation (NFD vs NFC)
        ({"amount": 2500}, {"amount": 2500.0}),  # integer vs float
        ({"n": [1.0, {"x": "é"}]}, {"n": [1, {"x": "e\u0301"}]}),
    ],
)
def test_c4_hashing_is_canonical(one: dict[str, object], other: dict[str, object]) -> None:
    assert record_hash(1, "0" * 64, one) == record_hash(1, "0" * 64, other)


def test_c4_different_content_hashes_differently() -> None:
    assert record_hash(1, "0" * 64, {"amount": 2500}) != record_hash(1, "0" * 64, {"amount": 2501})
    assert record_hash(1, "0" * 64, {"a": 1}) != record_hash(2, "0" * 64, {"a": 1})


async def test_c5_done_refused_and_read_only_actions_are_all_audited(store: Store) -> None:
    alert = await store.alerts.record(
        Firing(
            rule="r", kind="drift", key="m v7", event_ids=(1,), at=datetime.now(UTC), summary="s"
        )
    )
    console = build_services(store)
    incident = await console.triage.declare(
        [alert.id], title="t", severity="SEV2", blast_radius="medium"
    )
    with pytest.raises(TriageRefusedError):
        await console.triage.set_severity(incident.id, "SEV2")  # already SEV2
    with pytest.raises(TriageRefusedError):
        await console.triage.add_action_item(incident.id, title="fix", owner="", due=None)
    viewer = build_services(store, read_only=True)
    with pytest.raises(TriageRefusedError):
        await viewer.triage.set_phase(incident.id, "contained")
    records = [
        (r.content["action"], r.content["outcome"])
        for page in [await store.audit.records()]
        for r in page
    ]
    assert records == [
        ("declared", "done"),
        ("alert", "done"),
        ("severity", "refused"),
        ("action", "refused"),
        ("phase", "refused"),
    ]
    refused = (await store.audit.records())[-1].content
    assert refused["detail"]["reason"].startswith("this console is read-only")
    assert refused["actor"]["user"]  # from the operating system
    assert (await verify_chain(store)) == []


async def test_c5_an_interrupted_action_is_audited(store: Store) -> None:
    console = build_services(store)

    async def slow_declare() -> None:
        async with console.acting.act("declare", {"title": "t"}):
            await asyncio.sleep(10)  # the SSH session drops here

    task = asyncio.create_task(slow_declare())
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    [record] = await store.audit.records()
    assert (record.content["action"], record.content["outcome"]) == ("declare", "interrupted")
