"""Headless triage: declare, attach, dismiss, severity, phase; the incidents, their
timelines and each rule's precision."""

from __future__ import annotations

from typing import Any

import click

from thirdbook.cli.common import with_services
from thirdbook.cli.listing import Column, echo_json, json_option, show_rows
from thirdbook.domain.incidents import PHASES, SEVERITIES, Incident, TimelineEntry
from thirdbook.domain.secrets import mask_secrets
from thirdbook.domain.text import visible

INCIDENT_COLUMNS = (
    Column("id", right=True),
    Column("severity"),
    Column("phase"),
    Column("declared (UTC)"),
    Column("commander", limit=40),
    Column("alerts", limit=60, fold=True),
    Column("title", limit=120, fold=True),
)
TIMELINE_COLUMNS = (
    Column("at (UTC)"),
    Column("who", limit=60),
    Column("kind"),
    Column("detail", limit=300, fold=True),
)
PRECISION_COLUMNS = (
    Column("rule", limit=60),
    Column("fired", right=True),
    Column("declared", right=True),
    Column("dismissed", right=True),
    Column("open", right=True),
    Column("precision", right=True),
)


@click.command()
@click.argument("alert_ids", nargs=-1, type=int, required=True)
@click.option("--title", required=True, help="What is happening, in a line.")
@click.option("--severity", type=click.Choice(SEVERITIES), required=True)
@click.option(
    "--blast-radius",
    type=click.Choice(["high", "medium"]),
    required=True,
    help="high: money moved, data leaked, many users, irreversible; medium: reversible.",
)
@click.pass_context
def declare(
    ctx: click.Context, alert_ids: tuple[int, ...], title: str, severity: str, blast_radius: str
) -> None:
    """Declare an incident from open ALERT_IDS."""
    incident = with_services(
        ctx,
        lambda svc: svc.triage.declare(
            list(alert_ids), title=title, severity=severity, blast_radius=blast_radius
        ),
    )
    click.echo(
        f"declared incident #{incident.id} {incident.severity}: {visible(incident.title)}"
        f" (recommended containment: {incident.recommended_containment})"
    )


@click.command()
@click.argument("alert_id", type=int)
@click.option("--reason", required=True, help="Why this is not an incident.")
@click.pass_context
def dismiss(ctx: click.Context, alert_id: int, reason: str) -> None:
    """Dismiss an open alert, with the reason."""
    with_services(ctx, lambda svc: svc.triage.dismiss(alert_id, reason))
    click.echo(f"dismissed alert #{alert_id}")


@click.command()
@click.argument("alert_id", type=int)
@click.argument("incident_id", type=int)
@click.pass_context
def attach(ctx: click.Context, alert_id: int, incident_id: int) -> None:
    """Attach an open alert to an incident."""
    with_services(ctx, lambda svc: svc.triage.attach(alert_id, incident_id))
    click.echo(f"attached alert #{alert_id} to incident #{incident_id}")


@click.command()
@click.argument("incident_id", type=int)
@click.argument("severity", type=click.Choice(SEVERITIES))
@click.pass_context
def severity(ctx: click.Context, incident_id: int, severity: str) -> None:
    """Change an incident's severity."""
    with_services(ctx, lambda svc: svc.triage.set_severity(incident_id, severity))
    click.echo(f"incident #{incident_id} is now {severity}")


@click.command()
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@json_option
@click.pass_context
def incidents(ctx: click.Context, limit: int, as_json: bool) -> None:
    """List incidents, newest first."""
    found = with_services(ctx, lambda svc: svc.triage.incidents(limit), access="auto")
    if as_json:
        echo_json((_incident_dict(i) for i in found), empty="no incidents")
        return
    show_rows(
        INCIDENT_COLUMNS,
        (
            (
                str(incident.id),
                incident.severity,
                incident.phase,
                f"{incident.declared_at:%Y-%m-%d %H:%M:%S}",
                incident.commander,
                ", ".join(f"#{a}" for a in incident.alert_ids),
                incident.title,
            )
            for incident in found
        ),
        empty="no incidents",
    )


def _incident_dict(incident: Incident) -> dict[str, Any]:
    fields = incident.model_dump(mode="json")
    fields.update(title=mask_secrets(incident.title))
    return fields


@click.command()
@click.argument("incident_id", type=int)
@click.option("--full", is_flag=True, help="Show every detail whole, on a terminal too.")
@json_option
@click.pass_context
def timeline(ctx: click.Context, incident_id: int, full: bool, as_json: bool) -> None:
    """An incident's timeline, oldest first: every change, with who and when."""
    found = with_services(ctx, lambda svc: svc.triage.timeline(incident_id), access="auto")
    if as_json:
        echo_json(_timeline_dict(entry) for entry in found)
        return
    show_rows(
        TIMELINE_COLUMNS,
        (
            (f"{entry.at:%Y-%m-%d %H:%M:%S}", str(entry.actor), entry.kind, entry.detail)
            for entry in found
        ),
        whole=full,
    )


def _timeline_dict(entry: TimelineEntry) -> dict[str, Any]:
    fields = entry.model_dump(mode="json")
    fields.update(detail=mask_secrets(entry.detail))
    return fields


@click.command()
@json_option
@click.pass_context
def precision(ctx: click.Context, as_json: bool) -> None:
    """Each rule's precision (declared / triaged; open alerts are not misses)."""
    rows = with_services(ctx, lambda svc: svc.triage.precision(), access="auto")
    if as_json:
        echo_json(
            ({**row.model_dump(mode="json"), "precision": row.precision} for row in rows),
            empty="no alerts yet",
        )
        return
    show_rows(
        PRECISION_COLUMNS,
        (
            (
                row.rule,
                str(row.fired),
                str(row.declared),
                str(row.dismissed),
                str(row.open),
                row.label,
            )
            for row in rows
        ),
        empty="no alerts yet",
    )


@click.command()
@click.argument("incident_id", type=int)
@click.argument("phase", type=click.Choice(PHASES))
@click.pass_context
def phase(ctx: click.Context, incident_id: int, phase: str) -> None:
    """Move an incident to another phase (closed is final)."""
    with_services(ctx, lambda svc: svc.triage.set_phase(incident_id, phase))
    click.echo(f"incident #{incident_id} is now {phase}")


@click.command()
@click.argument("incident_id", type=int)
@click.argument("text")
@click.pass_context
def note(ctx: click.Context, incident_id: int, text: str) -> None:
    """Put a free-text note on an incident's timeline (who and when are recorded)."""
    with_services(ctx, lambda svc: svc.triage.add_note(incident_id, text))
    click.echo(f"noted on incident #{incident_id}'s timeline")


def register_triage_commands(group: click.Group) -> None:
    """Add the triage commands to the `thirdbook` group."""
    commands = (declare, dismiss, attach, severity, phase, note, incidents, timeline, precision)
    for command in commands:
        group.add_command(command)
