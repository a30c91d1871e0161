"""Headless reads for scripts: events, rejects, alerts, the event schema (and `status`, in
`cli/status.py`). `events` without --since or --reveal-secrets is read quickly where the store
allows (`services.quick_events`), so nothing here imports a model until it needs one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

from thirdbook.cli.common import given_paths, parse_since, with_services
from thirdbook.cli.listing import (
    Column,
    echo_json,
    event_body,
    event_cells,
    json_option,
    show_rows,
)
from thirdbook.domain.secrets import mask_secrets
from thirdbook.domain.text import terminal_json
from thirdbook.services.quick_events import EventRow, quick_events

# The models are imported where they are used: `thirdbook events` read quickly needs none.
if TYPE_CHECKING:
    from thirdbook.domain.alerts import Alert
    from thirdbook.domain.records import EventFilter, Reject, StoredEvent
    from thirdbook.services.factory import Services

NO_EVENTS = "no events match"
EVENT_COLUMNS = (
    Column("id", right=True),
    Column("time (UTC)"),
    Column("kind"),
    Column("model", limit=60),
    Column("route", limit=60),
    Column("request", limit=60, fold=True),
    Column("subject", limit=60, fold=True),
)
REJECT_COLUMNS = (
    Column("id", right=True),
    Column("source", limit=60),
    Column("where", limit=120, fold=True),
    Column("bytes", right=True),
    Column("reason", limit=300, fold=True),
    Column("raw", limit=200, fold=True),
)
ALERT_COLUMNS = (
    Column("id", right=True),
    Column("status"),
    Column("kind"),
    Column("fired", right=True),
    Column("last (UTC)"),
    Column("rule", limit=40),
    Column("summary", limit=200, fold=True),
)


def _event_dict(event: StoredEvent | EventRow, reveal: bool = False) -> dict[str, Any]:
    return {
        "id": event.id,
        "source": event.source,
        "path": event.path,
        "offset": event.byte_offset,
        "event": event_body(event.raw, reveal),
    }


@click.command()
@click.option(
    "--kind",
    type=click.Choice(
        ["inference", "metric", "feedback", "agent_action", "change", "inquiry", "span"]
    ),
)
@click.option("--model", help="Model (or agent) name.")
@click.option("--version", "model_version", help="Model version.")
@click.option("--request-id")
@click.option("--subject")
@click.option("--since", help="15m, 2h, 1d, or an ISO 8601 time.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=50, show_default=True)
@json_option
@click.option(
    "--reveal-secrets",
    "reveal",
    metavar="REASON",
    help="Show secrets unmasked; the reason goes in the audit chain.",
)
@click.pass_context
def events(
    ctx: click.Context,
    kind: str | None,
    model: str | None,
    model_version: str | None,
    request_id: str | None,
    subject: str | None,
    since: str | None,
    limit: int,
    as_json: bool,
    reveal: str | None,
) -> None:
    """List stored events, newest first (secrets masked unless --reveal-secrets)."""
    if reveal is not None and not reveal.strip():
        raise click.BadParameter(
            "give the reason for showing secrets", param_hint="--reveal-secrets"
        )
    by_id = request_id or subject
    found: Sequence[StoredEvent | EventRow] | None = None
    if reveal is None and since is None:  # a plain read: quickly, where the store allows
        data_dir, config, demo = given_paths(ctx)
        found = quick_events(
            data_dir,
            config,
            demo=demo,
            kind=kind,
            model=model,
            model_version=model_version,
            request_id=request_id,
            subject=subject,
            limit=limit,
        )
    if by_id and not found:
        # Not in the store (or no quick read): the store and the bytes not yet ingested.
        where = _where(kind, model, model_version, request_id, subject, since)
        _lookup_events(ctx, where, limit, reveal, as_json)
        return
    if found is None:
        where = _where(kind, model, model_version, request_id, subject, since)
        found = _stored_events(ctx, where, limit, reveal)
    _show_events(found, as_json=as_json, reveal=reveal is not None)


def _show_events(found: Sequence[StoredEvent | EventRow], *, as_json: bool, reveal: bool) -> None:
    if as_json:
        echo_json((_event_dict(event, reveal) for event in found), empty=NO_EVENTS)
        return
    show_rows(
        EVENT_COLUMNS,
        ((str(event.id), *event_cells(event)) for event in found),
        empty=NO_EVENTS,
        reveal=reveal,
    )


def _where(
    kind: str | None,
    model: str | None,
    model_version: str | None,
    request_id: str | None,
    subject: str | None,
    since: str | None,
) -> EventFilter:
    """The events' filter (its model imported here: a quick read needs none)."""
    from thirdbook.domain.records import EventFilter

    return EventFilter(
        kind=kind,
        model=model,
        model_version=model_version,
        request_id=request_id,
        subject=subject,
        since=parse_since(since) if since else None,
    )


