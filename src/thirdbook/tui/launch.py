"""Starting the console: on a context's store (the CLI's default command) or on the demo,
with ingest in a helper process; a crash is raised again for the caller to report."""

from __future__ import annotations

import warnings

from thirdbook.services.demo import DemoSession
from thirdbook.services.factory import Context, Services, open_services
from thirdbook.services.identity import TERMINAL, browser_session
from thirdbook.services.ingest_child import IngestChild, watch_command
from thirdbook.tui.app import ThirdbookApp
from thirdbook.tui.look import Look


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
    refusal = context.store_write_refusal()
    session = (
        TERMINAL
        if browser_from is None
        else browser_session(browser_from, allow_actions=not read_only)
    )
    read_only = read_only or refusal is not None

    async def open_console() -> Services:
        return await open_services(context, access="auto", read_only=read_only, session=session)

    where = "browser, " if browser_from is not None else ""
    subtitle = f"{context.store_path}{f' ({where}read-only)' if read_only else ''}"
    look = Look.from_config(context.settings.console, context.config_path)
    helper = None
    if not read_only and browser_from is None and context.sources():
        helper = IngestChild(
            watch_command(context.data_dir, context.config_path, demo=context.demo),
            log=context.paths.ingest_log,
        )
    return ThirdbookApp(
        open_console, ingest=False, subtitle=subtitle, look=look, ingest_child=helper
    )


def run_console(
    context: Context, *, read_only: bool = False, browser_from: str | None = None
) -> None:
    """Run the console on a context's store (see `console_app`); a crash is raised again for
    the caller to report, so the process exits non-zero."""
    _run_app(console_app(context, read_only=read_only, browser_from=browser_from))


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
