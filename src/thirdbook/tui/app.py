"""The console app: opens the services, keeps the screens in step with the store, and owns the
keys that work everywhere (quit, help, incidents, explorer, the command palette)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from functools import partial
from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.css.query import NoMatches
from textual.filter import LineFilter
from textual.notifications import Notification, SeverityLevel
from textual.screen import ModalScreen, Screen
from textual.worker import NoActiveWorker, WorkerFailed, get_current_worker

from thirdbook.domain.errors import StoreClosedError
from thirdbook.domain.text import visible
from thirdbook.tui import keys
from thirdbook.tui.glyphs import AsciiGlyphs, wants_ascii
from thirdbook.tui.host import closing
from thirdbook.tui.look import Look
from thirdbook.tui.screen_openers import ScreenOpeners, screen_keys
from thirdbook.tui.screens.main import MainScreen
from thirdbook.tui.themes import DEFAULT_THEME, load_themes
from thirdbook.tui.warm_imports import WarmImports
from thirdbook.tui.widgets.event_browser import PAGE_SIZE
from thirdbook.tui.widgets.message_bar import MessageBar

if TYPE_CHECKING:
    from thirdbook.services.demo import DemoSession
    from thirdbook.services.factory import Services
    from thirdbook.services.ingest_child import IngestChild
    from thirdbook.services.quick_console import FirstPage

__all__ = ["PAGE_SIZE", "Look", "ThirdbookApp"]

POLL_S = 0.25
HEALTH_EVERY_S = 1.0
"""The health line's figures are read at most this often (six queries; the store's other
changes are noticed every poll by one query of its high-water marks)."""

ConsoleFactory = Callable[[], Awaitable["Services"]]
_NOT_IN_PALETTE = {"quit", "up", "down", "list-up", "list-down"} | {
    f"{screen}-{way}"
    for screen in ("forensics", "diff", "explain", "replay", "calibration")
    for way in ("up", "down")
}


class ThirdbookApp(ScreenOpeners, App[None]):
    """The thirdbook console."""

    TITLE = "thirdbook"
    CSS = MainScreen.LAYOUT_CSS
    BINDINGS: ClassVar[list[BindingType]] = [*keys.GLOBAL]

    def action_clear_notifications(self) -> None:
        """Clear the messages (the main screen's bar, and any in a corner elsewhere)."""
        self.clear_notifications()
        bar = self._message_bar()
        if bar is not None:
            bar.clear()

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Messages often quote untrusted text (a refusal naming a model or a path from the
        logs): never markup, control characters made visible, whoever calls. On the main
        screen they show in its message bar, which covers nothing (see `MessageBar`); every
        one is kept in `said`."""
        said, title = visible(message), visible(title)
        lasts = self.NOTIFICATION_TIMEOUT if timeout is None else timeout
        shown = Notification(said, title, severity, lasts, markup=False)
        self.said.append(shown)
        bar = self._message_bar()
        if bar is None:
            super().notify(said, title=title, severity=severity, timeout=timeout, markup=False)
        else:
            bar.add(f"{title}: {said}" if title else said, severity, shown.timeout)

    def _message_bar(self) -> MessageBar | None:
        """The main screen's message bar, if the main screen is what shows (under dialogs)."""
        for screen in reversed(self.screen_stack):
            if not isinstance(screen, ModalScreen):
                with contextlib.suppress(NoMatches):
                    if isinstance(screen, MainScreen):
                        return screen.query_one(MessageBar)
                return None
        return None

    def __init__(
        self,
        open_console: ConsoleFactory,
        *,
        ingest: bool = True,
        demo: DemoSession | None = None,
        subtitle: str = "",
        look: Look | None = None,
        ingest_child: IngestChild | None = None,
        first: FirstPage | None = None,
    ) -> None:
        """`ingest` runs ingest in this process; `ingest_child` runs it in a helper process
        instead (what the command line does: the UI's own loop stays free for keys). `first`:
        the newest page of events, read quickly (`services.quick_console`): the first frame
        shows it, and only then are the services opened (`open_console`)."""
        # NO_COLOR: Textual strips every colour only with "native ANSI" on (otherwise it
        # sends greys); bold, reverse and underline stay. TERM=linux: ASCII for what the
        # console's font cannot draw.
        super().__init__(ansi_color=True if "NO_COLOR" in os.environ else None)
        self._glyphs = AsciiGlyphs() if wants_ascii(os.environ.get("TERM")) else None
        self._ingest_child = ingest_child
        self._open_console = open_console
        self._ingest_enabled = ingest
        self._demo = demo
        self._first = first
        self.look = look or Look()
        self.console_service: Services | None = None
        self.stop = asyncio.Event()
        self.sub_title = subtitle
        self._health_at = 0.0
        self.warm_imports = WarmImports(self)
        self._shut_down = False
        self.theme_problems: list[str] = []
        self.said: list[Notification] = []
        """Every message the console showed, in order (its bar or a corner keep none)."""
        self.crash: BaseException | None = None
        """What ended the console, if it crashed (the command line reports it in a sentence)."""
        self._apply_look()

    def get_line_filters(self) -> Sequence[LineFilter]:
        """Textual's filters (NO_COLOR's among them), then the ASCII glyphs if wanted."""
        filters = super().get_line_filters()
        return filters if self._glyphs is None else [*filters, self._glyphs]

    def _handle_exception(self, error: Exception) -> None:
        """An unhandled error ends the console with a non-zero exit (Textual's way), kept in
        `crash` for the caller to report in one sentence, and not drawn as a traceback."""
        if self.crash is None:
            self.crash = error.error if isinstance(error, WorkerFailed) else error
        super()._handle_exception(error)
        self._exit_renderables.clear()

    def _apply_look(self) -> None:
        themes, self.theme_problems = load_themes(self.look.theme_dirs)
        for theme in themes.values():
            self.register_theme(theme)
        wanted = self.look.theme
        if wanted in self.available_themes:
            self.theme = wanted
        else:
            known = ", ".join(sorted(themes)) or "none"
            self.theme_problems.append(f"theme {wanted!r} not found (loaded: {known})")
            if DEFAULT_THEME in self.available_themes:
                self.theme = DEFAULT_THEME

    def get_default_screen(self) -> Screen[None]:
        return MainScreen(self._first)

    async def on_mount(self) -> None:
        await self._guarded(self._look_set if self._first is not None else self._start)

    async def on_ready(self) -> None:
        """The first frame is on the screen: with a first page read quickly, the services
        are opened now (the app's mount holds every frame back until it returns)."""
        if self._first is not None:
            await self._guarded(self._open)

    async def _guarded(self, step: Callable[[], Awaitable[None]]) -> None:
        # Raised out of the app's mount, an error escapes Textual's start-up, which leaves the
        # full screen still drawing (a frame can follow); handled here, as any other error is.
        try:
            await step()
        except Exception as error:
            self._handle_exception(error)

    async def _start(self) -> None:
        await self._look_set()
        await self._open()

    async def _look_set(self) -> None:
        """The keys as remapped, and what is wrong with a theme file: in the first frame."""
        self.set_keymap(self.look.keymap)
        for problem in self.theme_problems:
            self.notify(problem, title="Theme", severity="error", timeout=15)

    async def _open(self) -> None:
        self.console_service = await self._open_console()
        self.main_screen.refresh_bindings()  # the footer: the keys this console can act with
        why = self.console_service.read_only_reason
        if why is not None:
            self.notify(
                f"The store cannot be written ({why}): this console looks but neither "
                "ingests nor acts.",
                title="Read-only",
                severity="warning",
                timeout=30,
            )
        elif (looking := self.console_service.session.read_only_why) is not None:
            self.notify(
                f"{looking[0].upper()}{looking[1:]}: it looks but does not act.",
                title="Read-only",
                severity="warning",
                timeout=30,
            )
        for problem in self.console_service.triage.runbooks.problems:
            self.notify(problem, title="Runbook", severity="error", timeout=15)
        if self._demo is not None:
            self.run_demo()
        if self._ingest_child is not None:
            await self._ingest_child.start()
            self.console_service.health.helper_pid = self._ingest_child.pid
        elif self._ingest_enabled:
            self.run_ingest()
        await self.poll()

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """The command palette lists every action of this screen, and the global ones."""
        yield from super().get_system_commands(screen)
        groups: list[tuple[list[Binding], object]] = [(keys.GLOBAL, self)]
        bindings_here = screen_keys(screen)
        if bindings_here is not None:
            groups.append((bindings_here, screen))
        for bindings, target in groups:
            for binding in bindings:
                if binding.id in _NOT_IN_PALETTE:
                    continue
                key = self.look.keymap.get(binding.id or "", binding.key).split(",")[0]
                yield SystemCommand(
                    f"{binding.description} ({key})",
                    f"binding id: {binding.id}",
                    partial(self._run, target, binding.action),
                )

    async def _run(self, target: object, action: str) -> None:
        await self.run_action(action, target)  # type: ignore[arg-type]

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
        if self._ingest_child is not None:
            with contextlib.suppress(Exception):
                await self._ingest_child.stop()
        # Ingest and the demo stop on `stop`; an action or a refresh already on its way is
        # let finish, and what is left after that (a dialog still waiting for an answer) is
        # cancelled: only then is the store closed, never under a worker still reading it.
        try:
            current: object = get_current_worker()
        except NoActiveWorker:
            current = None
        busy = [w for w in self.workers if not w.is_finished and w is not current]
        for worker in busy:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(
                    worker.wait(), timeout=5 if worker.group in {"ingest", "demo"} else 2
                )
        for worker in busy:
            if not worker.is_finished:
                worker.cancel()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(worker.wait(), timeout=2)
        if self.console_service is not None:
            with contextlib.suppress(Exception):
                await self.console_service.close()

    @work(exclusive=True, group="ingest")
    async def run_ingest(self) -> None:
        """Ingest while this console holds the lease (otherwise only read)."""
        assert self.console_service is not None
        if self.console_service.ingest is not None:  # else it only reads
            await self.console_service.ingest.run(self.stop)

    @work(exclusive=True, group="demo")
    async def run_demo(self) -> None:
        """The demo's simulated serving layer, writing its logs."""
        assert self._demo is not None
        await self._demo.run_estate(self.stop)

    async def poll(self) -> None:
        """Refresh the health line, and tell the main screen the store's marks (one query);
        its panels read again only what changed. Then reschedule.

        The marks move when any connection commits, so another responder's action shows
        here within one poll, without re-reading an idle store.
        """
        svc = self.console_service
        if svc is None or self.stop.is_set():
            return
        try:
            main = self.main_screen
            now = time.monotonic()
            if now - self._health_at >= HEALTH_EVERY_S:
                self._health_at = now
                main.show_health(await svc.health.read())
            else:
                main.tick()
            await main.store_changed(svc, await svc.queries.marks())
            if main.live.shown is not None:  # the first page of events is on screen
                self.warm_imports.start()
        except (NoMatches, IndexError, ValueError, AssertionError, StoreClosedError):
            # The console is closing under a refresh that was already on its way.
            if not closing(self):
                raise
        finally:
            if not self.stop.is_set():
                self.set_timer(POLL_S, self.poll)

    def action_help(self) -> None:
        """Every key, what it does, and its id for remapping."""
        from thirdbook.tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.look.keymap))
