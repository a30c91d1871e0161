"""What every command needs: async running with clean signals, and the resolved context."""

from __future__ import annotations

import asyncio
import re
import signal
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import click

from thirdbook.config import ConfigError
from thirdbook.services.context import Context
from thirdbook.store import StoreError

T = TypeVar("T")


def run_async(coro_fn: Callable[[asyncio.Event], Awaitable[T]]) -> T:
    """Run an async command; SIGINT/SIGTERM set its stop event so it finishes cleanly."""

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


def context_of(ctx: click.Context) -> Context:
    obj: dict[str, Any] = ctx.ensure_object(dict)
    try:
        return Context.load(obj.get("data_dir"), obj.get("config"), demo=bool(obj.get("demo")))
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd])$")


def parse_since(text: str) -> datetime:
    """`15m`, `2h`, `1d`, `30s` ago, or an ISO 8601 time (UTC when it has no zone)."""
    match = _RELATIVE.match(text.strip())
    if match:
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[match.group(2)]
        return datetime.now(UTC) - timedelta(**{unit: float(match.group(1))})
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise click.BadParameter(
            f"{text!r} is neither a duration like 15m, 2h, 1d nor an ISO 8601 time"
        ) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
