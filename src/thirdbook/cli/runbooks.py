"""Runbooks from the command line: an incident's, with its numbered steps to check, and the
library of them."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

import click

from thirdbook.cli.common import context_of, with_services
from thirdbook.cli.listing import Column, echo_json, json_option, show_rows
from thirdbook.domain.errors import TriageRefusedError
from thirdbook.domain.runbooks import RunbookChoice
from thirdbook.domain.text import visible
from thirdbook.services.factory import Access, Services

RUNBOOK_COLUMNS = (
    Column("name", limit=60),
    Column("triggers", limit=60),
    Column("match", limit=80, fold=True),
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
@click.option(
    "--edit",
    is_flag=True,
    help="Edit the runbook in $VISUAL or $EDITOR (a shipped one is copied to yours first); "
    "the edit goes on the incident's timeline for the review.",
)
@click.pass_context
def runbook(
    ctx: click.Context, incident_id: int, check: int | None, uncheck: int | None, edit: bool
) -> None:
    """Show an incident's runbook with its numbered steps; check or uncheck one; edit it."""
    if edit:
        _edit(ctx, incident_id)
        return

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


def _edit(ctx: click.Context, incident_id: int) -> None:
    async def path_of(services: Services) -> Path:
        incident = await services.triage.incident(incident_id)
        if incident is None:
            raise TriageRefusedError(f"there is no incident #{incident_id}")
        if incident.runbook is None:
            raise TriageRefusedError(f"incident #{incident_id} follows no runbook")
        return services.triage.runbooks.editable_path(incident.runbook)

    path = with_services(ctx, path_of)
    editor = shlex.split(os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi")
    try:
        subprocess.run([*editor, str(path)], check=False)
    except OSError as exc:
        raise click.ClickException(f"cannot run the editor {editor[0]!r}: {exc}") from exc
    recorded = with_services(ctx, lambda svc: svc.review.runbook_edited(incident_id))
    click.echo(recorded or f"runbook unchanged: {visible(str(path))}")


@click.command("runbooks")
@click.option(
    "--alert",
    "alert_id",
    type=int,
    default=None,
    metavar="ALERT",
    help="Only the runbook an incident declared from ALERT would follow, and why.",
)
@json_option
@click.pass_context
def list_runbooks(ctx: click.Context, alert_id: int | None, as_json: bool) -> None:
    """List the runbooks (yours over the shipped ones) and any file that cannot be used."""
    if alert_id is not None:
        _offered(ctx, alert_id, as_json)
        return
    library = context_of(ctx).runbooks()
    if as_json:
        echo_json(
            {
                "name": book.name,
                "title": book.title,
                "triggers": list(book.triggers),
                "match": [str(c) for c in book.match],
                "steps": [line.text for line in book.steps],
            }
            for book in library.runbooks
        )
    else:
        show_rows(
            RUNBOOK_COLUMNS,
            (
                (
                    book.name,
                    ", ".join(book.triggers),
                    ", ".join(str(c) for c in book.match),
                    str(len(book.steps)),
                    book.title,
                )
                for book in library.runbooks
            ),
            empty="no runbooks",
        )
    for problem in library.problems:
        click.echo(f"problem: {visible(problem)}", err=True)
    if library.problems:
        raise SystemExit(1)


def _offered(ctx: click.Context, alert_id: int, as_json: bool) -> None:
    """Which runbook an alert is offered: by a `match`, by its kind, or the general one (a
    file that cannot be used is named on stderr: it may be the one meant to match)."""

    async def work(services: Services) -> tuple[RunbookChoice | None, list[str]]:
        choice = await services.triage.runbook_for_alert(alert_id)
        return choice, services.triage.runbooks.problems

    choice, problems = with_services(ctx, work, access="auto")
    for problem in problems:
        click.echo(f"problem: {visible(problem)}", err=True)
    if as_json:
        echo_json(
            [
                {
                    "alert": alert_id,
                    "name": None if choice is None else choice.runbook.name,
                    "title": None if choice is None else choice.runbook.title,
                    "how": None if choice is None else choice.how,
                    "matched": [] if choice is None else list(choice.matched),
                }
            ]
        )
        return
    if choice is None:
        click.echo(f"alert #{alert_id}: no runbook applies (and there is no general one)")
        return
    why = {
        "match": f"it matches {', '.join(choice.matched)}",
        "kind": "by the alert's kind",
        "general": "the general runbook: no other applies",
    }[choice.how]
    book = choice.runbook
    click.echo(f"alert #{alert_id}: {visible(book.name)} ({visible(book.title)}), {visible(why)}")


def register_runbook_commands(group: click.Group) -> None:
    """Add `runbook` and `runbooks` to the `thirdbook` group."""
    for command in (runbook, list_runbooks):
        group.add_command(command)
