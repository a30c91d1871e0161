"""`thirdbook serve`'s web server: textual-serve's `Server`, with the gate (`serve_gate`) in
front of every request, one console process a browser connection (`thirdbook console
--browser-from HOST:PORT`, read-only unless `--allow-actions`), at most `max_sessions` at
once, and one ingest helper for all of them (as the console starts one for itself).

Imported only when `thirdbook serve` runs: aiohttp and textual-serve cost every other
command nothing."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import shlex
import sys
from collections.abc import Callable
from functools import partial
from typing import Any

from aiohttp import web
from textual_serve.app_service import AppService
from textual_serve.server import Server

from thirdbook.domain.text import visible
from thirdbook.services.factory import Context
from thirdbook.services.ingest_child import IngestChild, watch_command
from thirdbook.tui.serve_gate import Gate, ServePlan
from thirdbook.tui.serve_page import POLICY, render_page

log = logging.getLogger("thirdbook.serve")

END_GRACE_S = 10.0
"""How long a session's console has to quit when its browser goes away, before SIGKILL."""

NOT_FOR_THE_CONSOLE = ("THIRDBOOK_SERVE_TOKEN", "SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY")
"""Taken out of each console's environment: the token stays in the server, and the SSH
session that started the server is not where a browser session comes from."""


class BrowserConsole(AppService):
    """One browser connection's console process (textual-serve's protocol on its stdio)."""

    def _build_environment(self, width: int = 80, height: int = 24) -> dict[str, str]:
        environment = super()._build_environment(width=width, height=height)
        for name in NOT_FOR_THE_CONSOLE:
            environment.pop(name, None)
        environment["TERM"] = "xterm-256color"  # xterm.js draws what xterm does
        return environment

    async def run(self) -> None:
        """Relay the console until its process ends; then end the browser's session too
        (a console that failed to start would otherwise leave the tab waiting)."""
        await super().run()
        with contextlib.suppress(Exception):
            await self.remote_close()

    def __init__(self, command: str, *, abort: Callable[[], None], **kwargs: Any) -> None:
        super().__init__(command, **kwargs)
        self.abort = abort
        """Drop the browser's connection (what unblocks a relay the browser stopped reading)."""

    async def end(self) -> None:
        """Ask the console to quit. Past `END_GRACE_S` (a browser that stopped reading, a
        console that does not answer): drop the connection and kill the process, and give
        up on the relay after as long again rather than hang the server."""
        stopping = asyncio.ensure_future(self.stop())
        done, _ = await asyncio.wait({stopping}, timeout=END_GRACE_S)
        if not done:
            self.abort()
            self._kill()
            done, _ = await asyncio.wait({stopping}, timeout=END_GRACE_S)
            if not done:
                stopping.cancel()
                log.warning("a browser session's relay did not end; left to the event loop")
        await self._reap()

    def _kill(self) -> None:
        process = self._process
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()

    async def _reap(self) -> None:
        """Close the console's stdin and wait for it to exit (killed if it lingers), so
        that its pipes are closed now rather than whenever they are collected."""
        process = self._process
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), END_GRACE_S)
        except TimeoutError:
            self._kill()
            await process.wait()


