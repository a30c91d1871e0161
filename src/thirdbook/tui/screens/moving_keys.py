"""The moving keys of the main screen (`j`/`k`, `]`/`[`, PgDn/PgUp): they act on the panel
showing, or, where every panel shows, on the one holding the focus."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import DataTable, OptionList

from thirdbook.tui.panels.incident import IncidentRegion
from thirdbook.tui.panels.live import LivePanel
from thirdbook.tui.panels.panel import Panel
from thirdbook.tui.widgets.event_table import EventTable
from thirdbook.tui.widgets.runbook_document import RunbookDocument

if TYPE_CHECKING:
    from thirdbook.services.factory import Services


class MovingKeys:
    """Cursor and page moves for one main screen."""

    def __init__(
        self,
        screen: Screen[None],
        live: LivePanel,
        region: IncidentRegion,
        current: Callable[[], Panel],
        service: Callable[[], Services | None],
    ) -> None:
        self.screen, self.live, self.region = screen, live, region
        self._current, self._service = current, service

    def showing(self) -> Panel:
        """The panel the moving keys act on: the one showing (narrow), or the one holding
        the focus (wide, where all show)."""
        if self.screen.has_class("-wide") and self.screen.has_class("-tall"):
            node = self.screen.focused
            while node is not None and not isinstance(node, Panel):
                node = node.parent if isinstance(node.parent, Widget) else None
            if isinstance(node, Panel):
                return node
        return self._current()

    def _list(self) -> Widget | None:
        focused = self.screen.focused
        if isinstance(focused, DataTable | OptionList | EventTable):
            return focused
        return self.live.browser.table if self.showing() is self.live else None

    def _reading(self) -> RunbookDocument | None:
        focused = self.screen.focused
        return focused if isinstance(focused, RunbookDocument) else None

    def cursor(self, *, down: bool) -> None:
        """Down or up in the focused list (or the runbook document or the Incident panel
        scrolls)."""
        target = self._list()
        if target is None:
            content = self._reading() or self.region.content
            content.scroll_down() if down else content.scroll_up()
        else:
            getattr(target, "action_cursor_down" if down else "action_cursor_up")()

    async def page(self, *, down: bool) -> None:
        """A page: older or newer events on Live, else the panel showing pages."""
        panel, svc, reading = self.showing(), self._service(), self._reading()
        if reading is not None:
            reading.scroll_page_down() if down else reading.scroll_page_up()
        elif panel is self.live:
            if svc is not None:
                browser = self.live.browser
                await (browser.older(svc) if down else browser.newer(svc))
        elif panel is self.region:
            content = self.region.content
            content.scroll_page_down() if down else content.scroll_page_up()
        else:
            target = self._list()
            if target is not None:
                getattr(target, "action_page_down" if down else "action_page_up")()
