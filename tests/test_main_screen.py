"""The main screen as a commander meets it: panels that each read only what changed, keys
that act on the panel showing, a terminal too small said in a sentence, actions refused at
their key (read-only, a closed incident), messages that cover nothing, and a containment key
pressed during a snapshot that waits for it."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any

from tests.helpers import event_line, ingest_once, source
from tests.test_console_flows import (
    incident_console,
    make_app,
    screen_text,
    seed,
    service,
    wait_until,
)
from thirdbook.config import ContainmentConfig
from thirdbook.domain.control import FlagdFile, route_for, routing_flags
from thirdbook.store import Store
from thirdbook.tui.panels.panel import Panel
from thirdbook.tui.widgets.event_browser import EventBrowser
from thirdbook.tui.widgets.incident_panel import IncidentPanel
from thirdbook.tui.widgets.message_bar import MessageBar


def _flag_file(tmp_path: Path) -> Path:
    """A flagd file routing credit-scorer to the model."""
    flags = tmp_path / "killswitch.flagd.json"
    flags.write_text(routing_flags("credit-scorer").model_dump_json(by_alias=True))
    return flags


def _routed(flags: Path) -> str | None:
    return route_for(FlagdFile.model_validate_json(flags.read_bytes()), "credit-scorer")


def _count(counts: Counter[str], name: str, call: Callable[..., Awaitable[Any]]) -> Any:
    async def counted(*args: Any, **kwargs: Any) -> Any:
        counts[name] += 1
        return await call(*args, **kwargs)

    return counted


async def test_the_panels_read_only_what_changed(tmp_path: Path) -> None:
    async with incident_console(tmp_path) as (app, pilot):
        svc = await service(app)
        await wait_until(
            pilot, lambda: "Runbook — Model drift" in screen_text(app, "#runbook-title"), "runbook"
        )
        panels = list(app.query(Panel))
        await wait_until(
            pilot, lambda: all(p.shown is not None and not p.busy for p in panels), "painted"
        )
        counts: Counter[str] = Counter()
        for owner, name in (
            (svc.queries, "alerts"),
            (svc.queries, "events"),
            (svc.triage, "timeline"),
            (svc.triage, "action_items"),
            (svc.triage, "runbook_checks"),
            (svc.containment, "snapshots"),
        ):
            setattr(owner, name, _count(counts, name, getattr(owner, name)))
        await pilot.pause(1.5)  # six ticks of an idle store: nothing is read but its marks
        assert counts == Counter(), counts
        await svc.triage.add_action_item(
            1, title="tighten the band", owner="alice", due=date(2030, 1, 1)
        )
        await wait_until(
            pilot, lambda: "1 open" in screen_text(app, "#actions-line"), "the new item"
        )
        assert counts["timeline"] and counts["action_items"] and counts["runbook_checks"]
        assert counts["alerts"] == 0 and counts["events"] == 0, counts  # the Live panel did not


async def test_page_down_acts_on_the_panel_that_is_showing(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    log = tmp_path / "app.jsonl"
    log.write_bytes(b"".join(event_line(n) for n in range(250)))
    await seed(path, ["drift"], declare=True)
    store = await Store.open(path)
    await ingest_once(store, source(log))
    await store.close()
    app = make_app(path)
    async with app.run_test(size=(80, 24)) as pilot:
        browser = app.query_one(EventBrowser)
        await wait_until(pilot, lambda: browser.table.row_count == 100, "a page of events")
        await wait_until(pilot, lambda: "INCIDENT #1" in screen_text(app, "#incident"), "banner")
        await pilot.press("2", "pagedown", "pagedown")
        await pilot.pause(0.3)
        assert browser.live_page, "the hidden events were paged"
        panel = app.query_one(IncidentPanel)
        assert panel.scroll_y == panel.max_scroll_y  # the Incident panel scrolled (to its end)
        await pilot.press("1", "right_square_bracket")
        await wait_until(pilot, lambda: not browser.live_page, "page 2 of the events")


async def test_below_80x24_the_console_says_what_size_it_needs(tmp_path: Path) -> None:
    async with incident_console(tmp_path) as (app, pilot):
        await pilot.resize_terminal(70, 20)
        await wait_until(pilot, lambda: "70x20" in screen_text(app, "#too-small"), "too small")
        assert "at least 80x24" in screen_text(app, "#too-small")
        assert not app.query_one("#columns").display or not app.query_one("#columns").region.area
        await pilot.press("K")
        await pilot.pause(0.3)
        assert type(app.screen).__name__ == "MainScreen"  # no dialog on a screen it cannot fit
        await pilot.resize_terminal(80, 24)
        await wait_until(pilot, lambda: app.query_one("#columns").region.area > 0, "panels back")


async def test_a_read_only_console_offers_no_action_and_refuses_at_the_key(
    tmp_path: Path,
) -> None:
    async with incident_console(tmp_path, read_only=True) as (app, pilot):
        footer_keys = {b.binding.action for b in app.screen.active_bindings.values()}
        assert not footer_keys & {"declare", "kill_switch", "snapshot", "add_action_item"}
        for key in ("K", "d", "i", "s"):
            await pilot.press(key)
            await pilot.pause(0.1)
            assert type(app.screen).__name__ == "MainScreen", key  # refused before any dialog
        await wait_until(
            pilot, lambda: sum("read-only" in n.message for n in app.said) >= 4, "four refusals"
        )


async def test_a_closed_incident_refuses_its_actions_at_the_key(tmp_path: Path) -> None:
    async with incident_console(tmp_path) as (app, pilot):
        svc = await service(app)
        await svc.triage.set_phase(1, "closed")
        app.main_screen.show_incident(1)
        await wait_until(pilot, lambda: "· closed ·" in screen_text(app, "#incident"), "closed")
        assert "kill_switch" not in {b.binding.action for b in app.screen.active_bindings.values()}
        for key in ("K", "v", "p", "R"):
            await pilot.press(key)
            await pilot.pause(0.1)
            assert type(app.screen).__name__ == "MainScreen", key
        await wait_until(
            pilot, lambda: sum("#1 is closed" in n.message for n in app.said) == 4, "refusals"
        )


async def test_messages_cover_no_panel_and_ctrl_l_clears_them(tmp_path: Path) -> None:
    async with incident_console(tmp_path) as (app, pilot):
        for n in range(5):
            app.notify(f"message {n}: /a/very/long/path/" + "x" * 90 + "/bundle.tar.gz")
        bar = app.query_one(MessageBar)
        await wait_until(pilot, lambda: bar.region.height > 0, "the bar")
        text = str(bar.render())
        assert "message 4" in text and "message 3" in text and "message 2" not in text
        assert "+3 older" in text and "x" * 90 + "/bundle.tar.gz" in text.replace("\n", "")
        for name in ("#panel-live", "#panel-incident"):
            panel = app.query_one(name)
            assert not panel.region.overlaps(bar.region), name
        await pilot.press("ctrl+l")
        await wait_until(pilot, lambda: bar.region.height == 0, "cleared")


async def test_a_kill_switch_pressed_during_a_snapshot_waits_for_it(tmp_path: Path) -> None:
    flags = _flag_file(tmp_path)
    async with incident_console(tmp_path, containment=ContainmentConfig(flag_file=flags)) as (
        app,
        pilot,
    ):
        svc = await service(app)
        gate = asyncio.Event()
        take = svc.containment.snapshot

        async def slow_snapshot(*args: Any, **kwargs: Any) -> Any:
            await gate.wait()  # a big window takes a while to copy
            return await take(*args, **kwargs)

        svc.containment.snapshot = slow_snapshot  # type: ignore[method-assign]
        await pilot.press("s")
        await wait_until(pilot, lambda: "snapshot running" in screen_text(app, "#evidence"), "runs")
        await pilot.press("K")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "KillSwitchDialog", "dialog")
        assert "snapshot is being taken" in str(app.screen.query_one("#waiting").render())
        await pilot.press("enter", "2")  # typed while it waits: human review, then panel 2
        await pilot.pause(0.3)
        assert _routed(flags) == "model"
        gate.set()
        await wait_until(
            pilot,
            lambda: _routed(flags) == "human",
            "the kill switch written",
        )
        await wait_until(pilot, lambda: app.main_screen.panel == "incident", "panel 2")
        # The file is written first, then the action recorded: wait for the record too.
        await wait_until(
            pilot,
            lambda: "kill switch → credit-scorer human" in screen_text(app, "#containment-state"),
            "recorded",
        )
        states = await svc.containment.containment_states(1)
        assert [s.value for s in states] == ["human"]
        timeline = " ".join(e.detail for e in await svc.triage.timeline(1))
        assert "deviation" not in timeline and "override" not in timeline, timeline


async def test_a_snapshot_that_fails_under_a_waiting_dialog_drops_the_keys_typed_for_it(
    tmp_path: Path,
) -> None:
    flags = _flag_file(tmp_path)
    async with incident_console(tmp_path, containment=ContainmentConfig(flag_file=flags)) as (
        app,
        pilot,
    ):
        svc = await service(app)
        gate = asyncio.Event()

        async def failing_snapshot(*args: Any, **kwargs: Any) -> Any:
            await gate.wait()
            raise OSError(28, "No space left on device")

        svc.containment.snapshot = failing_snapshot  # type: ignore[method-assign]
        await pilot.press("s")
        await wait_until(pilot, lambda: "snapshot running" in screen_text(app, "#evidence"), "runs")
        await pilot.press("K")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "KillSwitchDialog", "dialog")
        await pilot.press("enter", "2")
        gate.set()
        await wait_until(pilot, lambda: bool(app.screen.query("#override")), "asks for a reason")
        await pilot.pause(0.3)
        assert type(app.screen).__name__ == "KillSwitchDialog"  # the enter was not replayed
        assert app.screen.query_one("#override").value == ""  # type: ignore[attr-defined]
        assert any("keys typed meanwhile were dropped" in n.message for n in app.said)
        assert _routed(flags) == "model"


async def test_at_200x50_the_timeline_shows_each_detail_whole_in_its_width(
    tmp_path: Path,
) -> None:
    from tests.test_unbroken_text import assert_unbroken, rendered_lines

    title = "add a pre-deploy accuracy check on the holdout set, blocking the deploy below the band"
    async with incident_console(tmp_path, size=(200, 50)) as (app, pilot):
        svc = await service(app)
        await svc.triage.add_action_item(1, title=title, owner="alice", due=date(2030, 1, 1))
        timeline = app.query_one("#timeline")
        await wait_until(pilot, lambda: timeline.row_count == 3, "the new entry")  # type: ignore[attr-defined]
        await pilot.pause(0.2)
        lines = rendered_lines(timeline)
        assert max(len(line) for line in lines) <= timeline.size.width
        shown = " ".join(line.split("  ")[-1].strip() for line in lines)
        assert "blocking the deploy below the band" in shown, lines  # wrapped, not scrolled away
        assert_unbroken(title, lines)


async def test_a_new_alert_does_not_move_the_cursor_off_the_chosen_one(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from thirdbook.domain.alerts import Firing
    from thirdbook.tui.widgets.alert_table import AlertTable

    path = tmp_path / "s.db"
    await seed(path, ["drift", "feedback"])
    app = make_app(path)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(AlertTable)
        await wait_until(pilot, lambda: table.row_count == 2, "two alerts")
        await pilot.press("j")  # from the newest (feedback) to the drift alert
        await wait_until(pilot, lambda: table.selected_id() == 1, "on the drift alert")
        store = await Store.open(path)
        try:
            await store.alerts.record(
                Firing(
                    rule="agent rule",
                    kind="agent_lane",
                    key="support-agent",
                    event_ids=(9,),
                    at=datetime(2026, 11, 27, 10, 5, tzinfo=UTC),
                    summary="agent fired",
                )
            )
        finally:
            await store.close()
        await wait_until(pilot, lambda: table.row_count == 3, "the new alert")
        assert table.selected_id() == 1  # `d` now declares the alert the commander chose


async def test_newer_alerts_scrolled_above_the_cursor_are_counted_in_the_title(
    tmp_path: Path,
) -> None:
    """At 80x24 a few alerts show; the cursor stays on the one chosen as new ones arrive
    above it, and the title says how many are out of sight above, until `k` reaches them."""
    from datetime import UTC, datetime

    from thirdbook.domain.alerts import Firing
    from thirdbook.tui.widgets.alert_table import AlertTable

    path = tmp_path / "s.db"
    await seed(path, ["drift", "feedback"])
    app = make_app(path)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(AlertTable)
        await wait_until(pilot, lambda: table.row_count == 2, "two alerts")
        await pilot.press("j")
        await wait_until(pilot, lambda: table.selected_id() == 1, "on the drift alert")
        store = await Store.open(path)
        try:
            for n in range(6):
                await store.alerts.record(
                    Firing(
                        rule=f"agent rule {n}",
                        kind="agent_lane",
                        key=f"agent-{n}",
                        event_ids=(9,),
                        at=datetime(2026, 11, 27, 10, 5 + n, tzinfo=UTC),
                        summary="agent fired",
                    )
                )
        finally:
            await store.close()
        await wait_until(pilot, lambda: table.row_count == 8, "the new alerts")
        assert table.selected_id() == 1
        await wait_until(
            pilot, lambda: "newer above (k)" in screen_text(app, "#alerts-title"), "the count"
        )

        def cursor_in_sight() -> bool:
            top = int(table.scroll_y)
            rows = table.scrollable_content_region.height - table.header_height
            return top <= table.cursor_row < top + max(rows, 1)

        assert cursor_in_sight()
        await pilot.press("r")  # the detail opens and the table gives it room
        await wait_until(pilot, lambda: "#1 " in screen_text(app, "#alert-detail"), "detail")
        await wait_until(pilot, cursor_in_sight, "the row of the detail still in sight")
        await pilot.press("r")
        for _ in range(7):
            await pilot.press("k")
        await wait_until(pilot, lambda: table.selected_id() == 8, "the newest")
        await wait_until(
            pilot, lambda: "newer above" not in screen_text(app, "#alerts-title"), "all in sight"
        )
