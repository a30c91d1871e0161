"""The model registry's history: every alias move, and which version served when."""

from __future__ import annotations

import re
from datetime import datetime

import click

from thirdbook.cli.common import parse_since, with_services
from thirdbook.cli.listing import Column, echo_json, json_option, show_rows
from thirdbook.domain import clock
from thirdbook.domain.control import AliasMove
from thirdbook.domain.records import to_us
from thirdbook.domain.text import terminal_json, visible
from thirdbook.services.factory import Services

MOVE_COLUMNS = (
    Column("at (UTC)"),
    Column("model", limit=60),
    Column("alias", limit=40),
    Column("from", limit=40),
    Column("to", limit=40),
    Column("how"),
    Column("by", limit=40),
    Column("incident"),
    Column("registry sha256", abbreviate=12),
)
_CLOCK = re.compile(r"^\d{1,2}:\d{2}(:\d{2})?$")


@click.group()
def registry() -> None:
    """The model registry as thirdbook has seen it."""


@registry.command("history")
@click.option("--model", help="Only this model.")
@click.option(
    "--at",
    "at_text",
    metavar="TIME",
    help="Which version was serving then: 14:02 (today, UTC), an ISO time, or 15m.",
)
@json_option
@click.pass_context
def history(ctx: click.Context, model: str | None, at_text: str | None, as_json: bool) -> None:
    """Every move of the registry's aliases (first seen, observed in the file, or a rollback),
    newest first; with --at, the version serving a model at that time."""
    if at_text is not None:
        _serving_at(ctx, model, at_text, as_json)
        return
    moves = with_services(ctx, lambda svc: svc.registry.moves(model), access="auto")
    empty = "no alias moves recorded (is [containment] registry configured?)"
    if as_json:
        echo_json((move.model_dump(mode="json") for move in moves), empty=empty)
        return
    show_rows(
        MOVE_COLUMNS,
        (
            (
                move.at.isoformat(timespec="seconds"),
                move.model,
                move.alias,
                str(move.from_version or "-"),
                str(move.to_version or "-"),
                move.how,
                move.by_user or "",
                "" if move.incident_id is None else f"#{move.incident_id}",
                move.registry_sha256,
            )
            for move in moves
        ),
        empty=empty,
    )


def _serving_at(ctx: click.Context, model: str | None, at_text: str, as_json: bool) -> None:
    when = _parse_at(at_text)

    async def find(services: Services) -> tuple[str, AliasMove | None]:
        svc = services.registry
        name = model
        if name is None:
            known = {m.model for m in await svc.moves()}
            if len(known) != 1:
                raise click.UsageError(f"name the model (--model): {sorted(known)}")
            name = known.pop()
        return name, await svc.serving_at(name, to_us(when))

    name, move = with_services(ctx, find, access="auto")
    stamp = when.isoformat(timespec="seconds")
    if as_json:
        click.echo(
            terminal_json(
                {
                    "model": name,
                    "at": stamp,
                    "serving": None if move is None else move.to_version,
                    "since": None if move is None else move.model_dump(mode="json"),
                }
            )
        )
        return
    if move is None:
        raise click.ClickException(
            f"no record of {visible(name)}'s serving alias at {stamp}: the history starts later"
        )
    click.echo(f"{visible(name)} was serving {visible(str(move.to_version))} at {stamp}")
    click.echo(f"since {_line(move)}")


def _parse_at(text: str) -> datetime:
    if _CLOCK.match(text.strip()):
        parts = [int(p) for p in text.strip().split(":")] + [0]
        today = clock.now()
        try:
            return today.replace(hour=parts[0], minute=parts[1], second=parts[2], microsecond=0)
        except ValueError as exc:
            raise click.BadParameter(f"{text!r} is not a time of day") from exc
    return parse_since(text)


def _line(move: AliasMove) -> str:
    who = "" if move.by_user is None else f" by {visible(move.by_user)}"
    incident = "" if move.incident_id is None else f" (incident #{move.incident_id})"
    return (
        f"{move.at.isoformat(timespec='seconds')}  {visible(move.model)} "
        f"{visible(move.alias)}: {visible(str(move.from_version or '-'))} → "
        f"{visible(str(move.to_version or '-'))}  [{move.how}{who}{incident}]  "
        f"registry sha256 {move.registry_sha256[:12]}"
    )


@registry.command("mark-known-good")
@click.argument("model")
@click.argument("version")
@click.pass_context
def mark_known_good(ctx: click.Context, model: str, version: str) -> None:
    """Mark MODEL VERSION known-good in the registry (a safe control-file write) and baseline
    it from its logged decisions."""
    row = with_services(ctx, lambda svc: svc.forensics.mark_known_good(model, version))
    click.echo(f"{visible(model)} {visible(version)} is known-good in the registry")
    if row is None:
        click.echo("no baseline taken: it logged no decisions in the last hour")
    else:
        click.echo(f"baseline #{row.id} taken (object sha256:{row.sha256})")


def register_registry_commands(group: click.Group) -> None:
    """Add `registry` to the `thirdbook` group."""
    group.add_command(registry)
