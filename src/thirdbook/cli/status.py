"""`thirdbook status`: ingest health, read quickly where the store allows (no asyncio, no
pydantic: see `services.status`), else through the services; the same lines either way."""

from __future__ import annotations

from typing import Any

import click

from thirdbook.cli.common import given_paths, with_services
from thirdbook.cli.listing import Column, show_rows
from thirdbook.domain.secrets import mask_secrets
from thirdbook.domain.text import terminal_json, visible
from thirdbook.services.status import IngestStatus, StatusNote, full_status, quick_status

GAP_COLUMNS = (
    Column("gap at (UTC)"),
    Column("bytes"),
    Column("lost", right=True),
    Column("detail", limit=300, fold=True),
)
NOTE_COLUMNS = (
    Column("at (UTC)"),
    Column("kind"),
    Column("detail", limit=200, fold=True),
)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of text.")
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Ingest health: events, rejects, files, the lease holder, gaps and truncations."""
    data_dir, config, demo = given_paths(ctx)
    found = quick_status(data_dir, config, demo=demo)
    if found is None:
        found = with_services(ctx, full_status, access="auto")
    if as_json:
        click.echo(terminal_json(_status_dict(found)))
        return
    click.echo(f"store       {visible(str(found.store))}")
    click.echo(f"events      {found.events}")
    click.echo(f"rejects     {found.rejects}")
    click.echo(f"files       {found.files_active} active, backlog {found.backlog_bytes} bytes")
    holder = found.holder
    if holder is None:
        click.echo("ingest      nobody holds the ingest lease")
    else:
        state = "live" if holder.live else "stale"
        click.echo(
            f"ingest      {visible(holder.user)} on {visible(holder.host)} "
            f"pid {holder.pid} ({state})"
        )
    if found.paused_reason:
        click.echo(f"PAUSED      {visible(found.paused_reason)}")
    click.echo(f"gaps        {found.gaps}   truncations {found.truncations}")
    show_rows(
        GAP_COLUMNS,
        (
            (
                f"{gap.at:%Y-%m-%d %H:%M:%S}",
                f"{gap.gap_start}..{'?' if gap.gap_end is None else gap.gap_end}",
                "?" if gap.gap_end is None else str(gap.gap_end - (gap.gap_start or 0)),
                gap.detail,
            )
            for gap in found.gap_notes
        ),
        indent=2,
    )
    click.echo("recent notes")
    show_rows(
        NOTE_COLUMNS,
        ((f"{note.at:%Y-%m-%d %H:%M:%S}", note.kind, note.detail) for note in found.notes),
        indent=2,
    )


def _status_dict(found: IngestStatus) -> dict[str, Any]:
    holder = found.holder
    return {
        "store": str(found.store),
        "events": found.events,
        "rejects": found.rejects,
        "files_active": found.files_active,
        "backlog_bytes": found.backlog_bytes,
        "lease": None
        if holder is None
        else {
            "user": holder.user,
            "host": holder.host,
            "pid": holder.pid,
            "heartbeat": holder.heartbeat.isoformat(),
            "live": holder.live,
        },
        "paused_reason": found.paused_reason,
        "gaps": found.gaps,
        "truncations": found.truncations,
        "gap_notes": [_note_dict(note) for note in found.gap_notes],
        "notes": [_note_dict(note) for note in found.notes],
    }


def _note_dict(note: StatusNote) -> dict[str, Any]:
    return {
        "at": note.at.isoformat(),
        "kind": note.kind,
        "detail": mask_secrets(note.detail),
        "gap_start": note.gap_start,
        "gap_end": note.gap_end,
    }


def register_status_commands(group: click.Group) -> None:
    """Add `status` to the `thirdbook` group."""
    group.add_command(status)
