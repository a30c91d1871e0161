"""The Replay screen from the keyboard, against a real chat server on 127.0.0.1: `y` replays
the active incident and shows the run's verdict, each input side by side (`]`/`[` between
them, `v` filters by verdict), `esc` cancels a run and `g` resumes it without sending an
answered input again, `r`/`x` mark the suspect's answer, and a read-only console refuses to
run one. Answers are shown as text, never interpreted by the terminal."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from tests.replay_server import ChatServer
from tests.test_console_flows import make_app, screen_text, wait_until
from tests.test_replay_service import GOOD, KEY, UPSTREAM, _incident, _settings, decide
from thirdbook.config import ContainmentConfig, Settings
from thirdbook.tui.app import ThirdbookApp
from thirdbook.tui.screens.main import MainScreen
from thirdbook.tui.screens.replay import ReplayScreen

INPUTS = len(GOOD + UPSTREAM)


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TB_TEST_KEY", KEY)


@contextlib.asynccontextmanager
async def replay_console(
    tmp_path: Path, server: ChatServer, *, read_only: bool = False, **replay: Any
) -> AsyncIterator[tuple[ThirdbookApp, Pilot[None]]]:
    """Incident #1 of tests/test_replay_service.py (v7 declines the good applicants; two
    inputs both versions decline), in a console on the main screen."""
    settings = _settings(server, **replay)
    services, _ = await _incident(tmp_path, settings)
    await services.close()
    containment = ContainmentConfig(
        registry=tmp_path / "registry.json",
        flag_file=tmp_path / "absent.json",
        window_before_s=3600,
    )
    app = make_app(
        tmp_path / "data" / "thirdbook.db",
        read_only=read_only,
        settings=Settings(replay=settings.replay, containment=containment),
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: "INCIDENT #1" in screen_text(app, "#incident"), "banner")
        yield app, pilot


def shown(app: ThirdbookApp) -> str:
    screen = app.screen
    assert isinstance(screen, ReplayScreen)
    return screen.text()


def rows(app: ThirdbookApp) -> list[list[str]]:
    table = app.screen.query_one("#replay-inputs")
    return [[str(c) for c in table.get_row_at(r)] for r in range(table.row_count)]  # type: ignore[attr-defined]


async def open_replay(app: ThirdbookApp, pilot: Pilot[None]) -> None:
    await pilot.press("y")
    await wait_until(pilot, lambda: isinstance(app.screen, ReplayScreen), "the replay screen")


async def test_y_replays_the_incident_and_shows_each_input_side_by_side(tmp_path: Path) -> None:
    with ChatServer(decide) as server:
        async with replay_console(tmp_path, server) as (app, pilot):
            await open_replay(app, pilot)
            await wait_until(pilot, lambda: "Verdict: REGRESSION" in shown(app), "the verdict")
            text = shown(app)
            assert "v6 (known good) against v7 (suspect)" in text
            assert f"{INPUTS} inputs answered by both" in text
            assert "3 regression in the model change, 2 upstream" in text
            assert "1 skipped" in text  # the decision logged without its prompt
            assert len(rows(app)) == INPUTS
            # The highlighted input side by side: its request as sent, both answers.
            first = rows(app)[0]
            await wait_until(pilot, lambda: f"Input {first[0]}" in shown(app), "the input")
            text = shown(app)
            assert "user: " in text and "system: score the applicant" in text
            assert "v6 (known good)" in text and "v7 (suspect)" in text
            assert f"decision: {first[1]}" in text and f"decision: {first[2]}" in text
            assert "Expected: approve (feedback)" in text
            # ] steps to the next input.
            await pilot.press("right_square_bracket")
            second = rows(app)[1][0]
            await wait_until(pilot, lambda: f"Input {second}" in shown(app), "the next input")
            await pilot.press("left_square_bracket")
            await wait_until(pilot, lambda: f"Input {first[0]}" in shown(app), "back again")
            # v filters: the regressions, then the upstream inputs.
            await pilot.press("v")
            await wait_until(pilot, lambda: len(rows(app)) == 3, "only the regressions")
            assert all(r[4] == "REGRESSION" for r in rows(app))
            assert "filter: regression in the model change — 3 of 5 inputs" in shown(app)
            await pilot.press("v")
            await wait_until(pilot, lambda: len(rows(app)) == 2, "only upstream")
            assert {r[0] for r in rows(app)} == set(UPSTREAM)
            # w explains the highlighted input's logged decision; esc comes back.
            highlighted = rows(app)[0][0]
            await pilot.press("w")
            await wait_until(pilot, lambda: type(app.screen).__name__ == "ExplainScreen", "explain")
            assert app.screen.explanation.request_id == highlighted  # type: ignore[attr-defined]
            await pilot.press("escape")
            await wait_until(pilot, lambda: isinstance(app.screen, ReplayScreen), "back")
            sent = server.requests
            # Back, and y again shows the finished run: nothing is sent again.
            await pilot.press("escape")
            await wait_until(pilot, lambda: isinstance(app.screen, MainScreen), "the main screen")
            await open_replay(app, pilot)
            await wait_until(pilot, lambda: "g runs it again" in shown(app), "the finished run")
            assert "Verdict: REGRESSION" in shown(app)
            assert server.requests == sent == 2 * INPUTS
            assert KEY not in shown(app)


async def test_esc_cancels_the_run_and_g_resumes_without_sending_twice(tmp_path: Path) -> None:
    with ChatServer(decide, delay_s=0.3) as server:
        async with replay_console(tmp_path, server, concurrency=1) as (app, pilot):
            await open_replay(app, pilot)
            await wait_until(pilot, lambda: "2/10 answered" in shown(app), "two answers")
            await pilot.press("escape")
            await wait_until(pilot, lambda: "CANCELLED" in shown(app), "the cancel")
            assert isinstance(app.screen, ReplayScreen)  # esc stopped the run, not the screen
            assert "g resumes" in shown(app)
            answered = server.requests
            await pilot.press("g")
            await wait_until(pilot, lambda: "Verdict: REGRESSION" in shown(app), "the verdict")
            # At most the one cut off by the cancel is sent again.
            assert server.requests <= 2 * INPUTS + 1
            assert server.requests - answered >= 2 * INPUTS - answered
            assert len(rows(app)) == INPUTS


async def test_marks_recompute_the_verdict_and_a_read_only_console_runs_nothing(
    tmp_path: Path,
) -> None:
    with ChatServer(decide) as server:
        async with replay_console(tmp_path, server) as (app, pilot):
            await open_replay(app, pilot)
            await wait_until(pilot, lambda: "Verdict: REGRESSION" in shown(app), "the verdict")
            for _ in range(2):  # to the upstream inputs: both versions declined
                await pilot.press("v")
            await wait_until(pilot, lambda: len(rows(app)) == 2, "only upstream")
            target = rows(app)[0][0]
            await pilot.press("r")  # the suspect's decline was right after all
            await wait_until(pilot, lambda: target not in {r[0] for r in rows(app)}, "re-judged")
            assert "1 upstream" in shown(app)
            assert isinstance(app.screen, ReplayScreen)
            outcome = await app.screen.service.replay.outcome(1)
            line = next(ln for ln in outcome.lines if ln.request_id == target)
            assert line.verdict.value == "not reproduced"
        (tmp_path / "ro").mkdir()
        async with replay_console(tmp_path / "ro", server, read_only=True) as (app, pilot):
            await open_replay(app, pilot)
            await wait_until(pilot, lambda: "read-only" in shown(app), "the refusal")
            assert rows(app) == []


async def test_terminal_escapes_and_tool_calls_in_an_answer_are_shown_not_obeyed(
    tmp_path: Path,
) -> None:
    with ChatServer(decide, modes={"v7": "escape", "v6": "toolcall"}) as server:
        async with replay_console(tmp_path, server) as (app, pilot):
            await open_replay(app, pilot)
            await wait_until(pilot, lambda: "Verdict:" in shown(app), "the verdict")
            await wait_until(pilot, lambda: "Input " in shown(app), "the input")
            text = shown(app)
            assert "\x1b" not in text and "\x07" not in text
            assert "]52;c;AAAA" in text  # shown, as its JSON escape
            assert "[red]x[/red]" in text  # markup shown as typed, not applied
            assert "tool call (shown, not run): rm_rf" in text


async def test_i_names_other_inputs_and_a_bad_name_is_refused_on_screen(tmp_path: Path) -> None:
    with ChatServer(decide) as server:
        async with replay_console(tmp_path, server) as (app, pilot):
            await open_replay(app, pilot)
            await wait_until(pilot, lambda: "Verdict: REGRESSION" in shown(app), "the verdict")
            ids = tmp_path / "upstream.txt"
            ids.write_text("\n".join(UPSTREAM) + "\n")
            await pilot.press("i")
            await wait_until(pilot, lambda: bool(app.screen.query("#inputs")), "the dialog")
            for ch in f"file:{ids}":
                await pilot.press(ch)
            await pilot.press("enter")
            await wait_until(pilot, lambda: "Verdict: UPSTREAM" in shown(app), "its verdict")
            assert "inputs file:/" in shown(app)
            assert {r[0] for r in rows(app)} == set(UPSTREAM)
            await pilot.press("i")
            await wait_until(pilot, lambda: bool(app.screen.query("#inputs")), "the dialog")
            app.screen.query_one("#inputs").value = "alert:99"  # type: ignore[attr-defined]
            await pilot.press("enter")
            await wait_until(pilot, lambda: "there is no alert #99" in shown(app), "the refusal")
            assert rows(app) == []  # the previous run's rows do not stay under a refusal
