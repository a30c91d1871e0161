"""Registry history: every alias move is kept, so "which version served at 14:02?" is answered."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner

from tests.helpers import with_containment
from tests.test_evidence import _incident_with_log
from tests.test_rollback import registry_file
from thirdbook.cli import main
from thirdbook.config import ContainmentConfig
from thirdbook.domain.records import to_us
from thirdbook.services.factory import build_services
from thirdbook.store import Store

T0 = datetime(2026, 11, 27, 13, 50, tzinfo=UTC)
T1 = datetime(2026, 11, 27, 13, 58, 30, tzinfo=UTC)


def move_alias(path: Path, version: str, at: datetime) -> None:
    """Another writer (a deploy pipeline) moves the serving alias; the file's time says when."""
    raw = json.loads(path.read_text())
    raw["models"]["credit-scorer"]["aliases"]["serving"] = version
    path.write_text(json.dumps(raw))
    os.utime(path, (at.timestamp(), at.timestamp()))


async def test_moves_seen_in_the_file_and_made_by_rollback_answer_which_version_served_when(
    tmp_path: Path,
) -> None:
    console, incident_id, _ = await _incident_with_log(tmp_path)
    path = registry_file(tmp_path / "data")
    move_alias(path, "v6", T0)
    console = with_containment(console, registry=path)
    [first] = await console.registry.observe()
    assert (first.how, first.to_version, first.at) == ("first seen", "v6", T0)
    assert await console.registry.observe() == []  # unchanged: nothing recorded twice

    move_alias(path, "v7", T1)  # the deploy
    [deploy] = await console.registry.observe()
    assert (deploy.from_version, deploy.to_version, deploy.how) == ("v6", "v7", "observed")

    await console.containment.snapshot(incident_id)
    await console.containment.rollback(incident_id)
    moves = await console.registry.moves("credit-scorer")
    assert [(m.from_version, m.to_version, m.how) for m in moves] == [
        ("v7", "v6", "rollback"),
        ("v6", "v7", "observed"),
        (None, "v6", "first seen"),
    ]
    assert moves[0].incident_id == incident_id and moves[0].by_user
    at_1402 = datetime(2026, 11, 27, 14, 2, tzinfo=UTC)
    assert (await console.registry.serving_at("credit-scorer", to_us(at_1402))).to_version == "v7"  # type: ignore[union-attr]
    assert (await console.registry.serving_at("credit-scorer", to_us(T0) + 1)).to_version == "v6"  # type: ignore[union-attr]
    assert (
        await console.registry.serving_at("credit-scorer", to_us(T0) - 1) is None
    )  # before history
    await console.close()


async def test_a_rollback_claims_a_move_a_watcher_saw_first(tmp_path: Path) -> None:
    console, incident_id, _ = await _incident_with_log(tmp_path)
    path = registry_file(tmp_path / "data")
    console = with_containment(console, registry=path)
    watcher = build_services(
        await Store.open(console.store.path), containment=console.containment_config
    )  # another process's console
    await watcher.registry.observe()
    await console.containment.snapshot(incident_id)
    # The watcher looks between the file's write and the rollback's own record.
    real_record = console.store.registry_history.record

    async def watcher_first(*args: object, **kwargs: object) -> object:
        await watcher.registry.observe()
        return await real_record(*args, **kwargs)  # type: ignore[arg-type]

    console.store.registry_history.record = watcher_first  # type: ignore[method-assign,assignment]
    await console.containment.rollback(incident_id)
    [newest, _] = await console.store.registry_history.moves()
    assert (newest.to_version, newest.how, newest.incident_id) == ("v6", "rollback", incident_id)
    await watcher.close()
    await console.close()


async def test_several_processes_looking_at_once_record_each_move_once(tmp_path: Path) -> None:
    path = registry_file(tmp_path)
    os.utime(path, (T0.timestamp(), T0.timestamp()))
    db = tmp_path / "thirdbook.db"
    consoles = [
        build_services(
            await Store.open(db),
            containment=ContainmentConfig(registry=path),  # four processes
        )
        for _ in range(4)
    ]
    await asyncio.gather(*(c.registry.observe() for c in consoles))
    move_alias(path, "v6", T1)
    await asyncio.gather(*(c.registry.observe() for c in consoles))
    moves = await consoles[0].store.registry_history.moves()
    assert [(m.from_version, m.to_version) for m in moves] == [("v7", "v6"), (None, "v7")]
    move_alias(path, "v7", T0)  # copied back with an old time: still after the move before
    await consoles[1].registry.observe()
    newest = (await consoles[0].store.registry_history.moves())[0]
    assert (newest.to_version, newest.at) == ("v7", T1)
    for c in consoles:
        await c.close()


async def _a_store(path: Path) -> None:
    await (await Store.open(path)).close()


def test_registry_history_command_lists_moves_and_answers_at(tmp_path: Path) -> None:
    path = registry_file(tmp_path)
    move_alias(path, "v6", T0)
    config = tmp_path / "thirdbook.toml"
    config.write_text(f'[containment]\nregistry = "{path}"\n')
    env = {"THIRDBOOK_DATA_DIR": str(tmp_path / "data"), "THIRDBOOK_CONFIG": str(config)}
    runner = CliRunner()
    missing = runner.invoke(main, ["registry", "history"], env=env)
    assert missing.exit_code == 1 and "no store at" in missing.output  # a read makes none
    asyncio.run(_a_store(tmp_path / "data" / "thirdbook.db"))
    assert runner.invoke(main, ["registry", "history"], env=env).exit_code == 0
    move_alias(path, "v7", T1)
    listed = runner.invoke(main, ["registry", "history"], env=env)
    assert listed.exit_code == 0, listed.output
    # Piped: a line naming the columns, then one move a line, newest first.
    heading, newest, first = listed.output.splitlines()
    assert heading.split()[:6] == ["at", "(UTC)", "model", "alias", "from", "to"]
    assert newest.split()[:6] == [
        "2026-11-27T13:58:30+00:00",
        "credit-scorer",
        "serving",
        "v6",
        "v7",
        "observed",
    ]
    assert "first seen" in first
    moves = runner.invoke(main, ["registry", "history", "--json"], env=env)
    assert [json.loads(x)["how"] for x in moves.stdout.splitlines()] == ["observed", "first seen"]
    at = runner.invoke(main, ["registry", "history", "--at", "2026-11-27T14:02"], env=env)
    assert at.exit_code == 0, at.output
    assert at.output.startswith("credit-scorer was serving v7 at 2026-11-27T14:02:00+00:00")
    early = runner.invoke(main, ["registry", "history", "--at", "2026-11-27T13:00"], env=env)
    assert early.exit_code == 1 and "history starts later" in early.output


async def test_a_read_only_console_reads_the_history_but_never_writes_it(tmp_path: Path) -> None:
    path = registry_file(tmp_path)
    store = await Store.open(tmp_path / "thirdbook.db")
    viewer = build_services(store, read_only=True, containment=ContainmentConfig(registry=path))
    assert await viewer.registry.moves() == []
    writer = build_services(store, containment=ContainmentConfig(registry=path))
    await writer.registry.observe()
    assert [m.to_version for m in await viewer.registry.moves()] == ["v7"]
    await store.close()
