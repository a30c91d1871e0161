"""One page of events as lines, drawn with Textual's line API.

A page turn replaces every row at once. DataTable renders cell by cell and took ~50 ms to
draw a new page at 200 columns; this widget renders only the visible lines, each once into
a cached strip, so a page turn costs a few milliseconds. Each line is laid out in
fixed-width fields under a header; every field is sanitised and nothing is read as markup.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from thirdbook.domain.text import visible
from thirdbook.tui.clock_text import hms

if TYPE_CHECKING:
    from collections.abc import Sequence

    from thirdbook.domain.records import StoredEvent
    from thirdbook.services.quick_console import EventRow

FIELDS = (
    ("id", 7),
    ("time", 8),
    ("kind", 12),
    ("model", 22),
    ("route", 6),
    ("request", 24),
    ("subject", 24),
)
"""The fields of a line with their widths in cells (the last one is not cut)."""

HEADER = " ".join(name.ljust(width) for name, width in FIELDS).rstrip()
LINE_CELLS = sum(width + 1 for _, width in FIELDS[:-1]) + 61
"""The widest a line can be (the last field is cut at 60 cells): the page's fixed width, so
a new page never changes the widget's size (a size change redraws the whole screen)."""


def _field(value: str, width: int, last: bool) -> str:
    value = visible(value)
    if last:
        return value if cell_len(value) <= 60 else value[:59] + "…"
    return value.ljust(width) if len(value) <= width else value[: width - 1] + "…"


def event_line(event: StoredEvent | EventRow) -> str:
    """One event's fields as one line, every field made visible."""
    model = " ".join(p for p in (event.model_name, event.model_version) if p)
    values = (
        str(event.id),
        hms(event.ts),
        event.kind,
        model,
        event.route or "",
        event.request_id or "",
        event.subject or "",
    )
    last = len(FIELDS) - 1
    fields = [
        _field(v, w, n == last) for n, (v, (_, w)) in enumerate(zip(values, FIELDS, strict=True))
    ]
    return " ".join(fields).rstrip()


class EventTable(ScrollView, can_focus=True):
    """Newest first; never more than one page of rows. j/k and arrows move, enter selects."""

    DEFAULT_CSS = """
    EventTable { height: 1fr; padding: 0 1; }
    EventTable > .event-table--header { text-style: bold; background: $panel; }
    EventTable > .event-table--cursor { background: $block-cursor-blurred-background; }
    EventTable:focus > .event-table--cursor {
        background: $block-cursor-background; color: $block-cursor-foreground;
        text-style: $block-cursor-text-style;
    }
    EventTable > .event-table--even { background: $surface-lighten-1 20%; }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "event-table--header",
        "event-table--cursor",
        "event-table--even",
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down", "cursor_down", show=False),
        Binding("up", "cursor_up", show=False),
        Binding("home", "first", show=False),
        Binding("end", "last", show=False),
        Binding("enter", "select", show=False),
    ]

    cursor_row: reactive[int] = reactive(0, always_update=True)

    class Highlighted(Message):
        """The cursor moved to another event."""

    class Selected(Message):
        """Enter on an event."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._ids: list[int] = []
        self._lines: list[str] = []
        self._strips: dict[tuple[int, int, str], Strip] = {}

    @property
    def row_count(self) -> int:
        """How many events the page holds."""
        return len(self._ids)

    def show_page(self, events: Sequence[StoredEvent | EventRow]) -> None:
        """Make the rows exactly `events` (newest first); the cursor keeps its row number."""
        ids = [e.id for e in events]
        if ids == self._ids:
            return
        self._ids = ids
        self._lines = [event_line(e) for e in events]
        self._strips.clear()
        size = Size(LINE_CELLS, len(ids) + 1)
        if size != self.virtual_size:
            self.virtual_size = size
        self.cursor_row = min(self.cursor_row, max(0, len(ids) - 1))
        self.refresh()

    def selected_id(self) -> int | None:
        """The id of the event under the cursor, if any."""
        return self._ids[self.cursor_row] if self._ids else None

    def get_row_at(self, row: int) -> tuple[Text, Text]:
        """(id, line) of a row, as text."""
        return Text(str(self._ids[row])), Text(self._lines[row])

    def move_cursor(self, *, row: int) -> None:
        """Put the cursor on a row."""
        if self._ids:
            self.cursor_row = max(0, min(row, len(self._ids) - 1))

    def watch_cursor_row(self, old: int, new: int) -> None:
        self._strips.clear()
        self.refresh()
        top = int(self.scroll_y)
        visible_rows = max(1, self.size.height - 1)
        if new < top:
            self.scroll_to(y=new, animate=False)
        elif new >= top + visible_rows:
            self.scroll_to(y=new - visible_rows + 1, animate=False)
        if old != new or self._ids:
            self.post_message(self.Highlighted())

    def action_cursor_down(self) -> None:
        """Down one row."""
        self.move_cursor(row=self.cursor_row + 1)

    def action_cursor_up(self) -> None:
        """Up one row."""
        self.move_cursor(row=self.cursor_row - 1)

    def action_first(self) -> None:
        """The newest row."""
        self.move_cursor(row=0)

    def action_last(self) -> None:
        """The oldest row of the page."""
        self.move_cursor(row=len(self._ids) - 1)

    def action_select(self) -> None:
        """Enter: the raw line of this event."""
        if self._ids:
            self.post_message(self.Selected())

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        scroll_x = int(self.scroll_x)
        if y == 0:  # the header stays put while the rows scroll
            return self._strip(-1, HEADER, "event-table--header", width, scroll_x)
        row = y - 1 + int(self.scroll_y)
        if row >= len(self._lines):
            return Strip.blank(width, self.rich_style)
        if row == self.cursor_row:
            component = "event-table--cursor"
        else:
            component = "event-table--even" if row % 2 else ""
        return self._strip(row, self._lines[row], component, width, scroll_x)

    def _strip(self, row: int, line: str, component: str, width: int, scroll_x: int) -> Strip:
        key = (row, width + (scroll_x << 16), component)
        cached = self._strips.get(key)
        if cached is not None:
            return cached
        style: Style = self.rich_style
        if component:
            style = style + self.get_component_rich_style(component)
        strip = Strip([Segment(line, style)], cell_len(line))
        strip = strip.crop_extend(scroll_x, scroll_x + width, style)
        self._strips[key] = strip
        return strip
