"""What a lookup by request id or subject found in the bytes not yet ingested: shown apart
from the store's events, marked "from the log, not yet ingested" with path and byte offset;
and the same lookup where there is no store yet (the configured sources, from byte 0)."""

from __future__ import annotations

from typing import Any

import click

from thirdbook.cli.common import context_of
from thirdbook.cli.listing import Column, event_body, event_cells, show_rows
from thirdbook.domain.text import terminal_json, visible
from thirdbook.domain.unread import FROM_LOG, LogEvent, UnreadSearch
from thirdbook.services.factory import Context
from thirdbook.services.unread_lookup import UnreadLookup, lookup_without_store

LOG_COLUMNS = (
    Column("where", limit=120, fold=True),
    Column("time (UTC)"),
    Column("kind"),
    Column("model", limit=60),
    Column("route", limit=60),
    Column("request", limit=60, fold=True),
    Column("subject", limit=60, fold=True),
)


def log_event_dict(event: LogEvent, reveal: bool = False) -> dict[str, Any]:
    """An event read from the log as `events --json` prints it: `provisional` true, no id."""
    return {
        "id": None,
        "provisional": True,
        "note": FROM_LOG,
        "source": event.source,
        "path": event.path,
        "offset": event.byte_offset,
        "compressed": event.compressed,
        "event": event_body(event.raw, reveal),
    }


def show_log_events(unread: UnreadSearch, *, as_json: bool, reveal: bool) -> None:
    """Print what the log gave (before the store's events: it is newer)."""
    if as_json:
        for event in unread.events:
            click.echo(terminal_json(log_event_dict(event, reveal)))
        return
    if not unread.events:
        return
    click.echo(f"{FROM_LOG} (found in {unread.searched()}):")
    show_rows(
        LOG_COLUMNS,
        ((event.where, *event_cells(event)) for event in unread.events),
        reveal=reveal,
    )


def say_what_was_searched(unread: UnreadSearch, *, found: bool, what: str) -> None:
    """On stderr: the lines that mention the id but could not be read; and, when nothing
    was found anywhere, the sentence saying what was searched besides the store."""
    for m in unread.mentions:
        click.echo(
            visible(
                f"a line {FROM_LOG} mentions {what} but could not be read: "
                f"{m.path}@{m.byte_offset}: {m.reason}"
            ),
            err=True,
        )
    if not found:
        click.echo(
            visible(f"no events match: {unread.not_found(what)}"),
            err=True,
        )
    elif unread.not_searched:
        click.echo(visible("not searched: " + "; ".join(unread.not_searched)), err=True)


def log_only(ctx: click.Context) -> UnreadLookup | None:
    """With no store yet but sources configured: a lookup of the sources alone (ingest has
    stored nothing, so every byte is unread). None when there is a store (or nothing to
    search): the usual path then says what it says."""
    context: Context = context_of(ctx)
    if context.store_path.exists():
        return None
    if not context.sources():
        return None
    click.echo(
        visible(f"no store at {context.store_path} yet: searching the sources' files instead"),
        err=True,
    )
    return lookup_without_store(context)
