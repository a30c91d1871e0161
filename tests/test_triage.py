"""Triage from the command line and the service: declare, attach, dismiss, severity."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import pwd
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from thirdbook.cli import main
from thirdbook.domain.alerts import Firing
from thirdbook.domain.errors import TriageRefusedError
from thirdbook.services.factory import build_services
from thirdbook.store import Store

AT = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)


async def fire(store: Store, rule: str, key: str = "credit-scorer v7") -> int:
    firing = Firing(rule=rule, kind="drift", key=key, event_ids=(1,), at=AT, summary=f"{rule}!")
    return (await store.alerts.record(firing)).id


async def test_declare_records_who_from_the_os(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSH_CONNECTION", "203.0.113.9 52144 10.0.0.5 22")
    monkeypatch.setenv("USER", "somebody-typed-this")  # never believed
    alert = await fire(store, "acc")
    console = build_services(store)
    incident = await console.triage.declare(
        [alert], title="v7 declines", severity="SEV2", blast_radius="high"
    )
    assert incident.recommended_containment == "kill switch"
    assert incident.alert_ids == (alert,)
    [declared, attached] = await console.triage.timeline(incident.id)
    me = pwd.getpwuid(os.getuid()).pw_name
    assert declared.actor.user == me and declared.actor.uid == os.getuid()
    assert declared.actor.origin == "ssh from 203.0.113.9:52144"
    assert declared.kind == "declared" and "SEV2" in declared.detail
    assert attached.detail == f"#{alert}: acc!"
    [a] = (await console.queries.alerts()).items
    assert a.status == "declared"


async def test_dismiss_needs_a_reason_and_counts_against_precision(store: Store) -> None:
    console = build_services(store)
    first, second = await fire(store, "acc", "v7"), await fire(store, "acc", "v8")
    with pytest.raises(TriageRefusedError, match="needs a reason"):
        await console.triage.dismiss(first, "   ")
    await console.triage.dismiss(first, "known noisy window after the deploy")
    await console.triage.declare([second], title="t", severity="SEV3", blast_radius="medium")
    [rule] = await console.triage.precision()
    assert (rule.fired, rule.declared, rule.dismissed, rule.open) == (2, 1, 1, 0)
    assert rule.precision == 0.5


async def test_two_responders_triaging_one_alert_get_one_winner(
    store: Store, tmp_path: Path
) -> None:
    alert = await fire(store, "acc")
    other = await Store.open(store.path)
    try:
        results = await asyncio.gather(
            build_services(store).triage.dismiss(alert, "noise"),
            build_services(other).triage.declare(
                [alert], title="real", severity="SEV1", blast_radius="high"
            ),
            return_exceptions=True,
        )
    finally:
        await other.close()
    refused = [r for r in results if isinstance(r, TriageRefusedError)]
    assert len(refused) == 1 and "already" in str(refused[0])


async def test_read_only_console_refuses_to_act(store: Store) -> None:
    alert = await fire(store, "acc")
    console = build_services(store, read_only=True)
    with pytest.raises(TriageRefusedError, match="read-only"):
        await console.triage.dismiss(alert, "noise")
    assert (await console.queries.alerts()).items[0].status == "open"


async def test_attach_and_severity_go_on_the_timeline(store: Store) -> None:
    console = build_services(store)
    first, second = await fire(store, "acc"), await fire(store, "reports", "credit-scorer")
    incident = await console.triage.declare(
        [first], title="t", severity="SEV3", blast_radius="medium"
    )
    await console.triage.attach(second, incident.id)
    await console.triage.set_severity(incident.id, "SEV1")
    with pytest.raises(TriageRefusedError, match="already SEV1"):
        await console.triage.set_severity(incident.id, "SEV1")
    kinds = [(e.kind, e.detail) for e in await console.triage.timeline(incident.id)]
    assert kinds[-2:] == [("alert", f"#{second} attached: reports!"), ("severity", "SEV3 → SEV1")]
    with pytest.raises(TriageRefusedError, match="no incident #99"):
        await console.triage.attach(await fire(store, "third"), 99)


def test_cli_declare_and_timeline(tmp_path: Path) -> None:
    async def seed() -> None:
        store = await Store.open(tmp_path / "data" / "thirdbook.db")
        await fire(store, "acc")
        await store.close()

    asyncio.run(seed())
    runner = CliRunner()
    result = runner.invoke(
        main,
        [
            "declare",
            "1",
            "--title",
            "v7 declines",
            "--severity",
            "SEV2",
            "--blast-radius",
            "medium",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "declared incident #1 SEV2" in result.output and "rollback" in result.output
    result = runner.invoke(main, ["timeline", "1"])
    assert "declared" in result.output and "local" in result.output
    result = runner.invoke(main, ["note", "1", "paged the data team about CR-7"])
    assert result.exit_code == 0, result.output
    assert "paged the data team about CR-7" in runner.invoke(main, ["timeline", "1"]).output
    refused = runner.invoke(main, ["note", "1", "   "])
    assert refused.exit_code == 1 and "a note needs some text" in refused.output
    refused = runner.invoke(main, ["note", "9", "x"])
    assert refused.exit_code == 1 and "no incident #9" in refused.output
    result = runner.invoke(main, ["dismiss", "1", "--reason", "late"])
    assert result.exit_code == 1 and "refused: alert #1 is already declared" in result.output


async def test_action_item_needs_one_owner_and_a_due_date(store: Store) -> None:
    from datetime import date

    console = build_services(store)
    incident = await console.triage.declare(
        [await fire(store, "acc")], title="t", severity="SEV2", blast_radius="medium"
    )
    for owner, due, why in [
        ("", date(2026, 12, 1), "needs an owner"),
        ("alice, bob", date(2026, 12, 1), "exactly one owner"),
        ("alice and bob", date(2026, 12, 1), "exactly one owner"),
        ("alice", None, "needs a due date"),
    ]:
        with pytest.raises(TriageRefusedError, match=why):
            await console.triage.add_action_item(incident.id, title="fix", owner=owner, due=due)
    late = await console.triage.add_action_item(
        incident.id, title="band for v8", owner="alice", due=date(2026, 11, 20)
    )
    soon = await console.triage.add_action_item(
        incident.id, title="runbook edit", owner="bob", due=date(2026, 12, 20)
    )
    today = date(2026, 11, 27)
    assert [i.id for i in await console.triage.action_items(overdue=True, today=today)] == [late.id]
    with pytest.raises(TriageRefusedError, match="needs a resolution"):
        await console.triage.close_action_item(late.id, " ")
    closed = await console.triage.close_action_item(late.id, "band tightened to 0.88")
    assert closed.status == "done" and not closed.overdue(today)
    assert await console.triage.action_items(overdue=True, today=today) == []
    assert [i.id for i in await console.triage.action_items()] == [late.id, soon.id]
    entries = [e.detail for e in await console.triage.timeline(incident.id) if e.kind == "action"]
    assert entries[-1] == f"action item #{late.id} done: band tightened to 0.88"


def test_cli_action_items(tmp_path: Path) -> None:
    async def seed() -> None:
        store = await Store.open(tmp_path / "data" / "thirdbook.db")
        console = build_services(store)
        await console.triage.declare(
            [await fire(store, "acc")], title="t", severity="SEV2", blast_radius="medium"
        )
        await store.close()

    asyncio.run(seed())
    runner = CliRunner()
    result = runner.invoke(
        main,
        [
            "action-items",
            "add",
            "1",
            "--title",
            "retrain audit",
            "--owner",
            "alice",
            "--due",
            "2020-01-01",
        ],
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["action-items", "--overdue"])
    assert "OVERDUE" in result.output and "retrain audit" in result.output
    result = runner.invoke(
        main, ["action-items", "add", "1", "--title", "x", "--owner", "a;b", "--due", "2030-01-01"]
    )
    assert result.exit_code == 1 and "exactly one owner" in result.output
    result = runner.invoke(main, ["action-items", "close", "1", "--resolution", "done it"])
    assert result.exit_code == 0
    assert "no action items" in runner.invoke(main, ["action-items", "--overdue"]).output


async def test_a_rule_that_keeps_firing_during_its_incident_updates_the_declared_alert(
    store: Store,
) -> None:
    alert = await fire(store, "acc")
    console = build_services(store)
    incident = await console.triage.declare(
        [alert], title="v7 drifts", severity="SEV2", blast_radius="medium"
    )
    again = await fire(store, "acc")  # still drifting while the incident is worked
    assert again == alert
    [only] = (await console.queries.alerts()).items
    assert (only.status, only.fired) == ("declared", 2)
    await console.triage.set_phase(incident.id, "closed")
    assert await fire(store, "acc") != alert  # after the incident: a new alert
    dismissed = await fire(store, "other")
    await console.triage.dismiss(dismissed, "known noise")
    assert await fire(store, "other") != dismissed  # a dismissal judged that one firing


def test_action_items_export_as_csv_a_sheet_reads(tmp_path: Path) -> None:
    async def seed() -> None:
        store = await Store.open(tmp_path / "data" / "thirdbook.db")
        console = build_services(store)
        await console.triage.declare(
            [await fire(store, "acc")], title="t", severity="SEV2", blast_radius="medium"
        )
        await store.close()

    asyncio.run(seed())
    runner = CliRunner()
    for title, due in (('audit, "v7" data\nagain', "2020-01-01"), ("add a check", "2099-01-01")):
        args = ["action-items", "add", "1", "--title", title, "--owner", "alice", "--due", due]
        assert runner.invoke(main, args).exit_code == 0
    result = runner.invoke(main, ["action-items", "--csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.output)))
    assert rows[0] == ["id", "incident", "status", "overdue", "due", "owner", "title", "resolution"]
    assert rows[1] == [
        "1",
        "1",
        "open",
        "yes",
        "2020-01-01",
        "alice",
        'audit, "v7" data\\nagain',
        "",
    ]
    assert rows[2][3:6] == ["no", "2099-01-01", "alice"]
    both = runner.invoke(main, ["action-items", "--csv", "--json"])
    assert both.exit_code != 0 and "choose one of --json and --csv" in both.output
