"""The phase dialog from the keyboard: it does not wrap around, a move back asks once,
closing asks once and lists what is still open; a closed incident's clock stops, and the
banner and the incident panel always show the same time."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from textual.geometry import Region
from textual.widget import Widget

from tests.test_console_flows import incident_console, screen_text, service, wait_until
from thirdbook.domain.incidents import Incident, elapsed_clock
from thirdbook.tui.app import ThirdbookApp
from thirdbook.tui.dialogs.choices import ChoiceDialog
from thirdbook.tui.dialogs.phase import AskOnceDialog

_CLOCK = re.compile(r"\d+:\d\d:\d\d")


def rendered_lines(widget: Widget) -> list[str]:
    """The lines a widget draws, as the terminal shows them."""
    size = widget.outer_size
    strips = widget.render_lines(Region(0, 0, size.width, size.height))
    return [strip.text for strip in strips]


def _clocks(app: ThirdbookApp) -> tuple[str, str]:
    """The elapsed time on the banner and on the incident panel."""
    banner = _CLOCK.findall(screen_text(app, "#incident"))
    panel = _CLOCK.findall(screen_text(app, "#incident-facts"))
    assert len(banner) == 1 and len(panel) == 1, (banner, panel)
    return banner[0], panel[0]


async def _phases(app: ThirdbookApp) -> list[str]:
    return [e.detail for e in await (await service(app)).triage.timeline(1) if e.kind == "phase"]


async def test_the_phase_list_stops_at_its_ends(tmp_path: Path) -> None:
    async with incident_console(tmp_path) as (app, pilot):
        await pilot.press("p")
        await wait_until(pilot, lambda: isinstance(app.screen, ChoiceDialog), "the phase list")
        choices = app.screen.query_one("#choices")
        await pilot.press("k", "up")  # at "detected": up stays there (it used to be "closed")
        assert choices.highlighted == 0  # type: ignore[attr-defined]
        await pilot.press(*["j"] * 9)
        assert choices.highlighted == 5  # type: ignore[attr-defined]  # "closed", not round again
        await pilot.press("escape", "p")
        await pilot.pause()
        await pilot.press("k", "enter")  # still "detected": refused as no change
        await wait_until(pilot, lambda: not isinstance(app.screen, AskOnceDialog), "no question")
        await pilot.pause(0.2)
        assert "· detected ·" in screen_text(app, "#incident")
        assert await _phases(app) == []


async def test_a_move_back_asks_once(tmp_path: Path) -> None:
    async with incident_console(tmp_path) as (app, pilot):
        await pilot.press("p")
        await pilot.pause()
        await pilot.press("j", "j", "enter")  # forward: no question
        await wait_until(pilot, lambda: "investigating" in screen_text(app, "#incident"), "fwd")
        await pilot.press("p")
        await pilot.pause()
        await pilot.press("k", "enter")  # back to "contained": one question
        await wait_until(pilot, lambda: isinstance(app.screen, AskOnceDialog), "question")
        assert "BACK from investigating to contained" in str(app.screen.query_one("Label").render())
        await pilot.press("escape")  # keep it
        await wait_until(pilot, lambda: not isinstance(app.screen, AskOnceDialog), "kept")
        assert await _phases(app) == ["detected → investigating"]
        await pilot.press("p")
        await pilot.pause()
        await pilot.press("k", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, AskOnceDialog), "question")
        await pilot.press("enter")  # the one answer moves it
        await wait_until(pilot, lambda: "· contained ·" in screen_text(app, "#incident"), "back")
        assert not isinstance(app.screen, AskOnceDialog)
        assert await _phases(app) == ["detected → investigating", "investigating → contained"]


async def test_closing_asks_once_naming_what_is_open_and_stops_the_clock(tmp_path: Path) -> None:
    async with incident_console(tmp_path, ("drift", "feedback")) as (app, pilot):
        await pilot.press("I")  # chosen in the incident list: it stays on screen once closed
        await pilot.pause()
        await pilot.press("enter")
        svc = await service(app)
        await svc.triage.add_action_item(
            1, title="Add a pre-deploy check", owner="alice", due=date.today() + timedelta(7)
        )
        await pilot.press("p")
        await pilot.pause()
        await pilot.press("end", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, AskOnceDialog), "question")
        body = "\n".join(rendered_lines(app.screen.query_one("#body")))
        assert "- 15 runbook steps unchecked, first: Look at the drift chart" in body, body
        assert "- 1 action item open: #1 alice" in body, body
        assert "- 1 alert open in Live triggers: #2 feedback" in body, body
        await pilot.press("enter")
        await wait_until(pilot, lambda: "· closed ·" in screen_text(app, "#incident"), "closed")
        assert not isinstance(app.screen, AskOnceDialog)  # asked once
        assert await _phases(app) == ["detected → closed"]
        incident = await svc.triage.incident(1)
        assert incident is not None and incident.closed_at is not None
        stopped = elapsed_clock(incident, datetime.now(UTC))
        await wait_until(pilot, lambda: _clocks(app) == (stopped, stopped), "one clock")
        await asyncio.sleep(1.5)  # a running clock would move on meanwhile
        await pilot.pause(0.3)
        assert _clocks(app) == (stopped, stopped)


async def test_the_banner_and_the_panel_tick_together(tmp_path: Path) -> None:
    async with incident_console(tmp_path) as (app, pilot):
        # On a busy machine the panel may paint its clock a moment after the banner.
        await wait_until(pilot, lambda: all(_clocks(app)), "both clocks shown")
        first = _clocks(app)
        assert first[0] == first[1]
        await wait_until(pilot, lambda: _clocks(app)[0] != first[0], "the clock moves")
        for _ in range(10):  # sampled between ticks: never apart
            banner, panel = _clocks(app)
            assert banner == panel
            await pilot.pause(0.1)


def test_a_closed_incidents_clock_is_its_declared_to_closed_time() -> None:
    declared = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    incident = Incident(
        id=1,
        title="t",
        severity="SEV2",
        blast_radius="medium",
        phase="closed",
        commander="root",
        declared_at=declared,
        alert_ids=(),
        closed_at=declared + timedelta(hours=1, minutes=2, seconds=3),
    )
    assert elapsed_clock(incident, declared + timedelta(days=3)) == "1:02:03"
    running = incident.model_copy(update={"phase": "recovering", "closed_at": None})
    assert elapsed_clock(running, declared + timedelta(seconds=75)) == "0:01:15"
