"""The first console screen, driven as a person would: keys in, screen out."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.helpers import FAST, event_line, ingest_once, source
from thirdbook.config import Settings
from thirdbook.ingest.ingester import Ingester
from thirdbook.services.factory import Context, Services, build_services, open_services
from thirdbook.store import Store
from thirdbook.tui.app import PAGE_SIZE, ThirdbookApp
from thirdbook.tui.widgets.event_table import EventTable
from thirdbook.tui.widgets.health_line import HealthLine

HOSTILE = b'"applicant-\\u001b]52;c;aGk=\\u0007 [bold red]x[/] \\u202e"'


@pytest.fixture
async def store_path(tmp_path: Path) -> Path:
    """A store holding 250 events (one with a hostile subject) and one reject."""
    path = tmp_path / "console" / "thirdbook.db"
    store = await Store.open(path)
    log = tmp_path / "serving.jsonl"
    lines = [event_line(i) for i in range(250)]
    lines[200] = lines[200].replace(b'"applicant-6"', HOSTILE)
    log.write_bytes(b"".join(lines) + b"not json\n")
    await ingest_once(store, source(log))
    await store.close()
    return path


def make_app(store_path: Path, *, ingest: bool = False) -> ThirdbookApp:
    async def open_console() -> Services:
        return await open_services(Context.for_store(store_path))

    return ThirdbookApp(open_console, ingest=ingest, subtitle="test")


async def settle(pilot: object, app: ThirdbookApp) -> None:
    for _ in range(1500):
        await pilot.pause()  # type: ignore[attr-defined]
        if app.query_one(EventTable).row_count:
            return
        await asyncio.sleep(0.02)


def first_request(app: ThirdbookApp) -> str:
    """The request id of the newest event shown ("" while none is)."""
    table = app.query_one(EventTable)
    return request_of(table.get_row_at(0)[1].plain) if table.row_count else ""


def request_of(line: str) -> str:
    """The request id field of an event line."""
    return next(word for word in line.split() if word.startswith("req-"))


async def test_live_page_shows_one_page_newest_first(store_path: Path) -> None:
    app = make_app(store_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        table = app.query_one(EventTable)
        assert table.row_count == PAGE_SIZE  # one page, never all 250
        assert first_request(app) == "req-00000249"
        assert request_of(table.get_row_at(PAGE_SIZE - 1)[1].plain) == "req-00000150"


async def test_paging_older_and_back_to_live(store_path: Path) -> None:
    app = make_app(store_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("right_square_bracket")
        await pilot.pause()
        assert first_request(app) == "req-00000149"
        await pilot.press("right_square_bracket")
        await pilot.pause()
        assert first_request(app) == "req-00000049"
        assert app.query_one(EventTable).row_count == 50
        await pilot.press("left_square_bracket")
        await pilot.pause()
        assert first_request(app) == "req-00000149"
        await pilot.press("g")
        await pilot.pause()
        assert first_request(app) == "req-00000249"


async def test_raw_line_is_shown_with_controls_visible_and_markup_inert(
    store_path: Path,
) -> None:
    app = make_app(store_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        await pilot.press("tab")  # from the alerts to the events
        assert isinstance(app.focused, EventTable)
        for _ in range(49):  # row 49 of the live page is request 200
            await pilot.press("j")
        await pilot.press("r")
        await pilot.pause()
        detail = str(app.query_one("#detail").render())
        assert "req-00000200" in detail
        # The raw line is shown verbatim: its JSON escapes stay text, its markup stays text.
        assert "\\u001b]52;c;aGk=\\u0007 [bold red]x[/] \\u202e" in detail
        line = app.query_one(EventTable).get_row_at(49)[1]
        # The decoded subject holds a real ESC, BEL and bidi override: shown as escapes.
        assert "applicant-\\e]52;c;aGk=\\x07 [bold red]x[/] \\u202e" in line.plain
        assert not line.spans  # no style came from the data


async def test_health_line_shows_counts_and_who_ingests(store_path: Path) -> None:
    app = make_app(store_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        text = str(app.query_one(HealthLine).render())
        assert "events 250" in text
        assert "rejects 1" in text
        assert "nobody is ingesting" in text


async def test_another_process_events_appear_within_a_second(
    store_path: Path, tmp_path: Path
) -> None:
    app = make_app(store_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        writer = await Store.open(store_path)
        log = tmp_path / "more.jsonl"
        log.write_bytes(event_line(5000))
        ingester = Ingester(writer, source(log), FAST)
        await ingester.run(asyncio.Event(), once=True)
        await ingester.release()
        await writer.close()
        loop = asyncio.get_running_loop()
        began = loop.time()
        while first_request(app) != "req-00005000":
            assert loop.time() - began < 1.0, "the new event did not show within a second"
            await pilot.pause(0.05)


async def test_console_that_ingests_says_so(store_path: Path, tmp_path: Path) -> None:
    log = tmp_path / "live.jsonl"
    log.write_bytes(event_line(7000))

    async def open_console() -> Services:
        return await open_services(Context.for_store(store_path), ingest=True, sources=source(log))

    app = ThirdbookApp(open_console, ingest=True, subtitle="test")
    async with app.run_test(size=(80, 24)) as pilot:

        def health() -> str:
            return str(app.query_one(HealthLine).render())

        for _ in range(1500):  # the health line is read about once a second
            await pilot.pause(0.02)
            if first_request(app) == "req-00007000" and "ingesting here" in health():
                break
        assert first_request(app) == "req-00007000"
        assert "ingesting here" in health()


def test_main_screen_80x24(snap_compare: object, store_path: Path) -> None:
    app = make_app(store_path)

    async def ready(pilot: object) -> None:
        await settle(pilot, app)

    assert snap_compare(app, terminal_size=(80, 24), run_before=ready)  # type: ignore[operator]


def test_main_screen_200x50(snap_compare: object, store_path: Path) -> None:
    app = make_app(store_path)

    async def ready(pilot: object) -> None:
        await settle(pilot, app)

    assert snap_compare(app, terminal_size=(200, 50), run_before=ready)  # type: ignore[operator]


def _lane_app(store_path: Path, log: Path, *, read_only: bool = False) -> ThirdbookApp:
    from thirdbook.domain.rules import AgentLane, TriggerSettings

    log.write_bytes(
        b'{"v":1,"kind":"agent_action","ts":"2026-11-27T10:00:00+00:00",'
        b'"agent":"support-agent","tool":"issue_refund","target":"acct-1","amount":2500}\n'
    )
    rules = TriggerSettings(
        lanes=[AgentLane(agent="support-agent", tools=["issue_refund"], max_amount=100)]
    )

    async def open_console() -> Services:
        return await open_services(
            Context.for_store(store_path, Settings(triggers=rules)),
            read_only=read_only,
            ingest=not read_only,
            sources=source(log),
        )

    return ThirdbookApp(open_console, ingest=not read_only, subtitle="test")


async def _wait_for_alert(pilot: object, app: ThirdbookApp) -> None:
    from thirdbook.tui.widgets.alert_table import AlertTable

    for _ in range(1500):
        await pilot.pause(0.02)  # type: ignore[attr-defined]
        if app.query_one(AlertTable).row_count:
            return
    raise AssertionError("no alert appeared")


async def test_declare_from_the_keyboard_shows_the_incident_banner(
    store_path: Path, tmp_path: Path
) -> None:
    app = _lane_app(store_path, tmp_path / "agent.jsonl")
    async with app.run_test(size=(80, 24)) as pilot:
        await _wait_for_alert(pilot, app)
        await pilot.press("d")
        await pilot.pause()
        title = app.screen.query_one("#title")
        title.value = "Agent refunded 2,500 GBP"  # type: ignore[attr-defined]
        await pilot.press("enter")
        for _ in range(1500):
            await pilot.pause(0.02)
            banner = str(app.query_one("#incident").render())
            if "INCIDENT" in banner:
                break
        assert "INCIDENT #1 SEV1" in banner  # an agent out of its lane: SEV1 by default
        assert "Agent refunded 2,500 GBP" in banner
        assert app.console_service is not None
        [incident] = await app.console_service.triage.incidents()
        assert incident.blast_radius == "high"
        assert incident.recommended_containment == "kill switch"


async def test_dismiss_needs_a_reason_in_the_dialog_too(store_path: Path, tmp_path: Path) -> None:
    app = _lane_app(store_path, tmp_path / "agent.jsonl")
    async with app.run_test(size=(80, 24)) as pilot:
        await _wait_for_alert(pilot, app)
        await pilot.press("x")
        await pilot.pause()
        await pilot.press("enter")  # no reason
        await pilot.pause()
        assert "A reason is needed" in str(app.screen.query_one("#error").render())
        await pilot.press(*"refund approved by finance")
        await pilot.press("enter")
        for _ in range(1500):
            await pilot.pause(0.02)
            assert app.console_service is not None
            alerts = (await app.console_service.queries.alerts()).items
            if alerts and alerts[0].status == "dismissed":
                break
        assert alerts[0].status == "dismissed"


async def test_read_only_console_refuses_to_triage(store_path: Path, tmp_path: Path) -> None:
    live = _lane_app(store_path, tmp_path / "agent.jsonl")
    async with live.run_test(size=(80, 24)) as pilot:  # something to look at
        await _wait_for_alert(pilot, live)
    app = _lane_app(store_path, tmp_path / "agent.jsonl", read_only=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await _wait_for_alert(pilot, app)
        await pilot.press("x")
        await pilot.pause()
        await pilot.press(*"noise", "enter")
        await pilot.pause(0.1)
        assert app.console_service is not None
        assert (await app.console_service.queries.alerts()).items[0].status == "open"
        messages = [n.message for n in app.said]
        assert any("read-only" in m for m in messages)


async def test_overdue_action_items_stand_out(store_path: Path) -> None:
    from datetime import date

    from thirdbook.domain.alerts import Firing

    store = await Store.open(store_path)
    alert = await store.alerts.record(
        Firing(
            rule="acc",
            kind="drift",
            key="v7",
            event_ids=(1,),
            at=datetime(2026, 11, 27, tzinfo=UTC),
            summary="s",
        )
    )
    console = build_services(store)
    incident = await console.triage.declare(
        [alert.id], title="t", severity="SEV2", blast_radius="medium"
    )
    await console.triage.add_action_item(
        incident.id, title="tighten the band", owner="alice", due=date(2020, 1, 1)
    )
    await store.close()
    app = make_app(store_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        line = app.query_one("#actions-line").render()
        assert "Action items: 1 open · 1 OVERDUE" in str(line)
        assert "alice: tighten the band" in str(line)
        assert "INCIDENT #1 SEV2" in str(app.query_one("#incident").render())


async def test_alerts_panel_shows_a_firing_and_its_detail(store_path: Path, tmp_path: Path) -> None:
    from thirdbook.tui.widgets.alert_table import AlertTable

    app = _lane_app(store_path, tmp_path / "agent.jsonl")
    async with app.run_test(size=(80, 24)) as pilot:
        await _wait_for_alert(pilot, app)
        table = app.query_one(AlertTable)
        assert table.row_count == 1
        assert str(table.get_row_at(0)[2].plain) == "agent lane"
        table.focus()
        await pilot.pause()
        await pilot.press("r")
        detail = ""
        for _ in range(250):
            await pilot.pause(0.02)
            detail = str(app.query_one("#alert-detail").render())
            if "amount 2500" in detail:
                break
        assert "amount 2500 is over its limit of 100" in detail
        # A refresh of every panel (as after an action) keeps the detail, and the events'
        # raw-line pane is not painted with it (two writers shared one pane once).
        shown = app.main_screen.live.shown
        app.main_screen.look_again()
        for _ in range(500):
            await pilot.pause(0.02)
            if app.main_screen.live.shown is not shown:
                break
        await pilot.pause(0.6)
        kept = str(app.query_one("#alert-detail").render())
        assert "amount 2500 is over its limit of 100" in kept
        assert "amount 2500" not in str(app.query_one("#detail").render())
        await pilot.press("r")
        await pilot.pause()
        assert not app.query_one("#alert-detail").has_class("open")  # r closes it again
