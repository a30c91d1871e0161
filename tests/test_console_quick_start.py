"""The console started from a quick read: its first frame shows the newest page of events read
as plain rows, before the config file's models and the services are loaded; once they are,
it shows what the console started the usual way shows; a row opened meanwhile is the same
stored event; and wherever a quick read cannot be made, the console starts the usual way."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.helpers import event_line, ingest_once, source
from tests.test_console_flows import wait_until
from thirdbook.cli import main
from thirdbook.domain.alerts import Firing
from thirdbook.locations import shipped_dir
from thirdbook.services.factory import Context, Services, open_services
from thirdbook.services.quick_console import quick_console, stored_event
from thirdbook.store import Store
from thirdbook.store.schema import MIGRATIONS
from thirdbook.tui.app import PAGE_SIZE, Look, ThirdbookApp
from thirdbook.tui.launch import console_app, quick_console_app
from thirdbook.tui.widgets.alert_table import AlertTable
from thirdbook.tui.widgets.event_table import EventTable
from thirdbook.tui.widgets.event_table import event_line as shown_line
from thirdbook.tui.widgets.health_line import HealthLine

CONFIG = '[console]\ntheme = "thirdbook-light"\n\n[console.keymap]\ndeclare = "D"\n'


@pytest.fixture
async def estate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A data directory whose store holds 250 events, a reject and an open alert, and a
    config file (a theme and a keymap of its own) validated once: (data dir, config)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    data, config = tmp_path / "data", tmp_path / "thirdbook.toml"
    store = await Store.open(data / "thirdbook.db")
    log = tmp_path / "serving.jsonl"
    log.write_bytes(b"".join(event_line(i) for i in range(250)) + b"not json\n")
    await ingest_once(store, source(log))
    at = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    firing = Firing(rule="drift rule", kind="drift", key="m v7", event_ids=(1,), at=at, summary="s")
    await store.alerts.record(firing)
    await store.close()
    config.write_text(CONFIG)
    Context.load(data, config)  # the last full load, remembered for the next quick read
    return data, config


def settled(app: ThirdbookApp) -> bool:
    """Every panel of the first screen painted from the services."""
    health = str(app.main_screen.query_one(HealthLine).render())
    return (
        app.console_service is not None
        and app.query_one(EventTable).row_count == PAGE_SIZE
        and app.query_one(AlertTable).row_count == 1
        and "events 250" in health
        and not any(panel.busy for panel in app.main_screen.query("Panel"))  # type: ignore[attr-defined]
    )


async def steady_screen(pilot: Any, app: ThirdbookApp, ceiling_s: float = 20.0) -> str:
    """The screen once two exports 0.3 s apart agree: a table measures its columns for new
    rows on a later refresh, which a busy machine may not have run yet."""
    shot, deadline = app.export_screenshot(), time.monotonic() + ceiling_s
    while True:
        await pilot.pause(0.3)
        again = app.export_screenshot()
        if again == shot or time.monotonic() > deadline:
            return again
        shot = again


async def test_the_first_page_read_as_rows_is_the_services_page(
    estate: tuple[Path, Path],
) -> None:
    data, config = estate
    svc = await open_services(Context.load(data, config), access="auto")
    try:
        for size in (PAGE_SIZE, 300):  # a page with more after it, and all of them
            quick = quick_console(data, config, demo=False, page_size=size)
            assert quick is not None
            page = await svc.queries.events(None, limit=size)
            rows = quick.first_page.items
            assert [stored_event(row) for row in rows] == page.items
            assert [shown_line(row) for row in rows] == [shown_line(e) for e in page.items]
            assert quick.first_page.next_key == page.next_key
        assert quick.first_page.next_key is None and len(rows) == 250
    finally:
        await svc.close()


async def test_its_first_frame_shows_the_rows_before_the_services_open(
    estate: tuple[Path, Path], tmp_path: Path
) -> None:
    data, config = estate
    themes = tmp_path / "themes"
    themes.mkdir()
    (themes / "ugly.toml").write_text('name = "ugly"\nprimary = "not-a-colour"\n')
    quick = quick_console(data, config, demo=False, page_size=PAGE_SIZE)
    assert quick is not None
    opened = asyncio.Event()

    async def open_console() -> Services:
        await opened.wait()  # held back until the test has seen the first frame
        return await open_services(Context.load(data, config), access="auto")

    look = Look(theme_dirs=[shipped_dir("themes"), themes])
    app = ThirdbookApp(open_console, ingest=False, first=quick.first_page, look=look)
    async with app.run_test(size=(200, 50)) as pilot:
        table = app.query_one(EventTable)
        for _ in range(1500):  # (not the pilot's pause: the app is busy opening its services)
            if table.row_count == PAGE_SIZE:
                break
            await asyncio.sleep(0.02)
        assert table.row_count == PAGE_SIZE and app.console_service is None
        assert "req-00000249" in table.get_row_at(0)[1].plain
        title = str(app.main_screen.query_one("#page-title").render())
        assert title == "Events — live, newest first  ] older"
        assert any("ugly.toml" in n.message for n in app.said)  # said in the first frame too
        banner = app.main_screen.query_one("#incident")
        # Not "No active incident" before the store has said so: there may well be one.
        assert "No active incident" not in str(banner.render())
        assert "Reading the store" in str(banner.render())
        before = app.main_screen.selected_event()  # its model, built as the row is opened
        opened.set()
        await wait_until(pilot, lambda: settled(app), "the services' panels")
        await wait_until(
            pilot, lambda: "No active incident" in str(banner.render()), "the banner, read"
        )
        assert before is not None and before == app.main_screen.selected_event()
        assert before.request_id == "req-00000249" and before.raw == event_line(249).rstrip()


async def test_once_open_it_shows_what_the_usual_start_shows(estate: tuple[Path, Path]) -> None:
    data, config = estate
    quick = quick_console(data, config, demo=False, page_size=PAGE_SIZE)
    assert quick is not None
    screens = []
    for app in (
        quick_console_app(quick, lambda: Context.load(data, config), read_only=True),
        console_app(Context.load(data, config), read_only=True),
    ):
        async with app.run_test(size=(200, 50)) as pilot:
            await wait_until(pilot, lambda app=app: settled(app), "the console settled")
            screens.append(await steady_screen(pilot, app))
            assert app.theme == "thirdbook-light" and app.look.keymap == {"declare": "D"}
    assert screens[0] == screens[1]


async def test_the_usual_start_wherever_a_quick_read_cannot_be_made(
    estate: tuple[Path, Path], tmp_path: Path
) -> None:
    data, config = estate
    assert quick_console(data, config, demo=True, page_size=PAGE_SIZE) is None
    assert quick_console(tmp_path / "empty", config, demo=False, page_size=PAGE_SIZE) is None
    config.write_text(CONFIG + "\n")  # changed: not yet validated as it is
    assert quick_console(data, config, demo=False, page_size=PAGE_SIZE) is None
    Context.load(data, config)
    assert quick_console(data, config, demo=False, page_size=PAGE_SIZE) is not None
    old = tmp_path / "old" / "thirdbook.db"  # a store with a migration to run
    old.parent.mkdir()
    conn = sqlite3.connect(old, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.executescript(MIGRATIONS[0])
    conn.execute("PRAGMA user_version = 1")
    conn.close()
    assert quick_console(old.parent, config, demo=False, page_size=PAGE_SIZE) is None


FIRST_FRAME = """
import asyncio, os, sys
from pathlib import Path
import thirdbook.cli.console
from thirdbook.services.quick_console import quick_console
from thirdbook.tui.app import PAGE_SIZE, Look, ThirdbookApp
from thirdbook.tui.widgets.event_table import EventTable

