"""The event explorer: a `key:value` filter over the store, one keyset page at a time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, Static

from thirdbook.domain.queries import parse_event_query
from thirdbook.services.factory import Services
from thirdbook.tui import keys
from thirdbook.tui.screens.explain import explain_selected
from thirdbook.tui.screens.reveal import reveal_selected
from thirdbook.tui.widgets.event_browser import EventBrowser
from thirdbook.tui.widgets.event_table import EventTable

HINT = (
    "Filter: kind:inference model:credit-scorer version:v7 request:ID subject:ID "
    "since:15m until:ISO — enter to apply, esc to go back"
)


class ExplorerScreen(Screen[None]):
    """Search stored events; esc goes back to the main screen."""

    BINDINGS: ClassVar[list[BindingType]] = [*keys.EXPLORER]
    CSS = """
    ExplorerScreen #query { margin: 0 1; }
    ExplorerScreen #query-error { height: auto; padding: 0 1; color: $error; }
    """

    def __init__(self, service: Services, query: str = "") -> None:
        super().__init__()
        self.service = service
        self.initial = query

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(value=self.initial, placeholder=HINT, id="query")
        yield Static("", id="query-error")
        yield EventBrowser(id="explorer", label="Explorer")
        yield Footer()

    async def on_mount(self) -> None:
        self.query_one("#query", Input).focus()
        await self._apply(self.initial)

    @property
    def browser(self) -> EventBrowser:
        """The paged events."""
        return self.query_one(EventBrowser)

    @on(Input.Submitted, "#query")
    async def _submitted(self, event: Input.Submitted) -> None:
        if await self._apply(event.value):
            self.browser.table.focus()

    async def _apply(self, text: str) -> bool:
        error = self.query_one("#query-error", Static)
        try:
            where = parse_event_query(text, datetime.now(UTC))
        except ValueError as exc:
            error.update(Text(f"Refused: {exc}"))
            return False
        error.update("")
        await self.browser.live(self.service, where)
        return True

    def action_focus_filter(self) -> None:
        """Back to the filter."""
        self.query_one("#query", Input).focus()

    def action_cursor_down(self) -> None:
        """Down in the table."""
        self.browser.table.action_cursor_down()

    def action_cursor_up(self) -> None:
        """Up in the table."""
        self.browser.table.action_cursor_up()

    async def action_older(self) -> None:
        """One page back in time."""
        await self.browser.older(self.service)

    async def action_newer(self) -> None:
        """One page forward in time."""
        await self.browser.newer(self.service)

    async def action_live(self) -> None:
        """The newest matching events."""
        await self.browser.live(self.service)

    @work(exclusive=True, group="reveal")
    async def action_reveal_secrets(self) -> None:
        """Show the masked secrets of the selected event's raw line (asks why; audited)."""
        await reveal_selected(self, self.browser, self.service, None)

    @work(exclusive=True, group="explain")
    async def action_explain(self) -> None:
        """Explain the selected event's decision."""
        await explain_selected(self, self.service, None, self.browser.selected_event())

    def action_toggle_detail(self) -> None:
        """Show or hide the raw line."""
        self.browser.toggle_detail()

    @on(EventTable.Highlighted)
    def _highlighted(self) -> None:
        self.browser.update_detail()

    @on(EventTable.Selected)
    def _selected(self) -> None:
        self.browser.toggle_detail()
