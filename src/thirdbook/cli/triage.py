"""Headless triage: declare, attach, dismiss, severity, phase, incidents, timeline, precision,
action items and runbook steps."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

import click

from thirdbook.cli.common import context_of, with_services
from thirdbook.domain import clock
from thirdbook.domain.errors import TriageRefusedError
from thirdbook.domain.incidents import PHASES, SEVERITIES
from thirdbook.domain.text import visible
from thirdbook.services.factory import Services

T = TypeVar("T")


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
@click.pass_context
def incidents(ctx: click.Context, limit: int) -> None:
    """List incidents, newest first."""
    found = with_services(ctx, lambda svc: svc.triage.incidents(limit), access="auto")
    for incident in found:
        click.echo(
            f"#{incident.id} {incident.severity} {incident.phase:<13} "
            f"{incident.declared_at:%Y-%m-%d %H:%M:%S}Z  {visible(incident.title, 120)}"
            f"  (commander {visible(incident.commander)}, alerts "
            f"{', '.join(f'#{a}' for a in incident.alert_ids)})"
        )
    if not found:
        click.echo("no incidents", err=True)


@click.command()
@click.argument("incident_id", type=int)
@click.pass_context
def timeline(ctx: click.Context, incident_id: int) -> None:
    """An incident's timeline: every change, with who and when."""
    for entry in with_services(ctx, lambda svc: svc.triage.timeline(incident_id), access="auto"):
        click.echo(
            f"{entry.at:%Y-%m-%d %H:%M:%S}Z  {visible(str(entry.actor)):<40} "
            f"{entry.kind:<9} {visible(entry.detail, 300)}"
        )


@click.command()
@click.pass_context
def precision(ctx: click.Context) -> None:
    """Each rule's precision (declared / fired): the evidence for calibrating thresholds."""
    rows: list[Any] = with_services(ctx, lambda svc: svc.triage.precision(), access="auto")
    for row in rows:
        value = "-" if row.precision is None else f"{row.precision:.0%}"
        click.echo(
            f"{visible(row.rule):<30} fired {row.fired:>4}  declared {row.declared:>4}  "
            f"dismissed {row.dismissed:>4}  open {row.open:>4}  precision {value}"
        )
    if not rows:
        click.echo("no alerts yet", err=True)


@click.group("action-items", invoke_without_command=True)
@click.option("--overdue", is_flag=True, help="Only open items past their due date.")
@click.option("--incident", "incident_id", type=int, help="Only one incident's items.")
@click.pass_context
def action_items(ctx: click.Context, overdue: bool, incident_id: int | None) -> None:
    """List action items by due date (overdue ones marked), or add and close them."""
    if ctx.invoked_subcommand is not None:
        return
    today = clock.today()
    found = with_services(
        ctx,
        lambda svc: svc.triage.action_items(incident_id=incident_id, overdue=overdue, today=today),
        access="auto",
    )
    for item in found:
        mark = "OVERDUE" if item.overdue(today) else item.status
        done = f" — {visible(item.resolution, 120)}" if item.resolution else ""
        click.echo(
            f"#{item.id} {mark:<7} due {item.due}  {visible(item.owner):<16} "
            f"incident #{item.incident_id}: {visible(item.title, 120)}{done}"
        )
    if not found:
        click.echo("no action items", err=True)


@action_items.command("add")
@click.argument("incident_id", type=int)
@click.option("--title", required=True)
@click.option("--owner", required=True, help="Exactly one person.")
@click.option("--due", required=True, type=click.DateTime(formats=["%Y-%m-%d"]), help="YYYY-MM-DD")
@click.pass_context
def action_item_add(
    ctx: click.Context, incident_id: int, title: str, owner: str, due: datetime
) -> None:
    """Add an action item to an incident."""
    item = with_services(
        ctx,
        lambda svc: svc.triage.add_action_item(
            incident_id, title=title, owner=owner, due=due.date()
        ),
    )
    click.echo(f"action item #{item.id} for {visible(item.owner)}, due {item.due}")


@action_items.command("close")
@click.argument("item_id", type=int)
@click.option("--resolution", required=True, help="What was done, in a line.")
@click.pass_context
def action_item_close(ctx: click.Context, item_id: int, resolution: str) -> None:
    """Close an action item with its resolution."""
    with_services(ctx, lambda svc: svc.triage.close_action_item(item_id, resolution))
    click.echo(f"action item #{item_id} done")


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
@click.option(
    "--check",
    "check",
    type=int,
    default=None,
    metavar="STEP",
    help="Check step number STEP (as listed).",
)
@click.option(
    "--uncheck", "uncheck", type=int, default=None, metavar="STEP", help="Uncheck step number STEP."
)
@click.pass_context
def runbook(ctx: click.Context, incident_id: int, check: int | None, uncheck: int | None) -> None:
    """Show an incident's runbook with its numbered steps; check or uncheck one."""

    async def work(services: Services) -> list[str]:
        svc = services.triage
        incident = await svc.incident(incident_id)
        if incident is None:
            raise TriageRefusedError(f"there is no incident #{incident_id}")
        book = svc.runbook_of(incident)
        if book is None:
            raise TriageRefusedError(
                f"incident #{incident_id} has no runbook ({incident.runbook or 'none chosen'})"
            )
        for number, checked in ((check, True), (uncheck, False)):
            if number is not None:
                if not 1 <= number <= len(book.steps):
                    raise TriageRefusedError(f"step {number} is not in 1..{len(book.steps)}")
                await svc.check_step(incident_id, book.steps[number - 1].step_key or "", checked)
        checks = await svc.runbook_checks(incident_id)
        lines = [f"{book.title} ({book.name}) for incident #{incident_id}"]
        number = 0
        for line in book.lines:
            if line.kind == "heading":
                lines.append(f"\n{visible(line.text)}")
            elif line.kind == "step":
                number += 1
                done = checks.get(line.step_key or "")
                mark = "x" if done is not None and done.checked else " "
                by = f"  ({visible(done.by)})" if done is not None and done.checked else ""
                lines.append(f"  {number:>2}. [{mark}] {visible(line.text)}{by}")
        return lines

    for line in with_services(ctx, work, access="auto"):
        click.echo(line)


@click.command("runbooks")
@click.pass_context
def list_runbooks(ctx: click.Context) -> None:
    """List the runbooks (yours over the shipped ones) and any file that cannot be used."""
    library = context_of(ctx).runbooks()
    for book in library.runbooks:
        click.echo(
            f"{book.name:<16} {', '.join(book.triggers):<14} {len(book.steps):>2} steps  "
            f"{visible(book.title)}"
        )
    for problem in library.problems:
        click.echo(f"problem: {visible(problem)}", err=True)
    if library.problems:
        raise SystemExit(1)


def register_triage_commands(group: click.Group) -> None:
    """Add the triage commands to the `thirdbook` group."""
    for command in (
        declare,
        dismiss,
        attach,
        severity,
        phase,
        incidents,
        timeline,
        precision,
        action_items,
        runbook,
        list_runbooks,
    ):
        group.add_command(command)
