"""The runbook as a rendered document (`m` on the main screen): Markdown rendered, not shown
raw; the steps' boxes as the incident has them; the checklist as it was; and a hostile file
shown inert (markup and escapes literal, HTML as text, links opening nothing)."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Markdown
from textual.widgets.markdown import MarkdownBlock

from tests.test_console_flows import incident_console, make_app, screen_text, seed, wait_until
from thirdbook.config import ConsoleConfig, Settings
from thirdbook.domain.runbook_document import document
from thirdbook.domain.runbooks import parse_runbook
from thirdbook.tui.app import ThirdbookApp
from thirdbook.tui.widgets.alert_table import AlertTable
from thirdbook.tui.widgets.runbook_document import RunbookDocument
from thirdbook.tui.widgets.runbook_list import RunbookList


def blocks(app: ThirdbookApp, kind: str = "MarkdownBlock") -> list[str]:
    """The text of each rendered block of this kind (a widget type's name, as Textual's own
    module names them) in the runbook document."""
    doc = app.main_screen.query_one(RunbookDocument)
    return [str(block.render()) for block in doc.query(kind)]


async def test_m_shows_the_runbook_rendered_and_m_again_the_checklist(tmp_path: Path) -> None:
    async with incident_console(tmp_path) as (app, pilot):
        await pilot.press("m")  # from the Live panel: straight to the document
        doc = app.main_screen.query_one(RunbookDocument)
        await wait_until(pilot, lambda: blocks(app, "MarkdownH2"), "the document rendered")
        assert app.main_screen.focused is doc and doc.display
        assert not app.main_screen.query_one(RunbookList).display
        assert blocks(app, "MarkdownH1") == ["Model drift: a metric outside its band"]
        assert blocks(app, "MarkdownH2") == ["Triage", "Contain", "Investigate", "Learn"]
        assert not any(text.lstrip().startswith("#") for text in blocks(app))
        # Inline Markdown is rendered: `v` loses its backticks, *observed* its stars.
        prose = " ".join(blocks(app, "MarkdownParagraph"))
        assert "Set severity (v)" in prose and "says observed" in prose
        assert "{action:" not in prose  # the marker is not part of a step, as in the list

        await pilot.press("m")  # back to the checklist, which behaves as it always did
        runbook = app.main_screen.query_one(RunbookList)
        await wait_until(pilot, lambda: runbook.display and not doc.display, "the checklist")
        assert app.main_screen.focused is runbook
        await pilot.press("j", "space")
        await wait_until(pilot, lambda: "1/15 done" in screen_text(app, "#runbook-title"), "1")
        await pilot.press("m")  # the document shows the check the checklist made
        await wait_until(pilot, lambda: "[x] " in " ".join(blocks(app)), "the box checked")
        assert sum("[x] " in text for text in blocks(app, "MarkdownParagraph")) == 1
        await pilot.press("3")  # the runbook panel's key brings the checklist back
        await wait_until(pilot, lambda: runbook.display and not doc.display, "the checklist")
        await pilot.press("space")  # and space still toggles the step
        await wait_until(pilot, lambda: "0/15 done" in screen_text(app, "#runbook-title"), "0")


async def test_jk_scroll_the_document_and_space_goes_back_to_the_steps(tmp_path: Path) -> None:
    async with incident_console(tmp_path) as (app, pilot):
        await pilot.press("m")
        doc = app.main_screen.query_one(RunbookDocument)
        await wait_until(pilot, lambda: doc.max_scroll_y > 0, "a document taller than 80x24")
        await pilot.press("j", "j", "j")
        await wait_until(pilot, lambda: doc.scroll_y > 0, "scrolled down")
        await pilot.press("space")
        runbook = app.main_screen.query_one(RunbookList)
        await wait_until(pilot, lambda: runbook.display and not doc.display, "the checklist")
        assert app.main_screen.focused is runbook


HOSTILE = (
    "---\ntitle: Hostile\ntriggers: [drift]\n---\n"
    "# Heading [bold]x[/bold]\n\n"
    "Prose [bold]x[/bold] then ESC \x1b[2J\x1b]0;owned\x07 here, <b>html</b>, and a "
    "[link](https://example.com/x).\n\n"
    "- [ ] Snapshot [bold]x[/bold] first. {action: snapshot}\n"
)


@pytest.mark.parametrize("no_color", [False, True])
async def test_a_hostile_runbook_is_shown_inert(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_color: bool
) -> None:
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    own = tmp_path / "own"
    own.mkdir()
    (own / "drift.md").write_text(HOSTILE, encoding="utf-8")  # replaces the shipped one
    path = tmp_path / "s.db"
    await seed(path, ["drift"], declare=True)
    app = make_app(path, settings=Settings(console=ConsoleConfig(runbooks_dir=own)))
    opened: list[str] = []
    monkeypatch.setattr(app, "open_url", lambda url, **_: opened.append(url))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.query_one(AlertTable).row_count, "alerts shown")
        await wait_until(pilot, lambda: "Hostile" in screen_text(app, "#runbook-title"), "book")
        await pilot.press("m")
        await wait_until(pilot, lambda: blocks(app, "MarkdownParagraph"), "the document rendered")
        assert blocks(app, "MarkdownH1") == ["Heading [bold]x[/bold]"]
        prose, step = blocks(app, "MarkdownParagraph")
        assert prose.startswith("Prose [bold]x[/bold] then ESC \\e[2J\\e]0;owned\\x07 here")
        assert "<b>html</b>" in prose  # shown as written, neither rendered nor dropped
        assert step == "[ ] Snapshot [bold]x[/bold] first."
        assert not any(c in text for text in blocks(app) for c in "\x1b\x07")

        # Choosing the link opens nothing; the message says where it points.
        [paragraph] = [
            b
            for b in app.main_screen.query("MarkdownParagraph").results(MarkdownBlock)
            if "link" in (b.source or "")
        ]
        await paragraph.action_link("https://example.com/x")
        await wait_until(pilot, lambda: any("Link not opened" in n.message for n in app.said), "")
        assert opened == []
        assert any("https://example.com/x" in n.message for n in app.said)
        assert app.main_screen.query_one(Markdown) is not None


def test_the_document_carries_the_incidents_checks_not_the_files() -> None:
    text = (
        "---\ntriggers: [drift]\n---\n# T\n"
        "- [x] Snapshot first. {action: snapshot}\n"
        "  * [ ] Read the chart.\n"
        "```\n- not a step\n```\n"
    )
    book = parse_runbook(text, "t")
    first, second = (s.step_key or "" for s in book.steps)
    assert document(book, set()).splitlines()[1:3] == [
        "- [ ] Snapshot first.",
        "  * [ ] Read the chart.",
    ]
    assert document(book, {second}).splitlines()[2] == "  * [x] Read the chart."
    assert document(book, {first}).endswith("```\n- not a step\n```")
