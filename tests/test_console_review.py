"""The Review screen (B), from the keyboard: a finding that names a person kept with advice,
an action item answering it with its type, the runbook edited in $EDITOR and shown as a diff,
completion, and the report written; completion refused without a finding."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.test_console_flows import incident_console, service, wait_until
from thirdbook.tui.app import ThirdbookApp


def _notes(app: ThirdbookApp) -> str:
    return " | ".join(str(n.message) for n in app._notifications)


def _on_screen(app: ThirdbookApp, selector: str) -> str:
    """What a widget of the screen on top shows ('' while another screen is up)."""
    found = app.screen.query(selector)
    return str(found.first().render()) if found else ""


def _body(app: ThirdbookApp) -> str:
    return _on_screen(app, "#review-body")


async def _open_review(app: ThirdbookApp, pilot: Any) -> None:
    await pilot.press("B")
    await wait_until(pilot, lambda: type(app.screen).__name__ == "ReviewScreen", "review")
    await wait_until(pilot, lambda: "Time to declare" in _body(app), "times shown")


async def _screen(app: ThirdbookApp, pilot: Any, name: str) -> None:
    await wait_until(pilot, lambda: type(app.screen).__name__ == name, name)


def _appending_editor(app: Any, path: Path) -> None:
    with path.open("a") as runbook:
        runbook.write("\n1. Page the drift channel owner.\n")


async def test_a_review_from_the_keyboard_ends_in_a_completed_review_and_a_report(
    tmp_path: Path,
) -> None:
    async with incident_console(tmp_path, size=(100, 40)) as (app, pilot):
        svc = await service(app)
        commander = app.main_screen.incident.commander  # type: ignore[union-attr]
        await _open_review(app, pilot)
        title = _on_screen(app, "#review-title")
        assert "Review — incident #1 — 0 finding(s), not completed" in title
        assert "a review records at least one finding" in _body(app)
        await pilot.press("c")  # no finding yet: refused, saying why
        await wait_until(pilot, lambda: "at least one finding" in _notes(app), "refused")
        # A finding naming the commander: kept, with advice.
        await pilot.press("f")
        await _screen(app, pilot, "ChoiceDialog")
        await pilot.press("down", "down", "down", "enter")  # went wrong
        await _screen(app, pilot, "DecisionForm")
        await pilot.press(*f"{commander} missed the drift page", "enter")
        await wait_until(pilot, lambda: "Advice:" in _notes(app), "advice")
        await wait_until(pilot, lambda: "#1 What went wrong:" in _body(app), "finding shown")
        assert "name the mechanism" in _body(app)
        # An action item answering it.
        await pilot.press("a")
        await _screen(app, pilot, "ChoiceDialog")
        await pilot.press("enter")  # finding #1
        await wait_until(pilot, lambda: "What does it do?" in _on_screen(app, "Label"), "type")
        await pilot.press("down", "enter")  # prevent
        await _screen(app, pilot, "ActionItemDialog")
        await pilot.press(*"Give the drift channel an owner", "enter", *"ops-lead", "enter")
        await pilot.press(*"+14d", "enter")
        await wait_until(pilot, lambda: "#1 prevent → finding #1" in _body(app), "item shown")
        # The runbook edited in $EDITOR: the diff shows, and the review may complete.
        # (Pilot cannot suspend the app for a real editor: the tmux test runs one.)
        app.screen.editor = _appending_editor  # type: ignore[attr-defined]
        await pilot.press("e")
        await wait_until(pilot, lambda: "+1. Page the drift channel owner." in _body(app), "diff")
        assert "Ready: press c" in _body(app)
        await pilot.press("c")
        await wait_until(pilot, lambda: "completed" in _notes(app), "completed")
        await wait_until(pilot, lambda: "Completed by" in _body(app), "completion shown")
        review = await svc.review.review(1)
        assert review.completion is not None and review.completion.no_edit_reason is None
        # The report, written to the exports folder.
        await pilot.press("m")
        await wait_until(pilot, lambda: "Report" in _notes(app), "report")
        assert "Report written" in _notes(app), _notes(app)
        [report] = svc.paths.exports.glob("incident-1-report-*.md")
        text = report.read_text()
        assert "Give the drift channel an owner" in text and "```diff" in text
        assert "Review completed by" in text
        await pilot.press("escape")
        await _screen(app, pilot, "MainScreen")


async def test_completing_without_a_runbook_edit_asks_why(tmp_path: Path) -> None:
    async with incident_console(tmp_path, size=(100, 40)) as (app, pilot):
        svc = await service(app)
        await svc.review.add_finding(1, "factor", "alarms went to an unowned channel")
        await _open_review(app, pilot)
        await wait_until(pilot, lambda: "unowned channel" in _body(app), "finding")
        await pilot.press("c")
        await _screen(app, pilot, "DecisionForm")
        await pilot.press(*"the runbook already covered it", "enter")
        await wait_until(pilot, lambda: "Completed by" in _body(app), "completed")
        assert "no runbook edit: the runbook already covered it" in _body(app)
