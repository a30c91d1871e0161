"""Events one page at a time, newest first, with the raw line of the selected one.

Keyset-paged from the store: the widget never holds more than one page of rows. Used by the
main screen (live) and the event explorer (with a filter).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from thirdbook.services.quick_console import EventRow, stored_event
from thirdbook.tui.safe_text import safe, safe_bytes
from thirdbook.tui.widgets.event_table import EventTable
from thirdbook.tui.widgets.one_line import show_line

if TYPE_CHECKING:
    from collections.abc import Sequence

    from thirdbook.domain.records import EventFilter, StoredEvent
    from thirdbook.services.factory import Services
    from thirdbook.services.quick_console import FirstPage

PAGE_SIZE = 100


class EventBrowser(Vertical):
    """A page title, the event table and the (toggled) detail of the selected row."""

    DEFAULT_CSS = """
    EventBrowser { height: 1fr; }
    EventBrowser > .title { height: 1; padding: 0 1; background: $boost; }
    EventBrowser > EventTable { height: 1fr; }
    EventBrowser > #detail { height: auto; max-height: 6; padding: 0 1;
                             border-top: solid $primary; }
    EventBrowser > #detail.hidden { display: none; }
    """

    def __init__(
        self, *, id: str | None = None, label: str = "Events", first: FirstPage | None = None
    ) -> None:
        """`first`: the newest page, read before the services are open (the console's first
        frame shows it); the first `show_page` reads it again from the services."""
        super().__init__(id=id)
        self.label = label
        self.where: EventFilter | None = None
        self._pages: list[int | None] = [None]  # the keyset cursor of each page shown
        self._next_key: int | None = None
        self._events: dict[int, StoredEvent | EventRow] = {}
        self._first = first
        self.revealed: int | None = None  # the event whose secrets the commander chose to see

    def compose(self) -> ComposeResult:
        yield Static(classes="title", id="page-title")
        yield EventTable(id="events")
        yield Static(id="detail", classes="hidden")

    def on_mount(self) -> None:
        if self._first is not None:
            first, self._first = self._first, None
            self._show(first.items, first.next_key)

    @property
    def live_page(self) -> bool:
        """Whether the newest page is showing (the only one new events change)."""
        return len(self._pages) == 1

    @property
    def table(self) -> EventTable:
        """The event table."""
        return self.query_one(EventTable)

    async def show_page(self, svc: Services) -> None:
        """Fetch the current page from the store and show it (unless the user turned the page
        or changed the filter while it was on its way: a stale page is never shown)."""
        asked = (len(self._pages), self._pages[-1], self.where)
        page = await svc.queries.events(self.where, before_id=self._pages[-1], limit=PAGE_SIZE)
        if asked != (len(self._pages), self._pages[-1], self.where):
            return
        self._show(page.items, page.next_key)

    def _show(self, items: Sequence[StoredEvent | EventRow], next_key: int | None) -> None:
        self._events = {e.id: e for e in items}
        self.table.show_page(items)
        number = len(self._pages)
        live = "newest first" if number == 1 else f"page {number}, older events"
        if number == 1 and self.where is None:
            live = "live, newest first"
        more = "" if next_key is None else "  ] older"
        empty = "  (none match)" if not items else ""
        title = Text(f"{self.label} — {live}{more}{empty}")
        show_line(self.query_one("#page-title", Static), title)
        if number == 1 or next_key is not None:
            self._next_key = next_key
        self.update_detail()

    async def older(self, svc: Services) -> None:
        """One page back in time."""
        if self._next_key is not None:
            self._pages.append(self._next_key)
            await self.show_page(svc)

    async def newer(self, svc: Services) -> None:
        """One page forward in time."""
        if len(self._pages) > 1:
            self._pages.pop()
            await self.show_page(svc)

    async def live(self, svc: Services, where: EventFilter | None = None) -> None:
        """Back to the newest events (of a new filter, when given)."""
        if where is not None:
            self.where = where
        self._pages = [None]
        await self.show_page(svc)
        self.table.move_cursor(row=0)

    @property
    def detail_shown(self) -> bool:
        """Whether the raw-line detail is showing."""
        return not self.query_one("#detail").has_class("hidden")

    def toggle_detail(self) -> None:
        """Show or hide the detail line."""
        self.query_one("#detail").toggle_class("hidden")
        self.update_detail()

    def selected_event(self) -> StoredEvent | None:
        """The event under the cursor."""
        event_id = self.table.selected_id()
        event = None if event_id is None else self._events.get(event_id)
        if isinstance(event, EventRow):  # read before the services were open
            event = self._events[event.id] = stored_event(event)
        return event

    def update_detail(self) -> None:
        """The raw line of the selected event, verbatim but inert."""
        detail = self.query_one("#detail", Static)
        if detail.has_class("hidden"):
            return
        event = self.selected_event()
        if event is None:
            detail.update("")
            return
        if event.id != self.revealed:
            self.revealed = None  # moving off a revealed line masks it again
        revealed = event.id == self.revealed
        text = Text()
        if revealed:
            text.append("SECRETS SHOWN (audited) ", style="bold reverse")
        text.append_text(safe(f"{event.path}@{event.byte_offset}", 120, style="dim"))
        text.append("\n")
        text.append_text(safe_bytes(event.raw, 4000, reveal=revealed))
        detail.update(text)

    def reveal(self, event_id: int | None) -> None:
        """Show this event's secrets in the detail (after the audited reveal), or none."""
        self.revealed = event_id
        if event_id is not None and not self.detail_shown:
            self.query_one("#detail").remove_class("hidden")
        self.update_detail()
