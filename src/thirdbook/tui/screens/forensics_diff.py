"""One link of an incident's chain diff, as a person reads it: its row in the Forensics
screen, and its diff on a screen of its own (unified for text, a set diff for documents, a
field diff for shapes, a table for the decision mix), scrollable from the keyboard."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from thirdbook.domain.baselines import Link, link_diff
from thirdbook.tui import keys
from thirdbook.tui.clock_text import local
from thirdbook.tui.safe_text import safe

STATUS_STYLE = {"unchanged": "dim", "changed": "bold", "new": "bold", "gone": "bold"}
HOW = {
    "template": "unified diff of the system text",
    "documents": "set diff of the retrieved documents",
    "tool_shape": "field diff of the output shape",
    "decision_mix": "the decision mix",
}
_LINE_STYLE = {"+": "green", "-": "red", "~": "yellow", "@": "dim"}


def first_seen(link: Link) -> str:
    """When the link's change first appears in the logs (local time), or a dash."""
    if link.first_seen is None:
        return "-"
    return f"{local(link.first_seen):%Y-%m-%d %H:%M:%S}"


def link_cells(link: Link) -> tuple[Text, ...]:
    """One link's row: status, link, first seen, first request."""
    return (
        Text(link.status, style=STATUS_STYLE[link.status]),
        safe(link.label, 60),
        Text(first_seen(link)),
        safe(link.first_request or "", 40, style="dim"),
    )


def diff_text(link: Link) -> Text:
    """The link's diff, each line sanitised (log text is untrusted), additions and removals
    coloured."""
    lines = link_diff(link)
    if not lines:
        return Text("No difference: the same as the baseline.")
    shown = [safe(line, 2000, style=_LINE_STYLE.get(line[:1], "")) for line in lines]
    text = Text("\n").join(shown)
    text.no_wrap, text.overflow = False, "fold"
    return text


class LinkDiffScreen(Screen[None]):
    """The diff of one link; esc goes back to the list."""

    BINDINGS: ClassVar[list[BindingType]] = [*keys.LINK_DIFF]
    CSS = """
    LinkDiffScreen #diff-title { height: auto; padding: 0 1; }
    LinkDiffScreen #diff-scroll { height: 1fr; padding: 0 1; }
    """

    def __init__(self, link: Link, against: str) -> None:
        super().__init__()
        self.link = link
        self.against = against

    def compose(self) -> ComposeResult:
        link = self.link
        how = HOW.get(link.kind, "before and after")
        seen = "" if link.first_seen is None else f", first seen {first_seen(link)}"
        request = "" if link.first_request is None else f" ({link.first_request})"
        title = Text(no_wrap=False, overflow="fold")
        title.append_text(safe(f"{link.label} — {link.status}{seen}{request}", None, "bold"))
        title.append("\n")
        title.append_text(safe(f"{how} against {self.against} — esc: back", None, style="dim"))
        yield Header()
        yield Static(title, id="diff-title")
        with VerticalScroll(id="diff-scroll"):
            yield Static(diff_text(link), id="diff")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#diff-scroll").focus()

    def _scroll(self) -> VerticalScroll:
        return self.query_one("#diff-scroll", VerticalScroll)

    def action_scroll_down(self) -> None:
        """One line down."""
        self._scroll().scroll_down()

    def action_scroll_up(self) -> None:
        """One line up."""
        self._scroll().scroll_up()

    def action_page_down(self) -> None:
        """One page down."""
        self._scroll().scroll_page_down()

    def action_page_up(self) -> None:
        """One page up."""
        self._scroll().scroll_page_up()
