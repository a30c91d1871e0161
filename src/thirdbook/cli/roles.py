"""An incident's roles from the command line: hand over the commander's (or give the scribe's
or communications'), and list who holds each, who gave it and when."""

from __future__ import annotations

from typing import Any

import click

from thirdbook.cli.common import with_services
from thirdbook.cli.listing import Column, echo_json, json_option, show_rows
from thirdbook.domain.roles import ROLES, RoleHolder
from thirdbook.domain.secrets import mask_secrets
from thirdbook.domain.text import visible

ROLE_COLUMNS = (
    Column("role"),
    Column("who", limit=64),
    Column("given by", limit=64),
    Column("since (UTC)"),
)


@click.command()
@click.argument("incident_id", type=int)
@click.argument("user")
@click.option(
    "--role",
    type=click.Choice(ROLES),
    default="commander",
    show_default=True,
    help="The role USER takes.",
)
@click.pass_context
def handover(ctx: click.Context, incident_id: int, user: str, role: str) -> None:
    """Hand an incident's role (the commander's, by default) over to USER; the handover
    goes on the timeline with who did it and when."""
    holder = with_services(ctx, lambda svc: svc.triage.handover(incident_id, user, role))
    click.echo(f"{holder.role} of incident #{incident_id} is now {visible(holder.user)}")


@click.command()
@click.argument("incident_id", type=int)
@json_option
@click.pass_context
def roles(ctx: click.Context, incident_id: int, as_json: bool) -> None:
    """Who holds each of an incident's roles, who gave it and when (the declarer is
    commander until a handover)."""
    held = with_services(ctx, lambda svc: svc.triage.roles(incident_id), access="auto")
    if as_json:
        echo_json(_holder_dict(h) for h in held.values())
        return
    show_rows(
        ROLE_COLUMNS,
        (
            (
                h.role,
                h.user,
                "(declared the incident)" if h.declared else h.by_user,
                f"{h.at:%Y-%m-%d %H:%M:%S}",
            )
            for h in held.values()
        ),
    )


def _holder_dict(holder: RoleHolder) -> dict[str, Any]:
    fields = holder.model_dump(mode="json")
    fields.update(user=mask_secrets(holder.user), by_user=mask_secrets(holder.by_user))
    return fields


def register_role_commands(group: click.Group) -> None:
    """Add the role commands to the `thirdbook` group."""
    for command in (handover, roles):
        group.add_command(command)
