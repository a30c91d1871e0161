"""The incident list: every incident, newest first, keyset-paged; enter makes one active."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from thirdbook.domain.incidents import Incident, elapsed_clock
from thirdbook.services.factory import Services
from thirdbook.tui import keys
from thirdbook.tui.clock_text import local
from thirdbook.tui.safe_text import safe
from thirdbook.tui.widgets.newest_first_table import NewestFirstTable

PAGE_SIZE = 50


def incident_cells(incident: Incident) -> tuple[Text, ...]:
    """One incident's row."""
    return (
        Text(str(incident.id), style="dim"),
        Text(incident.severity, style="bold" if incident.severity in {"SEV1", "SEV2"} else ""),
        Text(incident.phase, style="dim" if incident.phase == "closed" else ""),
        Text(f"{local(incident.declared_at):%Y-%m-%d %H:%M}"),
        Text(elapsed_clock(incident, datetime.now(UTC))),
        safe(incident.commander, 20),
        Text(str(len(incident.alert_ids))),
        safe(incident.title, 200),
    )


class IncidentTable(NewestFirstTable):
    """One page of incidents."""

    COLUMNS = ("id", "sev", "phase", "declared", "age", "commander", "alerts", "title")


class IncidentListScreen(Screen[int | None]):
    """Returns the chosen incident's id (enter), or None (esc)."""

    BINDINGS: ClassVar[list[BindingType]] = [*keys.INCIDENT_LIST]

    def __init__(self, service: Services) -> None:
        super().__init__()
        self.service = service
        self._pages: list[int | None] = [None]
        self._next: int | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="incidents-title", classes="title")
        yield IncidentTable(id="incident-list")
        yield Footer()

    async def on_mount(self) -> None:
        await self.show_page()
        self.query_one(IncidentTable).focus()

    async def show_page(self) -> None:
        """The current page of incidents."""
        items = await self.service.triage.incidents(limit=PAGE_SIZE + 1, before_id=self._pages[-1])
        more = len(items) > PAGE_SIZE
        items = items[:PAGE_SIZE]
        self._next = items[-1].id if more and items else None
        self.query_one(IncidentTable).show_rows({i.id: incident_cells(i) for i in items})
        page = len(self._pages)
        title = f"Incidents — page {page}{'  ] older' if more else ''} — enter: make active"
        self.query_one("#incidents-title", Static).update(
            Text(title if items else "Incidents — none declared yet")
        )

    def action_choose(self) -> None:
        """Make the highlighted incident the active one on the main screen."""
        self.dismiss(self.query_one(IncidentTable).selected_id())

    @on(DataTable.RowSelected)
    def _selected(self) -> None:
        self.action_choose()

    def action_cursor_down(self) -> None:
        """Down."""
        self.query_one(IncidentTable).action_cursor_down()

    def action_cursor_up(self) -> None:
        """Up."""
        self.query_one(IncidentTable).action_cursor_up()

    async def action_older(self) -> None:
        """Older incidents."""
        if self._next is not None:
            self._pages.append(self._next)
            await self.show_page()

    async def action_newer(self) -> None:
        """Newer incidents."""
        if len(self._pages) > 1:
            self._pages.pop()
            await self.show_page()

    async def action_live(self) -> None:
        """The newest incidents."""
        self._pages = [None]
        await self.show_page()
