"""The Forensics screen from the keyboard: `f` opens the active incident's chain diff, a
changed link shows with its first-seen time, enter shows its diff, `a` keeps it as a finding
on the timeline (refused on a read-only console), and with no baseline yet the screen says so
and `b` takes one."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

from textual.pilot import Pilot

from tests.test_console_flows import make_app, screen_text, service, wait_until
from tests.test_forensics import T0, estate
from thirdbook.config import ContainmentConfig, Settings
from thirdbook.tui.app import ThirdbookApp
from thirdbook.tui.clock_text import local
from thirdbook.tui.screens.forensics import ForensicsScreen

DOCS = "documents credit-decision@3"


@contextlib.asynccontextmanager
async def forensics_console(
    tmp_path: Path, *, baseline: bool = True, read_only: bool = False
) -> AsyncIterator[tuple[ThirdbookApp, Pilot[None]]]:
    """The estate of tests/test_forensics.py (v7's retrieval returns an outdated policy from
    its 10th decision), v6 baselined unless not, in a console on the main screen."""
    services, _, registry = await estate(tmp_path)
    if baseline:
        await services.forensics.baseline("credit-scorer", "v6")
    await services.store.close()
    paths = ContainmentConfig(
        registry=registry, flag_file=tmp_path / "flags.json", window_before_s=50
    )
    app = make_app(
        tmp_path / "data" / "thirdbook.db",
        read_only=read_only,
        settings=Settings(containment=paths),
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: "INCIDENT #1" in screen_text(app, "#incident"), "banner")
        yield app, pilot


def title(app: ThirdbookApp) -> str:
    return str(app.screen.query_one("#forensics-title").render())


def rows(app: ThirdbookApp) -> dict[str, list[str]]:
    table = app.screen.query_one("#forensics-links")
    cells = [[str(c) for c in table.get_row_at(r)] for r in range(table.row_count)]  # type: ignore[attr-defined]
    return {row[1]: row for row in cells}


async def open_forensics(app: ThirdbookApp, pilot: Pilot[None]) -> ForensicsScreen:
    await pilot.press("f")
    await wait_until(pilot, lambda: isinstance(app.screen, ForensicsScreen), "forensics screen")
    screen = app.screen
    assert isinstance(screen, ForensicsScreen)
    await wait_until(pilot, lambda: "reading its chain" not in title(app), "the chain read")
    return screen


async def test_f_opens_the_chain_diff_and_enter_shows_a_changed_links_diff(
    tmp_path: Path,
) -> None:
    async with forensics_console(tmp_path) as (app, pilot):
        screen = await open_forensics(app, pilot)
        assert screen.incident_id == 1
        assert "credit-scorer v7 against baseline #1 (v6" in title(app)
        shown = rows(app)
        seen = f"{local(T0 + timedelta(seconds=110)):%Y-%m-%d %H:%M:%S}"
        assert shown[DOCS][0] == "changed" and shown[DOCS][2] == seen
        assert shown[DOCS][3] == "req-v7-0110"
        assert shown["template credit-decision@3"][0] == "unchanged"
        assert {"decision_mix", "flag_file", "registry_alias", "weights"} <= set(shown)
        # Changed links come first: move down to the documents' row, then enter.
        for _ in range(list(shown).index(DOCS)):
            await pilot.press("j")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.screen.query("#diff"), "the diff screen")
        diff = str(app.screen.query_one("#diff").render())
        assert "+ policy-cr7 sha256:policy-2019" in diff
        assert "set diff" in str(app.screen.query_one("#diff-title").render())
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen, "back to the list")
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is app.main_screen, "back to the main screen")


async def test_a_keeps_the_selected_link_as_a_finding_on_the_timeline(tmp_path: Path) -> None:
    async with forensics_console(tmp_path) as (app, pilot):
        await open_forensics(app, pilot)
        for _ in range(list(rows(app)).index(DOCS)):
            await pilot.press("j")
        await pilot.press("a")
        svc = await service(app)

        async def findings() -> list[str]:
            return [e.detail for e in await svc.triage.timeline(1) if e.kind == "finding"]

        kept: list[str] = []
        for _ in range(1500):
            await pilot.pause(0.02)
            kept = await findings()
            if kept:
                break
        assert len(kept) == 1 and f"{DOCS} changed against baseline #1" in kept[0]
        assert any("Kept as a finding" in n.message for n in app.said)
        # An unchanged link (changed ones come first: the last is unchanged) is no finding.
        assert list(rows(app).values())[-1][0] == "unchanged"
        table = app.screen.query_one("#forensics-links")
        table.move_cursor(row=table.row_count - 1)  # type: ignore[attr-defined]
        await pilot.press("a")
        await wait_until(pilot, lambda: any("is unchanged" in n.message for n in app.said), "no")
        assert len(await findings()) == 1


async def test_a_read_only_console_refuses_to_keep_a_finding(tmp_path: Path) -> None:
    async with forensics_console(tmp_path, read_only=True) as (app, pilot):
        await open_forensics(app, pilot)
        assert rows(app)[DOCS][0] == "changed"
        await pilot.press("a")
        await wait_until(pilot, lambda: any("read-only" in n.message for n in app.said), "refused")
        svc = await service(app)
        assert not [e for e in await svc.triage.timeline(1) if e.kind == "finding"]


async def test_a_closed_incident_refuses_to_keep_a_finding(tmp_path: Path) -> None:
    async with forensics_console(tmp_path) as (app, pilot):
        await open_forensics(app, pilot)
        svc = await service(app)
        await svc.triage.set_phase(1, "closed")
        await pilot.press("a")
        await wait_until(pilot, lambda: any("#1 is closed" in n.message for n in app.said), "no")
        assert not [e for e in await svc.triage.timeline(1) if e.kind == "finding"]


async def test_no_baseline_yet_is_said_and_b_takes_one_of_the_known_good_version(
    tmp_path: Path,
) -> None:
    async with forensics_console(tmp_path, baseline=False) as (app, pilot):
        await open_forensics(app, pilot)
        said = title(app).replace("\n", " ")
        assert "credit-scorer has no baseline yet" in said
        assert "thirdbook baseline credit-scorer VERSION" in said and "press b" in said
        assert rows(app) == {}
        await pilot.press("b")
        await wait_until(pilot, lambda: "against baseline #1 (v6" in title(app), "baselined")
        assert rows(app)[DOCS][0] == "changed"


async def test_no_baseline_on_a_read_only_console_offers_no_key(tmp_path: Path) -> None:
    async with forensics_console(tmp_path, baseline=False, read_only=True) as (app, pilot):
        await open_forensics(app, pilot)
        said = title(app).replace("\n", " ")
        assert "has no baseline yet" in said and "press b" not in said


async def test_the_palette_offers_forensics_on_the_main_screen_and_its_keys_there(
    tmp_path: Path,
) -> None:
    async with forensics_console(tmp_path) as (app, pilot):
        titles = [c.title for c in app.get_system_commands(app.main_screen)]
        assert "Forensics (f)" in titles
        screen = await open_forensics(app, pilot)
        titles = [c.title for c in app.get_system_commands(screen)]
        assert "Add as finding (a)" in titles and "Diff (enter)" in titles
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.screen.query("#diff"), "the diff screen")
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert any(t.startswith("Page down (") for t in titles) and "Back (escape)" in titles
