"""Headless reads for scripts: events, rejects, ingest status, alerts, the event schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from thirdbook.cli.common import parse_since, with_services
from thirdbook.domain.events import event_json_schema
from thirdbook.domain.records import EventFilter, StoredEvent
from thirdbook.domain.secrets import mask_secrets
from thirdbook.domain.strict_json import loads_strict
from thirdbook.domain.text import terminal_json, visible, visible_bytes
from thirdbook.services.factory import Services
from thirdbook.services.health import Health


def _event_dict(event: StoredEvent, reveal: bool = False) -> dict[str, Any]:
    text = event.raw.decode("utf-8", errors="replace")
    text = text if reveal else mask_secrets(text)
    try:
        # Strict: a NaN or an overflowing number an older version let in stays in the text.
        body: Any = loads_strict(text)
    except (ValueError, RecursionError):
        body = text
    return {
        "id": event.id,
        "source": event.source,
        "path": event.path,
        "offset": event.byte_offset,
        "event": body,
    }


@click.command()
@click.option(
    "--kind",
    type=click.Choice(["inference", "metric", "feedback", "agent_action", "change", "inquiry"]),
)
@click.option("--model", help="Model (or agent) name.")
@click.option("--version", "model_version", help="Model version.")
@click.option("--request-id")
@click.option("--subject")
@click.option("--since", help="15m, 2h, 1d, or an ISO 8601 time.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="JSON lines instead of a table.")
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
    where = EventFilter(
        kind=kind,
        model=model,
        model_version=model_version,
        request_id=request_id,
        subject=subject,
        since=parse_since(since) if since else None,
    )

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

    found = with_services(ctx, go, access="auto")
    if as_json:
        for event in found:
            click.echo(terminal_json(_event_dict(event, reveal is not None)))
        return
    from rich.console import Console as RichConsole
    from rich.table import Table
    from rich.text import Text

    table = Table(box=None, header_style="bold")
    for column in ("id", "time (UTC)", "kind", "model", "route", "request", "subject"):
        table.add_column(column, no_wrap=column not in {"request", "subject"}, overflow="fold")
    for event in found:
        model_text = " ".join(p for p in (event.model_name, event.model_version) if p)
        table.add_row(
            *(
                Text(visible(value, 60, reveal=reveal is not None))
                for value in (
                    str(event.id),
                    f"{event.ts:%m-%d %H:%M:%S}",
                    event.kind,
                    model_text,
                    event.route or "",
                    event.request_id or "",
                    event.subject or "",
                )
            )
        )
    RichConsole(highlight=False, markup=False).print(table)
    if not found:
        click.echo("no events match", err=True)


@click.command()
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def rejects(ctx: click.Context, limit: int, as_json: bool) -> None:
    """List rejected lines with their source, offset and reason."""

    async def go(services: Services) -> list[Any]:
        return list((await services.queries.rejects(limit=limit)).items)

    for reject in with_services(ctx, go, access="auto"):
        if as_json:
            click.echo(
                terminal_json(
                    {
                        "id": reject.id,
                        "source": reject.source,
                        "path": reject.path,
                        "offset": reject.byte_offset,
                        "length": reject.length,
                        "reason": reject.reason,
                        "raw": mask_secrets(reject.raw.decode("utf-8", "backslashreplace")),
                        "raw_complete": reject.raw_complete,
                    }
                )
            )
        else:
            click.echo(
                f"#{reject.id} {visible(reject.path)}@{reject.byte_offset} "
                f"({reject.length} bytes): {visible(reject.reason)}"
            )
            click.echo(f"    {visible_bytes(reject.raw, 200)}")


@click.command()
@click.pass_context
def status(ctx: click.Context) -> None:
    """Ingest health: events, rejects, files, the lease holder, gaps and truncations."""

    async def go(services: Services) -> tuple[Path, Health, list[Any], list[Any]]:
        queries = services.queries
        return (
            services.paths.store,
            await services.health.read(),
            await queries.notes(limit=20),
            await queries.notes(["gap"], 20),
        )

    store, health, notes, gaps = with_services(ctx, go, access="auto")
    click.echo(f"store       {store}")
    click.echo(f"events      {health.events_total}")
    click.echo(f"rejects     {health.rejects_total}")
    click.echo(f"files       {health.files_active} active, backlog {health.backlog_bytes} bytes")
    if health.lease is None:
        click.echo("ingest      nobody holds the ingest lease")
    else:
        state = "live" if health.lease_live else "stale"
        click.echo(
            f"ingest      {visible(health.lease.user)} on {visible(health.lease.host)} "
            f"pid {health.lease.pid} ({state})"
        )
    if health.paused_reason:
        click.echo(f"PAUSED      {visible(health.paused_reason)}")
    click.echo(f"gaps        {health.gaps}   truncations {health.truncations}")
    for gap in gaps:
        end = "?" if gap.gap_end is None else gap.gap_end
        lost = "" if gap.gap_end is None else f", {gap.gap_end - (gap.gap_start or 0)} bytes"
        click.echo(
            f"  gap {gap.ts:%Y-%m-%d %H:%M:%S} bytes {gap.gap_start}..{end}{lost}: "
            f"{visible(gap.detail, 300)}"
        )
    click.echo("recent notes")
    for note in notes:
        click.echo(f"  {note.ts:%Y-%m-%d %H:%M:%S} {note.kind:<10} {visible(note.detail, 200)}")


@click.command()
@click.option("--status", type=click.Choice(["open", "dismissed", "attached", "declared"]))
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="JSON lines instead of text.")
@click.pass_context
def alerts(ctx: click.Context, status: str | None, limit: int, as_json: bool) -> None:
    """List alerts the triggers raised, newest first."""

    async def go(services: Services) -> list[Any]:
        return list((await services.queries.alerts(status=status, limit=limit)).items)

    found = with_services(ctx, go, access="auto")
    for alert in found:
        if as_json:
            fields = alert.model_dump(mode="json")
            fields.update(key=mask_secrets(alert.key), summary=mask_secrets(alert.summary))
            click.echo(terminal_json(fields))
        else:
            click.echo(
                f"#{alert.id} {alert.status:<9} {alert.kind:<13} "
                f"{visible(alert.summary, 200)} (x{alert.fired})"
            )
    if not found:
        click.echo("no alerts", err=True)


@click.command()
def schema() -> None:
    """Print the JSON Schema of the thirdbook event format (v1)."""
    click.echo(terminal_json(event_json_schema(), indent=2))


def register_query_commands(group: click.Group) -> None:
    """Add the read-only commands to the `thirdbook` group."""
    for command in (events, rejects, status, alerts, schema):
        group.add_command(command)
