"""The blameless review: its times measured from a scripted incident whose times are known,
the nudge on names and on "X missed", completion refused without a finding or without a
runbook edit or a reason, action items typed and linked to findings, and the runbook's diff
against the copy kept at the declaration (with its git commits)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from tests.helpers import event_line, ingest_once, source
from tests.test_cli import run
from tests.test_report import lint
from thirdbook.domain.alerts import Firing
from thirdbook.domain.errors import TriageRefusedError
from thirdbook.domain.review import blame_nudge
from thirdbook.services.factory import Services, build_services
from thirdbook.services.runbooks import RunbookLibrary
from thirdbook.store import Store

SHIPPED = Path(__file__).resolve().parents[1] / "runbooks"
T0 = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


class FakeClock:
    """The store's clock, set by the test (microseconds since the epoch)."""

    def __init__(self) -> None:
        self.at = T0

    def __call__(self) -> int:
        return int(self.at.timestamp() * 1_000_000)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeClock]:
    """Every store module's `now_us` reads the fake clock."""
    fake = FakeClock()
    for name, module in list(sys.modules.items()):
        if name.startswith("thirdbook.store.") and hasattr(module, "now_us"):
            monkeypatch.setattr(module, "now_us", fake)
    yield fake


def git(folder: Path, *args: str, when: datetime | None = None) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "ops", "GIT_AUTHOR_EMAIL": "ops@example.org"}
    env |= {"GIT_COMMITTER_NAME": "ops", "GIT_COMMITTER_EMAIL": "ops@example.org"}
    if when is not None:
        env |= {"GIT_AUTHOR_DATE": when.isoformat(), "GIT_COMMITTER_DATE": when.isoformat()}
    subprocess.run(["git", "-C", str(folder), *args], check=True, env=env, capture_output=True)


async def scripted(tmp_path: Path, clock: FakeClock, *, git_repo: bool = False) -> Services:
    """Incident #1 on the drift runbook: the first bad event at 10:00:00, the alert raised
    at 10:05, declared at 10:12, the kill switch written at 10:20."""
    user_runbooks = tmp_path / "runbooks"
    user_runbooks.mkdir()
    (user_runbooks / "drift.md").write_text((SHIPPED / "drift.md").read_text())
    if git_repo:
        git(user_runbooks, "init", "-q")
        git(user_runbooks, "add", "drift.md")
        git(user_runbooks, "commit", "-qm", "drift runbook", when=T0 - timedelta(days=3))
    log = tmp_path / "logs" / "serving.jsonl"
    log.parent.mkdir()
    log.write_bytes(b"".join(event_line(i) for i in range(30)))
    store = await Store.open(tmp_path / "data" / "thirdbook.db")
    await ingest_once(store, source(log))
    clock.at = T0 + timedelta(minutes=5)
    alert = await store.alerts.record(
        Firing(
            rule="r",
            kind="drift",
            key="credit-scorer v7",
            event_ids=(1, 2),
            at=clock.at,
            summary="drift",
        )
    )
    console = build_services(store, runbooks=RunbookLibrary(user_runbooks, SHIPPED))
    clock.at = T0 + timedelta(minutes=12)
    await console.triage.declare([alert.id], title="drift", severity="SEV2", blast_radius="medium")
    clock.at = T0 + timedelta(minutes=20)
    await store.containment.written(1, "kill switch", "credit-scorer", "route", "human")
    clock.at = T0 + timedelta(minutes=30)
    return console


async def test_the_review_measures_detect_declare_and_contain_from_what_was_recorded(
    tmp_path: Path, clock: FakeClock
) -> None:
    console = await scripted(tmp_path, clock)
    await console.triage.add_note(1, "weights hash matches the registry")  # at 10:30
    review = await console.review.review(1)
    times = review.times
    assert times.first_signal == T0  # the first event the alert fired on
    assert times.alerted == T0 + timedelta(minutes=5)
    assert times.declared == T0 + timedelta(minutes=12)
    assert times.contained == T0 + timedelta(minutes=20) and times.contained_observed is None
    durations = dict(times.durations())
    assert durations["Time to declare"] == timedelta(minutes=7)
    assert durations["Time to contain"] == timedelta(minutes=8)
    assert durations["Time to detect"] == timedelta(minutes=5)
    assert durations["Time to recover"] is None  # not recovered: never guessed
    phases = {name: [e.kind for e in entries] for name, entries in review.phases}
    assert phases["triage"][0] == "declared" and phases["investigate"] == ["note"]
    assert "detect" not in phases  # nothing on the timeline before the declaration
    await console.close()


