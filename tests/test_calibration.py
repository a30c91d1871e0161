"""The near-miss register and calibration per rule, from a scripted sequence of firings,
dismissals, declarations and late attachments whose times are known."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from textual.widgets import DataTable

import thirdbook.store.incidents
from tests.test_console_flows import make_app, wait_until
from thirdbook.cli import main
from thirdbook.domain.alerts import Firing, TriggerKind
from thirdbook.domain.calibration import AlertFact, calibration, near_misses
from thirdbook.domain.records import to_us
from thirdbook.services.factory import build_services
from thirdbook.store import Store
from thirdbook.tui.screens.calibration import CalibrationScreen
from thirdbook.tui.widgets.alert_table import AlertTable
from thirdbook.tui.widgets.incident_panel import precision_text

T0 = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
NOISE = "known noisy window after the deploy"


class Clock:
    """The store's triage clock, moved by the script."""

    def __init__(self) -> None:
        self.at = T0

    def now_us(self) -> int:
        return to_us(self.at)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    scripted = Clock()
    monkeypatch.setattr(thirdbook.store.incidents, "now_us", scripted.now_us)
    yield scripted


async def _fire(
    store: Store, rule: str, key: str, at: datetime, kind: TriggerKind = "drift"
) -> int:
    firing = Firing(rule=rule, kind=kind, key=key, event_ids=(1,), at=at, summary=f"{rule}!")
    return (await store.alerts.record(firing)).id


async def script(store: Store, clock: Clock) -> None:
    """acc band: dismissed as noise, fires again 50 min later and is declared (a near miss).
    lane: fired before the incident, attached 80 min after its firing (late).
    reports: six alerts dismissed two minutes after each firing, five as test traffic.
    latency: dismissed, fires again 31 days later and is attached (past the horizon).
    unexplained: fired, still open."""
    svc = build_services(store)
    first = await _fire(store, "acc band", "credit-scorer v7", T0)
    lane = await _fire(store, "lane", "support-agent", T0 + timedelta(seconds=30), "agent_lane")
    latency = await _fire(store, "latency", "v8", T0)
    clock.at = T0 + timedelta(minutes=1)
    await svc.triage.dismiss(latency, "slow disk, not the model")
    clock.at = T0 + timedelta(minutes=10)
    await svc.triage.dismiss(first, NOISE)
    again = await _fire(store, "acc band", "credit-scorer v7", T0 + timedelta(hours=1))
    clock.at = T0 + timedelta(hours=1, minutes=5)
    incident = await svc.triage.declare(
        [again], title="v7 declines everyone", severity="SEV2", blast_radius="medium"
    )
    clock.at = T0 + timedelta(hours=1, minutes=20, seconds=30)
    await svc.triage.attach(lane, incident.id)
    reasons = ["test traffic", "Test traffic", "test  traffic ", "duplicate report"]
    reasons += ["test traffic", "test traffic"]
    for n, reason in enumerate(reasons):
        fired = T0 + timedelta(hours=2, minutes=10 * n)
        alert = await _fire(store, "reports", "cs wrong", fired, "feedback")
        clock.at = fired + timedelta(minutes=2)
        await svc.triage.dismiss(alert, reason)
    late = T0 + timedelta(days=31)
    back = await _fire(store, "latency", "v8", late)
    clock.at = late + timedelta(minutes=1)
    await svc.triage.attach(back, incident.id)
    await _fire(store, "unexplained", "x", T0 + timedelta(hours=3), "unexplainable")


async def test_the_register_names_the_dismissal_and_the_late_attachment(
    store: Store, clock: Clock
) -> None:
    await script(store, clock)
    found = await build_services(store).calibration.near_misses()
    assert [(m.kind, m.rule, m.alert_id) for m in found] == [
        ("dismissed-then-declared", "acc band", 1),
        ("attached-late", "lane", 2),
    ]
    dismissed, late = found
    assert dismissed.reason == NOISE and dismissed.by is not None
    assert (dismissed.later_alert_id, dismissed.incident_id) == (4, 1)
    assert dismissed.incident_title == "v7 declines everyone"
    assert dismissed.delay == timedelta(minutes=50)
    assert late.reason is None and late.incident_id == 1
    assert late.delay == timedelta(hours=1, minutes=20)
    assert "waited 1 h 20 min" in late.describe()


async def test_calibration_figures_and_suggestions(store: Store, clock: Clock) -> None:
    await script(store, clock)
    rows = {r.rule: r for r in await build_services(store).calibration.calibration()}
    assert list(rows) == ["acc band", "lane", "latency", "reports", "unexplained"]
    figures = {
        rule: (r.fired, r.declared, r.dismissed, r.open, r.near_misses, r.median_triage_s)
        for rule, r in rows.items()
    }
    assert figures == {
        "acc band": (2, 1, 1, 0, 1, 450.0),  # 10 min and 5 min
        "lane": (1, 1, 0, 0, 1, 4800.0),
        "latency": (2, 1, 1, 0, 0, 60.0),
        "reports": (6, 0, 6, 0, 0, 120.0),
        "unexplained": (1, 0, 0, 1, 0, None),
    }
    assert {rule: r.suggestion for rule, r in rows.items()} == {
        "acc band": "tighten",
        "lane": "tighten",
        "latency": "keep",
        "reports": "loosen",
        "unexplained": "keep",
    }
    reports = rows["reports"]
    assert [(r.reason, r.count) for r in reports.reasons] == [
        ("test traffic", 5),
        ("duplicate report", 1),
    ]
    assert "5 of 6 triaged alerts dismissed as 'test traffic'" in reports.why
    assert NOISE in rows["acc band"].why and "incident #1" in rows["acc band"].why
    assert rows["acc band"].median_triage == "7 min"


