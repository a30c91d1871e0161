"""The console app: live events, one page at a time, and the ingest health line."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from thirdbook.config import Settings, SourceConfig
from thirdbook.demo.runner import DemoServingLayer
from thirdbook.domain.alerts import Alert
from thirdbook.domain.records import StoredEvent
from thirdbook.services.console import Console
from thirdbook.store.incidents import TriageRefusedError
from thirdbook.tui.dialogs.triage import DeclareDialog, DismissDialog
from thirdbook.tui.safe_text import safe, safe_bytes
from thirdbook.tui.widgets.alert_table import AlertTable
from thirdbook.tui.widgets.event_table import EventTable
from thirdbook.tui.widgets.health_line import HealthLine

PAGE_SIZE = 100
ALERT_ROWS = 50
POLL_S = 0.25

ConsoleFactory = Callable[[], Awaitable[Console]]
T = TypeVar("T")


class ThirdbookApp(App[None]):
    """The thirdbook console."""

    TITLE = "thirdbook"
    CSS = """
    #page-title, #alerts-title { height: 1; padding: 0 1; background: $boost; }
    #incident { height: 1; padding: 0 1; background: $error 30%; text-style: bold; }
    #incident.quiet { background: $panel; text-style: none; }
    #actions { height: 1; padding: 0 1; }
    AlertTable { height: auto; max-height: 7; }
    EventTable { height: 1fr; }
    #detail { height: auto; max-height: 6; padding: 0 1; border-top: solid $primary; }
    #detail.hidden { display: none; }
    """
    BINDINGS = [
        Binding("q", "quit", "Quit", id="quit"),
        Binding("j", "cursor_down", "Down", show=False, id="down"),
        Binding("k", "cursor_up", "Up", show=False, id="up"),
        Binding("right_square_bracket,pagedown", "older", "Older", id="older"),
        Binding("left_square_bracket,pageup", "newer", "Newer", id="newer"),
        Binding("g", "live", "Live", id="live"),
        Binding("r", "toggle_detail", "Raw line", id="detail"),
        Binding("d", "declare", "Declare", id="declare"),
        Binding("x", "dismiss_alert", "Dismiss", id="dismiss"),
    ]

    def __init__(
        self,
        open_console: ConsoleFactory,
        *,
        ingest: bool = True,
        demo: DemoServingLayer | None = None,
        subtitle: str = "",
    ) -> None:
        super().__init__()
        self._open_console = open_console
        self._ingest_enabled = ingest
        self._demo = demo
        self.console_service: Console | None = None
        self.stop = asyncio.Event()
        self.sub_title = subtitle
        self._pages: list[int | None] = [None]  # the keyset cursor of each page shown
        self._data_version = -1
        self._events: dict[int, StoredEvent] = {}
        self._shut_down = False
        self._alerts: dict[int, Alert] = {}

    @property
    def main_screen(self) -> Screen[object]:
        """The console's own screen, also while a dialog is open over it (the poll and the
        table messages keep updating it then)."""
        return self.screen_stack[0]

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical():
            yield Static(Text("No active incident"), id="incident", classes="quiet")
            yield Static(id="actions")
            yield Static(Text("Live triggers"), id="alerts-title")
            yield AlertTable(id="alerts")
            yield Static(id="page-title")
            yield EventTable(id="events")
            yield Static(id="detail", classes="hidden")
        yield HealthLine(id="health")
        yield Footer()

    async def on_mount(self) -> None:
        self.console_service = await self._open_console()
        if self._demo is not None:
            self.run_demo()
        if self._ingest_enabled:
            self.run_ingest()
        await self.poll()

    async def action_quit(self) -> None:
        """Stop ingest and the demo, release the lease and close the store, then exit."""
        await self.shut_down_services()
        self.exit()

    async def on_unmount(self) -> None:
        await self.shut_down_services()

    async def shut_down_services(self) -> None:
        """In order: stop the workers, wait for them, then close the store they use."""
        if self._shut_down:
            return
        self._shut_down = True
        self.stop.set()
        for worker in list(self.workers):
            if worker.group in {"ingest", "demo"} and not worker.is_finished:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(worker.wait(), timeout=5)
        if self.console_service is not None:
            with contextlib.suppress(Exception):
                await self.console_service.close()

    @work(exclusive=True, group="ingest")
    async def run_ingest(self) -> None:
        """Ingest while this console holds the lease (otherwise only read)."""
        assert self.console_service is not None
        await self.console_service.run_ingest(self.stop)

    @work(exclusive=True, group="demo")
    async def run_demo(self) -> None:
        """The demo's simulated serving layer, writing its logs."""
        assert self._demo is not None
        await self._demo.run(self.stop)

    async def poll(self) -> None:
        """Refresh the health line, and the page when the store changed; then reschedule."""
        svc = self.console_service
        if svc is None or self.stop.is_set():
            return
        try:
            self.main_screen.query_one(HealthLine).show(await svc.health())
            version = await svc.data_version()
            if version != self._data_version or svc.ingester.status.holding_lease:
                self._data_version = version
                await self.show_alerts()
                await self.show_incident()
                await self.show_action_items()
                await self.show_page()
        except (NoMatches, IndexError, ValueError):
            # The console is closing under a refresh that was already on its way.
            if not self.stop.is_set() and self.is_running and self.screen_stack:
                raise
        finally:
            if not self.stop.is_set():
                self.set_timer(POLL_S, self.poll)

    async def show_alerts(self) -> None:
        """The newest alerts, with a count of the open ones."""
        assert self.console_service is not None
        page = await self.console_service.alerts(limit=ALERT_ROWS)
        self._alerts = {a.id: a for a in page.items}
        self.main_screen.query_one(AlertTable).show_alerts(page.items)
        open_count = sum(1 for a in page.items if a.status == "open")
        title = f"Live triggers — {open_count} open" if page.items else "Live triggers — quiet"
        self.main_screen.query_one("#alerts-title", Static).update(Text(title))

    async def show_incident(self) -> None:
        """The banner: the newest incident that is not closed, with its elapsed time."""
        assert self.console_service is not None
        banner = self.main_screen.query_one("#incident", Static)
        active = [i for i in await self.console_service.incidents(limit=10) if i.phase != "closed"]
        if not active:
            banner.update(Text("No active incident"))
            banner.add_class("quiet")
            return
        incident = active[0]
        elapsed = datetime.now(UTC) - incident.declared_at
        minutes, seconds = divmod(int(elapsed.total_seconds()), 60)
        text = Text(f"INCIDENT #{incident.id} {incident.severity} · {incident.phase} · "
                    f"{minutes // 60:d}:{minutes % 60:02d}:{seconds:02d} · ")  # fmt: skip
        text.append_text(safe(f"{incident.commander} · {incident.title}", 200))
        banner.update(text)
        banner.remove_class("quiet")

    async def show_action_items(self) -> None:
        """One line: open action items, the overdue ones standing out, the next one due."""
        assert self.console_service is not None
        items = [i for i in await self.console_service.action_items() if i.status == "open"]
        today = datetime.now(UTC).date()
        overdue = [i for i in items if i.overdue(today)]
        text = Text(f"Action items: {len(items)} open")
        if overdue:
            text.append(f" · {len(overdue)} OVERDUE", style="bold reverse")
        if items:
            first = (overdue or items)[0]
            text.append(f" · next #{first.id} due {first.due} ")
            text.append_text(safe(f"{first.owner}: {first.title}", 80))
        self.main_screen.query_one("#actions", Static).update(text)

    def _selected_alert(self) -> Alert | None:
        alert = self._alerts.get(self.main_screen.query_one(AlertTable).selected_id() or -1)
        if alert is None or alert.status != "open":
            self.notify("Select an open alert in Live triggers first (tab, then j/k).",
                        severity="warning")  # fmt: skip
            return None
        return alert

    @work(exclusive=True, group="triage")
    async def action_declare(self) -> None:
        """Declare an incident from the selected alert."""
        alert = self._selected_alert()
        choice = None if alert is None else await self.push_screen_wait(DeclareDialog(alert))
        if alert is None or choice is None or self.console_service is None:
            return
        incident = await self._act(self.console_service.declare(
            [alert.id], title=choice.title, severity=choice.severity,
            blast_radius=choice.blast_radius,
        ))  # fmt: skip
        if incident is not None:
            self.notify(f"Declared incident #{incident.id} {incident.severity}; recommended "
                        f"containment: {incident.recommended_containment}")  # fmt: skip

    @work(exclusive=True, group="triage")
    async def action_dismiss_alert(self) -> None:
        """Dismiss the selected alert, with a reason."""
        alert = self._selected_alert()
        reason = None if alert is None else await self.push_screen_wait(DismissDialog(alert))
        if alert is None or reason is None or self.console_service is None:
            return
        if await self._act(self.console_service.dismiss(alert.id, reason), done=True):
            self.notify(f"Dismissed alert #{alert.id}")

    async def _act(self, action: Awaitable[T], *, done: T | None = None) -> T | None:
        """Run a triage action: a refusal is shown with its reason; success refreshes."""
        try:
            result = await action
        except TriageRefusedError as exc:
            self.notify(f"Refused: {exc}", severity="error")
            return None
        await self.refresh_now()
        return done if result is None else result

    async def refresh_now(self) -> None:
        """Show the store as it is now (after this console acted)."""
        if self.stop.is_set() or not self.screen_stack:
            return
        await self.show_alerts()
        await self.show_incident()
        await self.show_action_items()

    async def show_page(self) -> None:
        """Fetch the current page from the store and show it."""
        assert self.console_service is not None
        page = await self.console_service.events(before_id=self._pages[-1], limit=PAGE_SIZE)
        self._events = {e.id: e for e in page.items}
        self.main_screen.query_one(EventTable).show_page(page.items)
        number = len(self._pages)
        live = "live, newest first" if number == 1 else f"page {number}, older events"
        more = "" if page.next_key is None else "  ] older"
        self.main_screen.query_one("#page-title", Static).update(Text(f"Events — {live}{more}"))
        if len(self._pages) == 1 or page.next_key is not None:
            self._next_key = page.next_key
        self._update_detail()

    async def action_older(self) -> None:
        """One page back in time."""
        if getattr(self, "_next_key", None) is not None:
            self._pages.append(self._next_key)
            await self.show_page()

    async def action_newer(self) -> None:
        """One page forward in time."""
        if len(self._pages) > 1:
            self._pages.pop()
            await self.show_page()

    async def action_live(self) -> None:
        """Back to the newest events."""
        self._pages = [None]
        await self.show_page()
        self.main_screen.query_one(EventTable).move_cursor(row=0)

    def _focused_table(self) -> DataTable[Text]:
        focused = self.focused
        return focused if isinstance(focused, DataTable) else self.main_screen.query_one(EventTable)

    def action_cursor_down(self) -> None:
        """Down in the focused table (tab moves between the alerts and the events)."""
        self._focused_table().action_cursor_down()

    def action_cursor_up(self) -> None:
        """Up in the focused table."""
        self._focused_table().action_cursor_up()

    def action_toggle_detail(self) -> None:
        """Show or hide the raw line of the selected event."""
        self.main_screen.query_one("#detail").toggle_class("hidden")
        self._update_detail()

    @on(DataTable.RowHighlighted)
    def _row_highlighted(self) -> None:
        self._update_detail()

    @on(DataTable.RowSelected)
    def _row_selected(self) -> None:
        self.action_toggle_detail()

    def _update_detail(self) -> None:
        if self.stop.is_set() or not self.screen_stack:
            return  # closing: the panels may already be gone
        detail = self.main_screen.query_one("#detail", Static)
        if detail.has_class("hidden"):
            return
        if isinstance(self.focused, AlertTable):
            alert = self._alerts.get(self.focused.selected_id() or -1)
            if alert is not None:
                events = ", ".join(map(str, alert.event_ids[-12:]))
                heading = f"#{alert.id} {alert.rule} · first {alert.first_at:%H:%M:%S} · "
                text = Text(f"{heading}events {events}\n", style="dim")
                text.append_text(safe(alert.summary, 2000))
                detail.update(text)
                return
        event_id = self.main_screen.query_one(EventTable).selected_id()
        event = self._events.get(event_id) if event_id is not None else None
        if event is None:
            detail.update("")
            return
        text = Text()
        text.append_text(safe(f"{event.path}@{event.byte_offset}", 120, style="dim"))
        text.append("\n")
        text.append_text(safe_bytes(event.raw, 4000))
        detail.update(text)


def run_console(
    store_path: Path, settings: Settings, sources: list[SourceConfig], *, read_only: bool = False
) -> None:
    """Open the console on a store (the CLI's default command); read-only looks, never acts."""

    async def open_console() -> Console:
        return await Console.open(store_path, settings, sources, read_only=read_only)

    subtitle = f"{store_path}{' (read-only)' if read_only else ''}"
    ThirdbookApp(open_console, ingest=not read_only, subtitle=subtitle).run()


def run_demo_console(session: object) -> None:
    """Open the console on the demo: the simulated estate runs inside the app."""
    from thirdbook.services.demo import DemoSession

    assert isinstance(session, DemoSession)
    ThirdbookApp(session.open_console, demo=session.layer, subtitle="demo").run()
