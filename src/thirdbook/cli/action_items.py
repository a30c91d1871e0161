"""Action items from the command line: list them (overdue ones marked), add and close them."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

import click

from thirdbook.cli.common import with_services
from thirdbook.cli.listing import Column, echo_json, json_option, show_rows
from thirdbook.domain import clock
from thirdbook.domain.incidents import ActionItem
from thirdbook.domain.review import ACTION_KINDS
from thirdbook.domain.secrets import mask_secrets
from thirdbook.domain.text import visible

ACTION_ITEM_COLUMNS = (
    Column("id", right=True),
    Column("status"),
    Column("due"),
    Column("owner", limit=40),
    Column("incident"),
    Column("title", limit=120, fold=True),
    Column("resolution", limit=120, fold=True),
)


@click.group("action-items", invoke_without_command=True)
@click.option("--overdue", is_flag=True, help="Only open items past their due date.")
@click.option("--incident", "incident_id", type=int, help="Only one incident's items.")
@json_option
@click.option(
    "--csv", "as_csv", is_flag=True, help="Comma-separated values with a header row, for a sheet."
)
@click.pass_context
def action_items(
    ctx: click.Context, overdue: bool, incident_id: int | None, as_json: bool, as_csv: bool
) -> None:
    """List action items by due date (overdue ones marked), or add and close them."""
    if ctx.invoked_subcommand is not None:
        return
    today = clock.today()
    found = with_services(
        ctx,
        lambda svc: svc.triage.action_items(incident_id=incident_id, overdue=overdue, today=today),
        access="auto",
    )
    if as_json and as_csv:
        raise click.UsageError("choose one of --json and --csv")
    if as_csv:
        click.echo(_csv(found, today), nl=False)
        return
    if as_json:
        echo_json(
            (
                {
                    **item.model_dump(mode="json"),
                    "title": mask_secrets(item.title),
                    "resolution": None
                    if item.resolution is None
                    else mask_secrets(item.resolution),
                    "overdue": item.overdue(today),
                }
                for item in found
            ),
            empty="no action items",
        )
        return
    show_rows(
        ACTION_ITEM_COLUMNS,
        (
            (
                str(item.id),
                "OVERDUE" if item.overdue(today) else item.status,
                str(item.due),
                item.owner,
                f"#{item.incident_id}",
                item.title,
                item.resolution or "",
            )
            for item in found
        ),
        empty="no action items",
    )


CSV_FIELDS = ("id", "incident", "status", "overdue", "due", "owner", "title", "resolution")


def _csv(items: list[ActionItem], today: date) -> str:
    """The items as CSV (RFC 4180 quoting; secrets masked, control characters shown)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_FIELDS)
    for item in items:
        writer.writerow(
            [
                item.id,
                item.incident_id,
                item.status,
                "yes" if item.overdue(today) else "no",
                item.due.isoformat(),
                visible(item.owner),
                visible(mask_secrets(item.title)),
                "" if item.resolution is None else visible(mask_secrets(item.resolution)),
            ]
        )
    return out.getvalue()


@action_items.command("add")
@click.argument("incident_id", type=int)
@click.option("--title", required=True)
@click.option("--owner", required=True, help="Exactly one person.")
@click.option("--due", required=True, type=click.DateTime(formats=["%Y-%m-%d"]), help="YYYY-MM-DD")
@click.option(
    "--type",
    "kind",
    type=click.Choice(ACTION_KINDS),
    default=None,
    help="What the item does: detect (sooner), prevent (recurrence) or correct (the harm).",
)
@click.option(
    "--finding", "finding_id", type=int, default=None, help="The review finding it answers."
)
@click.pass_context
def action_item_add(
    ctx: click.Context,
    incident_id: int,
    title: str,
    owner: str,
    due: datetime,
    kind: str | None,
    finding_id: int | None,
) -> None:
    """Add an action item to an incident (its type, and the finding it answers)."""
    item = with_services(
        ctx,
        lambda svc: svc.triage.add_action_item(
            incident_id,
            title=title,
            owner=owner,
            due=due.date(),
            kind=kind,
            finding_id=finding_id,
        ),
    )
    answers = "" if item.finding_id is None else f", answers finding #{item.finding_id}"
    click.echo(f"action item #{item.id} for {visible(item.owner)}, due {item.due}{answers}")


@action_items.command("close")
@click.argument("item_id", type=int)
@click.option("--resolution", required=True, help="What was done, in a line.")
@click.pass_context
def action_item_close(ctx: click.Context, item_id: int, resolution: str) -> None:
    """Close an action item with its resolution."""
    with_services(ctx, lambda svc: svc.triage.close_action_item(item_id, resolution))
    click.echo(f"action item #{item_id} done")


def register_action_item_commands(group: click.Group) -> None:
    """Add `action-items` to the `thirdbook` group."""
    group.add_command(action_items)