def peer_address(request: web.Request) -> str:
    """HOST:PORT of the connection (the proxy's, behind one), as the origin names it."""
    peer = request.transport.get_extra_info("peername") if request.transport else None
    if not peer:
        return request.remote or "unknown"
    host, port = str(peer[0]), peer[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _size(value: str | None, default: int) -> int:
    try:
        return min(max(int(value or default), 10), 1000)
    except ValueError:
        return default


class ConsoleServer(Server):
    """The console for browsers (see the module's docstring)."""

    def __init__(
        self, context: Context, plan: ServePlan, say: Callable[[str], None] = print
    ) -> None:
        super().__init__(
            "thirdbook console",
            host=plan.host,
            port=plan.port,
            title="thirdbook",
            public_url=plan.public_url,
        )
        self.context = context
        self.plan = plan
        self.say = say
        self.sessions: set[BrowserConsole] = set()
        self.opened = 0
        """Websockets being served (a place is taken before the console starts and given
        back once it has ended)."""
        self.endings: set[asyncio.Future[None]] = set()
        self.helper: IngestChild | None = None

    @property
    def mode(self) -> str:
        return (
            "browser sessions act as this user (origin: browser)"
            if self.plan.allow_actions
            else "read-only: browser sessions look but do not act"
        )

    def console_command(self, address: str) -> str:
        """The shell command of one browser connection's console."""
        context = self.context
        command = [sys.executable, "-m", "thirdbook.cli", "--data-dir", str(context.data_dir)]
        command += ["--config", str(context.config_path), *(["--demo"] if context.demo else [])]
        command += ["console", "--browser-from", address]
        return shlex.join([*command, *([] if self.plan.allow_actions else ["--read-only"])])

    async def _make_app(self) -> web.Application:
        app = web.Application(middlewares=[Gate(self.plan)])
        app.add_routes(
            [
                web.get("/", self.handle_index, name="index"),
                web.get("/ws", self.handle_websocket, name="websocket"),
                web.get("/download/{key}", self.handle_download, name="download"),
                web.static("/static", self.statics_path, name="static"),
                web.get("/favicon.ico", _no_icon),
            ]
        )
        app.on_startup.append(self.on_startup)
        app.on_shutdown.append(self.on_shutdown)
        return app

    async def handle_index(self, request: web.Request) -> web.Response:
        base = self.plan.public_url or f"{request.scheme}://{request.host}"
        page = render_page(
            base_url=base.rstrip("/"),
            title=f"thirdbook: {visible(str(self.context.store_path), 200)}",
            mode=self.mode,
            font_size=_size(request.query.get("fontsize"), 16),
        )
        response = web.Response(text=page, content_type="text/html")
        response.headers["Content-Security-Policy"] = POLICY
        return response

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        if self.opened >= self.plan.max_sessions:
            raise web.HTTPServiceUnavailable(
                text=f"503: {self.plan.max_sessions} browser sessions are open already "
                "(--max-sessions); close one and try again\n"
            )
        websocket = web.WebSocketResponse(heartbeat=15)
        address = peer_address(request)
        session: BrowserConsole | None = None
        self.opened += 1  # before any await: two at once cannot both take the last place
        try:
            await websocket.prepare(request)
            session = BrowserConsole(
                self.console_command(address),
                abort=partial(_abort, request),
                write_bytes=websocket.send_bytes,
                write_str=websocket.send_str,
                close=partial(_close, websocket),
                download_manager=self.download_manager,
            )
            self.sessions.add(session)
            log.info("browser session from %s: started (%d open)", address, self.opened)
            width = _size(request.query.get("width"), 80)
            await session.start(width, _size(request.query.get("height"), 24))
            await self._process_messages(websocket, session)
        except asyncio.CancelledError:
            await websocket.close()
        except Exception as error:
            log.warning("browser session from %s: %s: %s", address, type(error).__name__, error)
        finally:
            if session is None:
                self.opened -= 1
            else:
                # aiohttp cancels this handler when the connection is lost, perhaps during
                # this very wait: the console is ended by a task of its own all the same.
                ending = asyncio.ensure_future(self._end(session, address))
                self.endings.add(ending)
                ending.add_done_callback(self.endings.discard)
                await asyncio.shield(ending)
        return websocket

    async def _end(self, session: BrowserConsole, address: str) -> None:
        try:
            await session.end()
        finally:
            self.sessions.discard(session)
            self.opened -= 1
            log.info("browser session from %s: ended (%d open)", address, self.opened)

    async def on_startup(self, app: web.Application) -> None:
        context = self.context
        if context.sources() and context.store_write_refusal() is None:
            self.helper = IngestChild(
                watch_command(context.data_dir, context.config_path, demo=context.demo),
                log=context.paths.ingest_log,
            )
            await self.helper.start()
        self._announce()

    def _announce(self) -> None:
        plan = self.plan
        self.say(f"thirdbook serve: the console on {visible(str(self.context.store_path))}")
        self.say(f"  {self.mode}")
        if plan.token is None:
            self.say(f"  open {plan.base_url}/ (no token: loopback only)")
        elif plan.token_generated:
            self.say(f"  open {plan.base_url}/?token={plan.token}")
            self.say("  (the token is shown only now; every request must carry it)")
        else:
            self.say(f"  open {plan.base_url}/?token=THE-TOKEN-YOU-GAVE")
        if self.helper is not None:
            self.say(f"  ingest: a helper (pid {self.helper.pid}), log in {self.helper.log}")
        self.say("  Ctrl+C stops the server and every session.")

    async def on_shutdown(self, app: web.Application) -> None:
        await asyncio.gather(*(s.end() for s in list(self.sessions)), return_exceptions=True)
        await asyncio.gather(*list(self.endings), return_exceptions=True)
        if self.helper is not None:
            with contextlib.suppress(Exception):
                await self.helper.stop()

    def run(self) -> None:
        """Serve until SIGINT or SIGTERM; every console quits with the server."""
        self.initialize_logging()
        try:
            # No access log: the first request's address carries the token.
            web.run_app(
                self._make_app(),
                host=self.plan.host,
                port=self.plan.port,
                access_log=None,
                print=_quiet,
                shutdown_timeout=END_GRACE_S,
            )
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EACCES):
                raise ListenError(
                    f"cannot listen on {self.plan.host}:{self.plan.port}: {exc.strerror}"
                ) from exc
            raise


def _abort(request: web.Request) -> None:
    if request.transport is not None:
        request.transport.abort()


async def _no_icon(request: web.Request) -> web.Response:
    return web.Response(status=204)


async def _close(websocket: web.WebSocketResponse) -> None:
    await websocket.close()


def _quiet(*args: Any, **kwargs: Any) -> None:
    """aiohttp's own start-up lines (`_announce` says where to go instead)."""


class ListenError(OSError):
    """The server cannot listen where it was asked to; the message says why."""


def run_server(context: Context, plan: ServePlan, say: Callable[[str], None]) -> None:
    """Serve the console on `context`'s store as `plan` says, until stopped; `say` prints
    where to go."""
    ConsoleServer(context, plan, say).run()