def _lookup_events(
    ctx: click.Context, where: EventFilter, limit: int, reveal: str | None, as_json: bool
) -> None:
    """`events --request-id/--subject`: the store, and what ingest has not stored yet, shown
    first and marked "from the log, not yet ingested"."""
    # Imported here: `status` and the other reads in this module need none of it.
    from thirdbook.cli.common import run_async
    from thirdbook.cli.lookup import log_only, say_what_was_searched, show_log_events
    from thirdbook.services.unread_lookup import EventLookup

    what = f"request id {where.request_id!r}" if where.request_id else f"subject {where.subject!r}"

    async def go(services: Services) -> EventLookup:
        lookup = await services.unread.events(where, limit)
        if reveal is not None:
            await services.queries.audited_reveal(
                {
                    "command": "events",
                    "reason": reveal,
                    "filter": where.model_dump(mode="json"),
                    "events": len(lookup.stored) + len(lookup.unread.events),
                }
            )
        return lookup

    from_log = log_only(ctx) if reveal is None else None
    if from_log is not None:
        found = run_async(lambda _stop: from_log.events(where, limit))
    else:
        found = with_services(ctx, go, access="auto")
    show_log_events(found.unread, as_json=as_json, reveal=reveal is not None)
    any_found = bool(found.stored or found.unread.events)
    say_what_was_searched(found.unread, found=any_found, what=what)
    if found.stored:
        _show_events(found.stored, as_json=as_json, reveal=reveal is not None)


def _stored_events(
    ctx: click.Context, where: EventFilter, limit: int, reveal: str | None
) -> list[StoredEvent]:
    """`events` through the services: any filter, and the audited reveal."""

    async def go(services: Services) -> list[StoredEvent]:
        queries = services.queries
        found: list[StoredEvent] = []
        before: int | None = None
        while len(found) < limit:
            page = await queries.events(where, before_id=before, limit=min(500, limit))
            found.extend(page.items)
            if page.next_key is None:
                break
            before = page.next_key
        if reveal is not None:
            await queries.audited_reveal(
                {
                    "command": "events",
                    "reason": reveal,
                    "filter": where.model_dump(mode="json"),
                    "events": len(found[:limit]),
                }
            )
        return found[:limit]

    return with_services(ctx, go, access="auto", inline=reveal is None)


@click.command()
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True)
@json_option
@click.pass_context
def rejects(ctx: click.Context, limit: int, as_json: bool) -> None:
    """List rejected lines, newest first, with their source, offset and reason."""

    async def go(services: Services) -> list[Reject]:
        return list((await services.queries.rejects(limit=limit)).items)

    found = with_services(ctx, go, access="auto")
    if as_json:
        echo_json((_reject_dict(reject) for reject in found), empty="no rejects")
        return
    show_rows(
        REJECT_COLUMNS,
        (
            (
                str(reject.id),
                reject.source,
                f"{reject.path}@{reject.byte_offset}",
                str(reject.length),
                reject.reason,
                reject.raw.decode("utf-8", errors="backslashreplace"),
            )
            for reject in found
        ),
        empty="no rejects",
    )


def _reject_dict(reject: Reject) -> dict[str, Any]:
    return {
        "id": reject.id,
        "source": reject.source,
        "path": reject.path,
        "offset": reject.byte_offset,
        "length": reject.length,
        "reason": reject.reason,
        "raw": mask_secrets(reject.raw.decode("utf-8", "backslashreplace")),
        "raw_complete": reject.raw_complete,
        "ingested": reject.ingested.isoformat(),
    }


@click.command()
@click.option("--status", type=click.Choice(["open", "dismissed", "attached", "declared"]))
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@json_option
@click.pass_context
def alerts(ctx: click.Context, status: str | None, limit: int, as_json: bool) -> None:
    """List alerts the triggers raised, newest first."""

    async def go(services: Services) -> list[Alert]:
        return list((await services.queries.alerts(status=status, limit=limit)).items)

    found = with_services(ctx, go, access="auto")
    if as_json:
        echo_json((_alert_dict(alert) for alert in found), empty="no alerts")
        return
    show_rows(
        ALERT_COLUMNS,
        (
            (
                str(alert.id),
                alert.status,
                alert.kind,
                str(alert.fired),
                f"{alert.last_at:%Y-%m-%d %H:%M:%S}",
                alert.rule,
                alert.summary,
            )
            for alert in found
        ),
        empty="no alerts",
    )


def _alert_dict(alert: Alert) -> dict[str, Any]:
    fields = alert.model_dump(mode="json")
    fields.update(key=mask_secrets(alert.key), summary=mask_secrets(alert.summary))
    return fields


@click.command()
def schema() -> None:
    """Print the JSON Schema of the thirdbook event format (v1)."""
    from thirdbook.domain.events import event_json_schema

    click.echo(terminal_json(event_json_schema(), indent=2))


def register_query_commands(group: click.Group) -> None:
    """Add the read-only commands to the `thirdbook` group."""
    for command in (events, rejects, alerts, schema):
        group.add_command(command)
