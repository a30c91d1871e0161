"""Starting the console: on a context's store (the CLI's default command), from what a quick
read found (the context is then loaded once the first frame shows), or on the demo, with
ingest in a helper process; a crash is raised again for the caller to report."""

from __future__ import annotations

import warnings
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from thirdbook import locations
from thirdbook.tui.app import ThirdbookApp
from thirdbook.tui.look import Look

# The services (and the pydantic models they bring) are imported where they are used: the
# first frame of a console started from a quick read is drawn without them.
if TYPE_CHECKING:
    from thirdbook.services.demo import DemoSession
    from thirdbook.services.factory import Context, Services
    from thirdbook.services.ingest_child import IngestChild
    from thirdbook.services.quick_console import QuickConsole


def console_app(
    context: Context, *, read_only: bool = False, browser_from: str | None = None
) -> ThirdbookApp:
    """The console on a context's store (the CLI's default command); read-only looks, never
    acts. Its services come from the factory, as every command's do; ingest runs in a helper
    process (`thirdbook watch`, with `--demo` for the demo's store).

    A store this process cannot write (read-only media, another user's directory) opens
    read-only, with a banner saying why. `browser_from` (host:port): the console that
    `thirdbook serve` started for one browser connection; its actions have the origin
    `browser from …`, read-only says it is a browser session, and it starts no ingest helper
    (the server runs one for all its sessions)."""
    looking = read_only or context.store_write_refusal() is not None
    helper = None
    if not looking and browser_from is None and context.sources():
        helper = _helper(context.data_dir, context.config_path, demo=context.demo)
    return ThirdbookApp(
        _opening(lambda: context, read_only, browser_from, looking=looking),
        ingest=False,
        subtitle=_subtitle(context.store_path, looking, browser_from),
        look=Look.from_config(context.settings.console, context.config_path),
        ingest_child=helper,
    )


def quick_console_app(
    quick: QuickConsole,
    load_context: Callable[[], Context],
    *,
    read_only: bool = False,
    browser_from: str | None = None,
) -> ThirdbookApp:
    """`console_app`, from what a quick read found (`services.quick_console`): the first frame
    shows the newest page of events, then `load_context` loads the config file in full and
    the services are opened on it as `console_app` opens them. (A quick read is made only of
    a store this process can write, so it is read-only only when asked.)"""
    helper = None
    if not read_only and browser_from is None and quick.settings.sources:
        helper = _helper(quick.data_dir, quick.config_path, demo=False)
    return ThirdbookApp(
        _opening(load_context, read_only, browser_from, looking=read_only),
        ingest=False,
        subtitle=_subtitle(quick.store_path, read_only, browser_from),
        look=Look.from_config(quick.settings.console, quick.config_path),
        ingest_child=helper,
        first=quick.first_page,
    )


def _opening(
    load_context: Callable[[], Context], read_only: bool, browser_from: str | None, *, looking: bool
) -> Callable[[], Awaitable[Services]]:
    """What opens the console's services on the context's store: read-only (`looking`: asked
    to, or the store cannot be written), and from a browser, with actions only if it was not
    asked to be read-only."""

    async def open_console() -> Services:
        from thirdbook.services.factory import open_services
        from thirdbook.services.identity import TERMINAL, browser_session

        context = load_context()
        session = (
            TERMINAL
            if browser_from is None
            else browser_session(browser_from, allow_actions=not read_only)
        )
        return await open_services(context, access="auto", read_only=looking, session=session)

    return open_console


def _subtitle(store: Path, read_only: bool, browser_from: str | None) -> str:
    where = "browser, " if browser_from is not None else ""
    return f"{store}{f' ({where}read-only)' if read_only else ''}"


def _helper(data_dir: Path, config_path: Path, *, demo: bool) -> IngestChild:
    """The ingest helper (`thirdbook watch`) of a console on this data directory, logging
    into it (or into the demo's directory)."""
    from thirdbook.services.ingest_child import IngestChild, watch_command

    logs = locations.demo_dir(data_dir) if demo else data_dir
    return IngestChild(
        watch_command(data_dir, config_path, demo=demo), log=locations.ingest_log(logs)
    )


def run_console(
    context: Context, *, read_only: bool = False, browser_from: str | None = None
) -> None:
    """Run the console on a context's store (see `console_app`); a crash is raised again for
    the caller to report, so the process exits non-zero."""
    _run_app(console_app(context, read_only=read_only, browser_from=browser_from))


def run_quick_console(
    quick: QuickConsole,
    load_context: Callable[[], Context],
    *,
    read_only: bool = False,
    browser_from: str | None = None,
) -> None:
    """Run the console from a quick read (see `quick_console_app`), as `run_console` does."""
    _run_app(quick_console_app(quick, load_context, read_only=read_only, browser_from=browser_from))


def _run_app(app: ThirdbookApp) -> None:
    app.run()
    if app.crash is not None:
        # A crash during start-up leaves Textual coroutines that never ran; Python would
        # name each at exit, after the one sentence that says what happened.
        warnings.filterwarnings("ignore", "coroutine .* was never awaited", RuntimeWarning)
        raise app.crash
    if app.return_code:
        raise SystemExit(app.return_code)


def demo_console_app(session: DemoSession) -> ThirdbookApp:
    """The console on the demo: the simulated estate runs inside the app, ingest in a helper
    (`thirdbook --demo watch`)."""
    from thirdbook.services.ingest_child import IngestChild, watch_command

    context = session.context
    look = Look.from_config(context.settings.console, context.config_path)
    helper = IngestChild(
        watch_command(context.data_dir, context.config_path, demo=True),
        log=context.paths.ingest_log,
    )
    return ThirdbookApp(
        session.open_services,
        demo=session,
        subtitle="demo",
        look=look,
        ingest=False,
        ingest_child=helper,
    )


def run_demo_console(session: DemoSession) -> None:
    """Run the console on the demo (see `demo_console_app`)."""
    _run_app(demo_console_app(session))
