"""Runbooks from the command line: an incident's, with its numbered steps to check, and the
library of them."""

from __future__ import annotations

import click

from thirdbook.cli.common import context_of, with_services
from thirdbook.cli.listing import Column, echo_json, json_option, show_rows
from thirdbook.domain.errors import TriageRefusedError
from thirdbook.domain.text import visible
from thirdbook.services.factory import Access, Services

RUNBOOK_COLUMNS = (
    Column("name", limit=60),
    Column("triggers", limit=60),
    Column("steps", right=True),
    Column("title", limit=120, fold=True),
)


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

    # Checking a step writes (and so may create the store); showing the runbook only reads.
    access: Access = "auto" if check is None and uncheck is None else "write"
    for line in with_services(ctx, work, access=access):
        click.echo(line)


@click.command("runbooks")
@json_option
@click.pass_context
def list_runbooks(ctx: click.Context, as_json: bool) -> None:
    """List the runbooks (yours over the shipped ones) and any file that cannot be used."""
    library = context_of(ctx).runbooks()
    if as_json:
        echo_json(
            {
                "name": book.name,
                "title": book.title,
                "triggers": list(book.triggers),
                "steps": [line.text for line in book.steps],
            }
            for book in library.runbooks
        )
    else:
        show_rows(
            RUNBOOK_COLUMNS,
            (
                (book.name, ", ".join(book.triggers), str(len(book.steps)), book.title)
                for book in library.runbooks
            ),
            empty="no runbooks",
        )
    for problem in library.problems:
        click.echo(f"problem: {visible(problem)}", err=True)
    if library.problems:
        raise SystemExit(1)


def register_runbook_commands(group: click.Group) -> None:
    """Add `runbook` and `runbooks` to the `thirdbook` group."""
    for command in (runbook, list_runbooks):
        group.add_command(command)
