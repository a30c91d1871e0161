"""What the console's first frame leaves for later, and that it is all there when asked for:
the footer shows the keys this console can act with now, following the store (the incident
closed by another responder takes its actions away), rebuilt only when those keys change; the
screens and dialogs imported after the first page are each importable, and imported once it
shows, and a key opens its screen at once all the same."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from tests.test_console_flows import incident_console, screen_text, service, wait_until
from thirdbook.tui.app import ThirdbookApp
from thirdbook.tui.warm_imports import LATER
from thirdbook.tui.widgets.keys_footer import KeysFooter


def footer_text(app: ThirdbookApp) -> str:
    """What the footer's keys say, in order."""
    footer = app.main_screen.query_one(KeysFooter)
    return " | ".join(str(key.render()) for key in footer.children)


async def test_the_footer_follows_what_the_console_can_do(tmp_path: Path) -> None:
    async with incident_console(tmp_path, size=(200, 50)) as (app, pilot):
        await wait_until(pilot, lambda: "Kill switch" in footer_text(app), "the kill switch key")
        shown = footer_text(app)
        assert "Declare" in shown and "Roll back" in shown
        keys_before = list(app.main_screen.query_one(KeysFooter).children)
        app.main_screen.refresh_bindings()  # the same keys: nothing is rebuilt
        app.main_screen.refresh_bindings()
        await pilot.pause(0.2)
        assert list(app.main_screen.query_one(KeysFooter).children) == keys_before

        svc = await service(app)
        await svc.triage.set_phase(1, "closed")  # as another responder's console would
        app.main_screen.show_incident(1)  # chosen in the incident list (I), closed as it is
        await wait_until(pilot, lambda: "· closed ·" in screen_text(app, "#incident"), "closed")
        await wait_until(
            pilot, lambda: "Kill switch" not in footer_text(app), "the kill switch key gone"
        )
        assert "Roll back" not in footer_text(app) and "Declare" in footer_text(app)


async def test_a_read_only_footer_offers_no_action(tmp_path: Path) -> None:
    async with incident_console(tmp_path, read_only=True, size=(200, 50)) as (app, pilot):
        await wait_until(pilot, lambda: footer_text(app), "the footer's keys")
        shown = footer_text(app)
        assert not any(word in shown for word in ("Declare", "Kill switch", "Snapshot"))


@pytest.mark.parametrize("module", LATER)
def test_each_module_left_for_later_imports(module: str) -> None:
    assert importlib.import_module(module).__name__ == module


async def test_after_the_first_page_the_rest_is_imported_and_keys_open_at_once(
    tmp_path: Path,
) -> None:
    async with incident_console(tmp_path, size=(200, 50)) as (app, pilot):
        await pilot.press("question_mark")  # before the warm-up is done (or not): it opens
        await wait_until(pilot, lambda: type(app.screen).__name__ == "HelpScreen", "help")
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.warm_imports.done, "the rest imported")
        await pilot.press("slash")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "ExplorerScreen", "explorer")
