"""The Explain screen as a commander meets it: `w` from an event, from an unexplainable
alert and from the explorer; the four things on tape present or MISSING; the request id and
the Markdown copied; the inquiry answered onto the timeline; refused on a read-only console."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from textual.pilot import Pilot

from tests.helpers import ingest_once, source
from tests.test_console_flows import _runbooks, make_app, service, wait_until
from tests.test_explain import ARRIVED, SECRET, decision, inquiry, write
from thirdbook.domain.alerts import Firing
from thirdbook.services.factory import build_services
from thirdbook.store import Store
from thirdbook.tui.app import ThirdbookApp
from thirdbook.tui.screens.explain import ExplainScreen
from thirdbook.tui.widgets.alert_table import AlertTable


async def seed(tmp_path: Path) -> Path:
    """A store: req-2 logged without its prompt and response (event 1), a regulator's
    inquiry about it (event 2, alerted and declared as incident #1), req-1 whole (event 3)."""
    path = tmp_path / "s.db"
    log = write(
        tmp_path,
        decision("req-2", prompt=None, response=None),
        inquiry("inq-1", "req-2"),
        decision("req-1"),
    )
    store = await Store.open(path)
    await ingest_once(store, source(log))
    alert = await store.alerts.record(
        Firing(
            rule="unexplainable decision",
            kind="unexplainable",
            key="req-2",
            event_ids=(2, 1),
            at=ARRIVED,
            summary="regulator inquiry inq-1: the record of req-2 lacks the prompt, response",
        )
    )
    await build_services(store, runbooks=_runbooks()).triage.declare(
        [alert.id], title="regulator asks", severity="SEV3", blast_radius="medium"
    )
    await store.close()
    return path


@contextlib.asynccontextmanager
async def console(
    tmp_path: Path, *, read_only: bool = False, size: tuple[int, int] = (80, 24)
) -> AsyncIterator[tuple[ThirdbookApp, Pilot[None]]]:
    app = make_app(await seed(tmp_path), read_only=read_only)
    async with app.run_test(size=size) as pilot:
        await wait_until(pilot, lambda: app.query_one(AlertTable).row_count == 1, "alert")
        yield app, pilot


async def explained(app: ThirdbookApp, pilot: Pilot[None]) -> ExplainScreen:
    await wait_until(pilot, lambda: isinstance(app.screen, ExplainScreen), "Explain screen")
    assert isinstance(app.screen, ExplainScreen)
    return app.screen


async def from_event(app: ThirdbookApp, pilot: Pilot[None]) -> ExplainScreen:
    table = app.main_screen.live.browser.table
    await wait_until(pilot, lambda: table.row_count == 3, "events shown")
    table.focus()
    selected = app.main_screen.selected_event
    await wait_until(pilot, lambda: (e := selected()) is not None and e.request_id == "req-1", "")
    await pilot.press("w")
    return await explained(app, pilot)


async def test_w_on_an_event_shows_its_request_and_all_four_present(tmp_path: Path) -> None:
    async with console(tmp_path) as (app, pilot):
        screen = await from_event(app, pilot)
        text = screen.text()
        assert "Decision req-1" in text and "All four on tape" in text
        assert "MISSING" not in text
        assert "credit-decision version 3" in text and "policy-12" in text
        assert '"score": 612' in text  # the tool's JSON output, pretty-printed
        assert SECRET not in text  # masked in the prompt's user text
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is app.main_screen, "back")


async def test_w_on_the_unexplainable_alert_shows_what_is_missing(tmp_path: Path) -> None:
    async with console(tmp_path) as (app, pilot):
        await pilot.press("w")  # the alerts hold the focus at start
        screen = await explained(app, pilot)
        text = screen.text()
        assert "Decision req-2" in text and "inquiry inq-1" in text
        assert "MISSING: prompt, response" in text
        assert "Why was this application declined?" in text
        assert "All four on tape" not in text


async def test_w_from_the_explorer(tmp_path: Path) -> None:
    async with console(tmp_path, size=(120, 40)) as (app, pilot):
        await pilot.press("slash")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "ExplorerScreen", "explorer")
        await pilot.press(*"request:req-2", "enter")
        browser = app.screen.browser  # type: ignore[attr-defined]
        await wait_until(
            pilot,
            lambda: (e := browser.selected_event()) is not None and e.request_id == "req-2",
            "req-2 selected",
        )
        await pilot.press("w")
        screen = await explained(app, pilot)
        assert "Decision req-2" in screen.text() and "MISSING" in screen.text()


async def test_c_copies_the_request_id_and_m_the_markdown(tmp_path: Path) -> None:
    async with console(tmp_path) as (app, pilot):
        await from_event(app, pilot)
        await pilot.press("c")
        await wait_until(pilot, lambda: app.clipboard == "req-1", "request id copied")
        assert any("Copied request id req-1" in n.message for n in app.said)
        await pilot.press("m")
        await wait_until(pilot, lambda: app.clipboard.startswith("# Decision req-1"), "markdown")
        assert "## 2 prompt" in app.clipboard and SECRET not in app.clipboard


async def test_a_answers_the_inquiry_onto_the_incidents_timeline(tmp_path: Path) -> None:
    async with console(tmp_path) as (app, pilot):
        await pilot.press("w")
        screen = await explained(app, pilot)
        await pilot.press("a")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "AnswerNoteDialog", "note")
        await pilot.press(*"sent to the regulator", "enter")
        await wait_until(pilot, lambda: "s after it arrived" in screen.text(), "answered")
        assert app.screen is screen
        svc = await service(app)
        timeline = await svc.store.incidents.timeline(1)
        entry = next(t for t in timeline if t.kind == "inquiry answered")
        assert "inq-1" in entry.detail and "sent to the regulator" in entry.detail


async def test_a_on_an_explanation_without_an_inquiry_says_why(tmp_path: Path) -> None:
    async with console(tmp_path) as (app, pilot):
        screen = await from_event(app, pilot)
        await pilot.press("a")
        await wait_until(pilot, lambda: any("no inquiry" in n.message for n in app.said), "why")
        assert app.screen is screen


async def test_a_read_only_console_explains_but_refuses_to_answer(tmp_path: Path) -> None:
    async with console(tmp_path, read_only=True) as (app, pilot):
        await pilot.press("w")
        screen = await explained(app, pilot)
        await pilot.press("a")
        await wait_until(pilot, lambda: any("read-only" in n.message for n in app.said), "refused")
        assert app.screen is screen  # refused at the key, before the note is asked
        svc = await service(app)
        assert not [
            t for t in await svc.store.incidents.timeline(1) if t.kind == "inquiry answered"
        ]