async def test_open_alerts_are_not_misses(store: Store, clock: Clock) -> None:
    await script(store, clock)
    svc = build_services(store)
    rows = {r.rule: r for r in await svc.calibration.calibration()}
    assert rows["unexplained"].precision is None
    assert rows["unexplained"].why.startswith("1 open, untriaged")
    precision = {r.rule: r for r in await svc.triage.precision()}
    assert precision["unexplained"].precision is None
    assert precision["unexplained"].label == "1 open, untriaged"
    await _fire(store, "acc band", "credit-scorer v9", T0 + timedelta(hours=4))
    [acc] = [r for r in await svc.triage.precision() if r.rule == "acc band"]
    assert acc.precision == 0.5  # one declared, one dismissed; the open one is no miss
    assert acc.label == "50%; 1 open, untriaged"
    shown = str(precision_text(await svc.triage.precision()))
    assert "unexplained (1 open, untriaged)" in shown and "reports 0/6 (0%)" in shown
    assert "acc band 1/2 (50%; 1 open, untriaged)" in shown


def _fact(n: int, reason: str | None, status: str = "dismissed", key: str = "k") -> AlertFact:
    fired = T0 + timedelta(minutes=n)
    return AlertFact.model_validate(
        {
            "id": n,
            "rule": "r",
            "key": key,
            "status": status,
            "fired_at": fired,
            "triaged_at": None if status == "open" else fired + timedelta(minutes=1),
            "triaged_by": "ana",
            "reason": reason,
            "incident_id": None if status != "declared" else 1,
        }
    )


def test_loosening_needs_five_dismissals_for_one_reason_and_half_the_triage() -> None:
    four = [_fact(n, "noise") for n in range(4)]
    assert calibration(four)[0].suggestion == "keep"
    five = [*four, _fact(4, "noise")]
    assert calibration(five)[0].suggestion == "loosen"
    mostly_right = five + [_fact(10 + n, None, "declared", key=f"d{n}") for n in range(6)]
    assert calibration(mostly_right)[0].suggestion == "keep"
    # The same key coming back declared makes every earlier dismissal a near miss.
    came_back = [*five, _fact(20, None, "declared")]
    [row] = calibration(came_back)
    assert (row.suggestion, row.near_misses) == ("tighten", 5)
    assert len(near_misses(came_back)) == 5


def test_cli_calibration_and_near_misses(tmp_path: Path, clock: Clock) -> None:
    async def seed() -> None:
        store = await Store.open(tmp_path / "data" / "thirdbook.db")
        await script(store, clock)
        await store.close()

    asyncio.run(seed())
    runner = CliRunner()
    shown = runner.invoke(main, ["calibration"])
    assert shown.exit_code == 0, shown.output
    lines = {line.split()[0]: line for line in shown.output.splitlines()[1:]}
    assert (
        "loosen" in lines["reports"] and "5× test traffic; 1× duplicate report" in lines["reports"]
    )
    assert "tighten" in lines["acc"]
    assert "1 open, untriaged" in lines["unexplained"]
    records = [
        json.loads(line)
        for line in runner.invoke(main, ["calibration", "--json"]).output.splitlines()
    ]
    reports = next(r for r in records if r["rule"] == "reports")
    assert reports["suggestion"] == "loosen" and reports["precision"] == 0.0
    assert reports["reasons"][0] == {"reason": "test traffic", "count": 5}
    assert next(r for r in records if r["rule"] == "unexplained")["precision"] is None
    misses = runner.invoke(main, ["near-misses"])
    assert misses.exit_code == 0, misses.output
    assert NOISE in misses.output and "late" in misses.output.replace("attached-late", "late")
    assert "#1 v7 declines everyone" in misses.output
    first, second = (
        json.loads(x) for x in runner.invoke(main, ["near-misses", "--json"]).output.splitlines()
    )
    assert first["kind"] == "dismissed-then-declared" and first["reason"] == NOISE
    assert first["delay"] == 3000.0 and first["incident_id"] == 1
    assert second["kind"] == "attached-late" and second["delay"] == 4800.0
    precision = runner.invoke(main, ["precision"])
    assert (
        "1 open, untriaged" in precision.output
        and "0%" not in precision.output.split("unexplained")[1]
    )


@pytest.mark.parametrize("read_only", [False, True])
async def test_calibration_screen_opens_with_C_lists_the_rules_and_goes_back(
    tmp_path: Path, clock: Clock, read_only: bool
) -> None:
    path = tmp_path / "s.db"
    store = await Store.open(path)
    await script(store, clock)
    await store.close()
    app = make_app(path, read_only=read_only)  # only reads: a read-only console shows it too
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.query_one(AlertTable).row_count, "alerts shown")
        await pilot.press("C")
        await wait_until(pilot, lambda: isinstance(app.screen, CalibrationScreen), "calibration")
        screen = app.screen
        rules = screen.query_one("#calibration-rules", DataTable)
        await wait_until(pilot, lambda: rules.row_count == 5, "the rules listed")
        names = [str(rules.get_row_at(r)[0]) for r in range(rules.row_count)]
        assert names == ["acc band", "lane", "latency", "reports", "unexplained"]
        assert [str(rules.get_row_at(r)[7]) for r in range(5)] == [
            "tighten",
            "tighten",
            "keep",
            "loosen",
            "keep",
        ]
        assert screen.query_one("#calibration-misses", DataTable).row_count == 2
        assert NOISE in str(screen.query_one("#calibration-detail").render())
        await pilot.press("j", "j", "j")
        await pilot.pause()
        assert "5× test traffic" in str(screen.query_one("#calibration-detail").render())
        assert "Near misses — 2" in str(screen.query_one("#near-miss-title").render())
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is app.main_screen, "back on the main screen")
