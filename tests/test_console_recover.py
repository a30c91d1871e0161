"""The Recover screen (u), from the keyboard: restore with conditions (asked once before the
flag file is written), retrain refused before the quarantine sign-off and accepted after,
retire with its note, and the refusals (not contained, read-only)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.test_console_flows import incident_console, service, wait_until
from thirdbook.config import ContainmentConfig
from thirdbook.domain.control import routing_flags
from thirdbook.tui.app import ThirdbookApp


def _flags(tmp_path: Path) -> Path:
    flags = tmp_path / "killswitch.flagd.json"
    flags.write_text(routing_flags("credit-scorer").model_dump_json(by_alias=True))
    return flags


def _notes(app: ThirdbookApp) -> str:
    return " | ".join(str(n.message) for n in app._notifications)


async def _open_decide(app: ThirdbookApp, pilot: Any, kind_presses: tuple[str, ...]) -> None:
    await pilot.press("u")
    await wait_until(pilot, lambda: type(app.screen).__name__ == "RecoverScreen", "recover")
    await pilot.press("d")
    await wait_until(pilot, lambda: type(app.screen).__name__ == "ChoiceDialog", "kinds")
    await pilot.press(*kind_presses, "enter")


async def test_restore_from_the_keyboard_asks_once_then_writes_the_flag_rules(
    tmp_path: Path,
) -> None:
    flags = _flags(tmp_path)
    async with incident_console(tmp_path, containment=ContainmentConfig(flag_file=flags)) as (
        app,
        pilot,
    ):
        svc = await service(app)
        await _open_decide(app, pilot, ())
        await wait_until(pilot, lambda: type(app.screen).__name__ == "DecisionForm", "form")
        await pilot.press(*"income>=40000", "enter")
        await pilot.press("backspace", "backspace", "backspace", *"25", "enter")
        await pilot.press("enter", "enter")  # no band; its expiry left as it is
        await pilot.press("enter")  # not contained: a reason is needed
        await pilot.pause()
        assert "needs a reason" in str(app.screen.query_one("#error").render())
        await pilot.press(*"regulator deadline", "enter")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "AskOnce", "asks once")
        assert "Write the flag rules now?" in str(app.screen.query_one("Label").render())
        before = flags.read_bytes()
        await pilot.press("y")
        await wait_until(pilot, lambda: flags.read_bytes() != before, "written")
        flag = json.loads(flags.read_text())["flags"]["credit-scorer-route"]
        assert flag["targeting"]["if"][1] == {"fractional": [["model", 25], ["human", 75]]}
        await wait_until(
            pilot,
            lambda: "RESTORE" in str(app.screen.query_one("#recover-decisions").render()),
            "listed",
        )
        shown = str(app.screen.query_one("#recover-decisions").render())
        assert "not yet observed in the serving logs" in shown
        kinds = [e.kind for e in await svc.triage.timeline(1)]
        assert "decision" in kinds and "deviation" in kinds


async def test_escape_at_the_question_writes_nothing(tmp_path: Path) -> None:
    flags = _flags(tmp_path)
    async with incident_console(tmp_path, containment=ContainmentConfig(flag_file=flags)) as (
        app,
        pilot,
    ):
        before = flags.read_bytes()
        await _open_decide(app, pilot, ())
        await wait_until(pilot, lambda: type(app.screen).__name__ == "DecisionForm", "form")
        await pilot.press("enter", "enter", "enter", "enter", *"why", "enter")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "AskOnce", "asks once")
        await pilot.press("escape")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "RecoverScreen", "back")
        assert flags.read_bytes() == before
        assert await (await service(app)).recovery.decisions(1) == []


async def test_retrain_refused_before_the_sign_off_and_accepted_after(tmp_path: Path) -> None:
    data = tmp_path / "q3.csv"
    data.write_text("a,b\n")
    async with incident_console(tmp_path) as (app, pilot):
        svc = await service(app)
        await svc.quarantine.add(1, [str(data)], override="poisoned rows")
        await _open_decide(app, pilot, ("down",))
        await wait_until(pilot, lambda: type(app.screen).__name__ == "DecisionForm", "form")
        await pilot.press(*"q4.csv", "enter", *"dana", "enter")
        await wait_until(pilot, lambda: "not signed off" in _notes(app), "refused with why")
        assert await svc.recovery.decisions(1) == []

        await svc.quarantine.sign_off(1, "rows removed, rest reviewed")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "RecoverScreen", "back")
        await pilot.press("d")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "ChoiceDialog", "kinds")
        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "DecisionForm", "form")
        await pilot.press(*"q4.csv", "enter", *"dana", "enter")
        await wait_until(
            pilot,
            lambda: "RETRAIN" in str(app.screen.query_one("#recover-decisions").render()),
            "decided",
        )


async def test_retire_keeps_the_note_written_in_the_editor(tmp_path: Path) -> None:
    flags = _flags(tmp_path)
    async with incident_console(tmp_path, containment=ContainmentConfig(flag_file=flags)) as (
        app,
        pilot,
    ):
        svc = await service(app)
        await svc.containment.kill_switch(1, "human", override="customers harmed")
        await pilot.press("u")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "RecoverScreen", "recover")
        app.screen.note_writer = lambda _app, _id: "Underwriters decide from today."  # type: ignore[attr-defined]
        await pilot.press("d")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "ChoiceDialog", "kinds")
        await pilot.press("down", "down", "enter")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "ChoiceDialog", "what")
        await pilot.press("enter")  # people
        # Contained, but no snapshot: the kill switch's own rule still wants a reason.
        await wait_until(pilot, lambda: type(app.screen).__name__ == "DecisionForm", "reason")
        await pilot.press(*"no time for a snapshot", "enter")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "AskOnce", "asks once")
        await pilot.press("y")
        await wait_until(
            pilot,
            lambda: "RETIRE" in str(app.screen.query_one("#recover-decisions").render()),
            "decided",
        )
        [state] = await svc.recovery.decisions(1)
        assert "Underwriters decide from today." in state.decision.summary


async def test_a_read_only_console_refuses_to_decide(tmp_path: Path) -> None:
    async with incident_console(tmp_path, read_only=True) as (app, pilot):
        await pilot.press("u")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "RecoverScreen", "recover")
        await pilot.press("d")
        await wait_until(pilot, lambda: "read-only" in _notes(app), "refused with why")
        assert type(app.screen).__name__ == "RecoverScreen"