async def main() -> None:
    quick = quick_console(Path(sys.argv[1]), Path(sys.argv[2]), demo=False, page_size=PAGE_SIZE)
    async def open_console():
        await asyncio.Event().wait()  # never: only the first frame is looked at
    look = Look.from_config(quick.settings.console, quick.config_path)
    app = ThirdbookApp(open_console, ingest=False, first=quick.first_page, look=look)
    async with app.run_test(size=(200, 50)):
        while app.query_one(EventTable).row_count != PAGE_SIZE:
            await asyncio.sleep(0.02)
        print(app.theme, sorted(m for m in sys.modules if m.startswith("pydantic")), flush=True)
        os._exit(0)

asyncio.run(main())
"""


def test_its_first_frame_imports_no_pydantic(estate: tuple[Path, Path], tmp_path: Path) -> None:
    data, config = estate
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    ran = subprocess.run(
        [sys.executable, "-c", FIRST_FRAME, str(data), str(config)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split("\n")[-2] == "thirdbook-light []"


def test_a_remembered_keymap_naming_no_binding_is_refused_as_before(
    estate: tuple[Path, Path],
) -> None:
    data, config = estate
    config.write_text('[console.keymap]\ndeclar = "D"\n')
    Context.load(data, config)  # valid settings: only the console knows its bindings
    assert quick_console(data, config, demo=False, page_size=PAGE_SIZE) is not None
    result = CliRunner().invoke(
        main, ["--config", str(config), "--data-dir", str(data), "console", "--read-only"]
    )
    assert result.exit_code != 0
    assert "console.keymap: no binding has the id(s) declar" in result.output
