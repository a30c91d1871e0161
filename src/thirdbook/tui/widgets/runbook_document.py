"""The incident's runbook rendered as a document (headings, emphasis, code, lists), to read
beside the checklist: inert, like every file the console shows.

Runbook files are edited by people but they are still files: the text is made safe first
(`safe_markdown`: control characters visible, no escape sequence through), the widget never
reads Rich markup, raw HTML is shown as text rather than dropped, and a link opens nothing:
choosing one says where it points, for the commander to open deliberately.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.containers import VerticalScroll

from thirdbook.tui.safe_text import safe_markdown

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from textual.widget import AwaitMount
    from textual.widgets import Markdown

EMPTY = "*No runbook: declare an incident to follow one.*"


def _parser() -> MarkdownIt:
    from markdown_it import MarkdownIt

    # Raw HTML in a runbook is shown as written, never interpreted (nor silently dropped).
    return MarkdownIt("gfm-like", {"html": False})


class RunbookDocument(VerticalScroll):
    """A scrolling, focusable view of one runbook's Markdown. Its Markdown widget (and the
    Markdown parser) are made when it first shows, so a console that never opens the
    document pays nothing for it, its first frame least of all."""

    DEFAULT_CSS = """
    RunbookDocument { height: 1fr; display: none; }
    RunbookDocument > Markdown { padding: 0 1; }
    RunbookDocument MarkdownHeader { margin: 1 0 0 0; }
    RunbookDocument MarkdownH1 { margin: 0; }
    RunbookDocument MarkdownBulletList, RunbookDocument MarkdownOrderedList { margin: 0; }
    /* Without colour, a key or a query in backticks still stands out from the prose. */
    RunbookDocument:ansi MarkdownBlock > .code_inline { text-style: bold; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.source: str | None = None
        """The Markdown drawn (after `safe_markdown`), None before the first draw."""
        self._wanted: str | None = None
        self._markdown: Markdown | None = None
        self._mounted: AwaitMount | None = None

    def show(self, markdown: str | None) -> None:
        """Keep this runbook Markdown (None: no runbook) and draw it if the document is
        showing; a hidden document draws when it next shows (`draw`), so the checklist pays
        nothing for it."""
        self._wanted = EMPTY if markdown is None else safe_markdown(markdown)
        if self.display:
            self.draw()

    def draw(self) -> None:
        """Draw the Markdown kept; the same text again is not redrawn, so the reader's place
        is kept while the store moves on."""
        if self._wanted is None or self._wanted == self.source:
            return
        self.source = self._wanted
        self.run_worker(self._draw(self.source), group="draw")

    async def _draw(self, source: str) -> None:
        from textual.widgets import Markdown

        if self._markdown is None:
            self._markdown = Markdown(parser_factory=_parser, open_links=False)
            self._mounted = self.mount(self._markdown)  # in the DOM now, ready once awaited
        if self._mounted is not None:
            await self._mounted
        await self._markdown.update(source)

    def on_markdown_link_clicked(self, event: Markdown.LinkClicked) -> None:
        """A link opens nothing: it says where it points."""
        event.stop()
        self.notify(f"Link not opened: {event.href}", title="Runbook", timeout=15)
