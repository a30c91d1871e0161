"""What every command needs: async running with clean signals, and the resolved context.

Importing this module costs nearly nothing (no asyncio, no pydantic, no service): the
services, and what they bring, are imported when a command asks for them, so a command that
does without them (`status` on its quick path) does not pay for them.
"""

from __future__ import annotations

import signal
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from thirdbook.domain import clock
from thirdbook.domain.errors import ActionFailedError, ConfigError, StoreError, TriageRefusedError
from thirdbook.domain.text import visible

if TYPE_CHECKING:
    import asyncio

    from thirdbook.services.factory import Access, Context, Services

T = TypeVar("T")


def run_async(coro_fn: Callable[[asyncio.Event], Awaitable[T]]) -> T:
    """Run an async command; SIGINT/SIGTERM set its stop event so it finishes cleanly."""
    import asyncio

    async def main() -> T:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        return await coro_fn(stop)

    try:
        return asyncio.run(main())
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    except StoreError as exc:
        raise click.ClickException(str(exc)) from exc


def given_paths(ctx: click.Context) -> tuple[Path | None, Path | None, bool]:
    """The data directory, config file and `--demo` this invocation was given (before and
    after the command), as given: what a quick read resolves for itself."""
    obj: dict[str, Any] = ctx.ensure_object(dict)
    return obj.get("data_dir"), obj.get("config"), bool(obj.get("demo"))


def context_of(ctx: click.Context) -> Context:
    """The invocation's context: its data directory, config file (loaded) and `--demo`."""
    from thirdbook.services.factory import Context

    obj: dict[str, Any] = ctx.ensure_object(dict)
    try:
        return Context.load(obj.get("data_dir"), obj.get("config"), demo=bool(obj.get("demo")))
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


def refuse_missing_store(context: Context) -> None:
    """Exit 1 with one sentence when the context's store does not exist: a read has nothing
    to read, and must not leave a store (or a data directory) behind."""
    refuse_missing(context.store_path, demo=context.demo)


def refuse_missing(path: Path, *, demo: bool) -> None:
    """`refuse_missing_store` for a store path (with `--demo` or not)."""
    if path.exists():
        return
    first = "`thirdbook demo`" if demo else "`thirdbook ingest` or `thirdbook watch`"
    raise click.ClickException(f"no store at {visible(str(path))}: run {first} first")


def parse_since(text: str) -> datetime:
    """`15m`, `2h`, `1d`, `30s` ago, or an ISO 8601 time (UTC when it has no zone)."""
    from thirdbook.domain.queries import parse_time

    try:
        return parse_time(text, clock.now())
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


def with_services(
    ctx: click.Context,
    work: Callable[[Services], Awaitable[T]],
    *,
    access: Access = "write",
    inline: bool = False,
) -> T:
    """Run `work` on the services over the configured store (built by the factory, each on
    first use); refusals exit 1. A read passes `access="auto"`, so that it works on a store
    this process cannot write; on a store that does not exist it says so and exits 1,
    creating nothing (a write creates the store). A `work` that only reads (writes nothing,
    not even an audit record) may pass `inline=True`: the store is then read on the stdlib
    `sqlite3` where it can be, without aiosqlite's round trips (see `store.inline`)."""
    from thirdbook.services.factory import open_services

    context = context_of(ctx)
    if access != "write":
        refuse_missing_store(context)

    async def go(stop: asyncio.Event) -> T:
        services = await open_services(context, access=access, inline=inline)
        try:
            return await work(services)
        finally:
            await services.close()

    try:
        return run_async(go)
    except ActionFailedError as exc:
        raise click.ClickException(f"failed: {exc}") from exc
    except TriageRefusedError as exc:
        raise click.ClickException(f"refused: {exc}") from exc