def test_the_nudge_flags_names_and_blame_and_lets_a_mechanism_through() -> None:
    people = ("alice", "bob-ops")
    assert "alice" in (blame_nudge("alice paged the wrong team", people) or "")
    assert "bob-ops" in (blame_nudge("Bob-ops was asleep", people) or "")
    assert "missed" in (blame_nudge("The on-call missed the alert", people) or "")
    assert "forgot" in (blame_nudge("somebody forgot to renew the cert", people) or "")
    assert "failed to" in (blame_nudge("the responder failed to page", people) or "")
    assert "Priya failed to" in (blame_nudge("Priya failed to page the owner", ()) or "")
    assert "Dave did not" in (blame_nudge("Dave did not escalate", ()) or "")
    assert blame_nudge("Alerting failed to page the owner", ()) is None
    mechanism = "severity-2 drift alarms were routed to a channel nobody owned overnight"
    assert blame_nudge(mechanism, people) is None
    assert blame_nudge("the alert missed its band by 2 %", people) is None  # no person


async def test_a_finding_that_names_a_responder_is_kept_with_the_nudge(
    tmp_path: Path, clock: FakeClock
) -> None:
    console = await scripted(tmp_path, clock)
    user = (await console.store.incidents.get(1)).commander  # type: ignore[union-attr]
    finding = await console.review.add_finding(1, "went-wrong", f"{user} missed the alert")
    assert finding.nudge is not None and "name the mechanism" in finding.nudge
    plain = await console.review.add_finding(1, "factor", "alarms went to an unowned channel")
    assert plain.nudge is None
    assert [f.text for f in (await console.review.review(1)).findings] == [
        f"{user} missed the alert",
        "alarms went to an unowned channel",
    ]
    with pytest.raises(TriageRefusedError, match="kind is one of"):
        await console.review.add_finding(1, "blame", "x")
    timeline = await console.store.incidents.timeline(1)
    assert any(e.kind == "finding" and "unowned channel" in e.detail for e in timeline)
    await console.close()


async def test_completion_needs_a_finding_and_a_runbook_edit_or_a_reason(
    tmp_path: Path, clock: FakeClock
) -> None:
    console = await scripted(tmp_path, clock)
    with pytest.raises(TriageRefusedError, match="at least one finding") as refused:
        await console.review.complete(1)
    assert "no runbook edit yet" in str(refused.value)
    await console.review.add_finding(1, "factor", "alarms went to an unowned channel")
    with pytest.raises(TriageRefusedError, match="no runbook edit yet"):
        await console.review.complete(1)
    review = await console.review.complete(1, no_edit_reason="the runbook covered it")
    assert review.completion is not None
    assert review.completion.no_edit_reason == "the runbook covered it"
    with pytest.raises(TriageRefusedError, match="already completed"):
        await console.review.complete(1, no_edit_reason="again")
    await console.close()


async def test_the_runbook_edit_shows_as_a_diff_and_its_commits_and_completes_the_review(
    tmp_path: Path, clock: FakeClock
) -> None:
    console = await scripted(tmp_path, clock, git_repo=True)
    runbook = tmp_path / "runbooks" / "drift.md"
    assert await console.review.runbook_edited(1) is None  # unchanged: nothing recorded
    runbook.write_text(runbook.read_text() + "\n1. Page the drift channel's owner first.\n")
    git(runbook.parent, "commit", "-qam", "drift: page the owner first")
    recorded = await console.review.runbook_edited(1)
    assert recorded is not None and "+2 -0 lines" in recorded
    assert await console.review.runbook_edited(1) is None  # the same edit, once
    await console.review.add_finding(1, "factor", "alarms went to an unowned channel")
    review = await console.review.complete(1)
    diff = review.runbook
    assert diff is not None and diff.added == 2 and diff.removed == 0
    assert "+1. Page the drift channel's owner first." in diff.diff
    assert [c.subject for c in diff.commits] == ["drift: page the owner first"]
    text = await console.report.markdown(1)
    assert "```diff\n" in text and "drift: page the owner first" in text
    assert "Review completed by" in text
    assert lint(text) == []
    await console.close()


async def test_an_action_item_has_a_type_and_answers_a_finding_of_its_incident(
    tmp_path: Path, clock: FakeClock
) -> None:
    console = await scripted(tmp_path, clock)
    finding = await console.review.add_finding(1, "factor", "no owner for the drift channel")
    item = await console.triage.add_action_item(
        1,
        title="Give the drift channel an owner",
        owner="ops-lead",
        due=date(2027, 1, 8),
        kind="prevent",
        finding_id=finding.id,
    )
    assert (item.kind, item.finding_id) == ("prevent", finding.id)
    with pytest.raises(TriageRefusedError, match="detect, prevent"):
        await console.triage.add_action_item(
            1, title="x", owner="o", due=date(2027, 1, 8), kind="blame"
        )
    with pytest.raises(TriageRefusedError, match="finding #99"):
        await console.triage.add_action_item(
            1, title="x", owner="o", due=date(2027, 1, 8), finding_id=99
        )
    timeline = await console.store.incidents.timeline(1)
    assert any(f"answers finding #{finding.id}" in e.detail for e in timeline)
    await console.close()


def test_the_review_from_the_command_line_to_completion(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def seed() -> None:
        store = await Store.open(tmp_path / "data" / "thirdbook.db")
        await ingest_once(store, source(_log(tmp_path)))
        alert = await store.alerts.record(
            Firing(
                rule="r", kind="drift", key="credit-scorer v7", event_ids=(1,), at=T0, summary="d"
            )
        )
        console = build_services(store)
        await console.triage.declare(
            [alert.id], title="drift", severity="SEV2", blast_radius="medium"
        )
        await store.close()

    asyncio.run(seed())
    code, text = run("finding", "1", "the on-call missed the alert", "--kind", "went-wrong")
    assert code == 0 and "finding #1 (What went wrong) recorded" in text, text
    assert "advice: 'on-call missed' blames a person" in text
    code, text = run(
        "action-items",
        "add",
        "1",
        "--title",
        "Own the channel",
        "--owner",
        "ops",
        "--due",
        "2027-01-08",
        "--type",
        "prevent",
        "--finding",
        "1",
    )
    assert code == 0 and "answers finding #1" in text, text
    code, text = run("review", "1", "--complete")
    assert code == 1 and "no runbook edit yet" in text, text
    editor = tmp_path / "editor.sh"
    editor.write_text('#!/bin/sh\nprintf "\\n1. Page the channel owner first.\\n" >> "$1"\n')
    editor.chmod(0o755)
    monkeypatch.setenv("EDITOR", str(editor))
    monkeypatch.delenv("VISUAL", raising=False)
    code, text = run("runbook", "1", "--edit")
    assert code == 0 and "runbook drift edited: +2 -0 lines" in text, text
    code, text = run("review", "1")
    assert code == 0, text
    assert "Time to declare" in text and "+1. Page the channel owner first." in text
    assert "#1 prevent, answers finding #1: Own the channel" in text
    assert "Ready to complete" in text
    code, text = run("review", "1", "--complete", "--json")
    assert code == 0, text
    [done] = [json.loads(line) for line in text.splitlines()]
    assert done["completion"]["by"] and done["runbook"]["added"] == 2 and done["blockers"] == []


def _log(tmp_path: Path) -> Path:
    log = tmp_path / "logs" / "serving.jsonl"
    log.parent.mkdir(exist_ok=True)
    log.write_bytes(b"".join(event_line(i) for i in range(5)))
    return log
