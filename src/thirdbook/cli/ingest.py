"""Headless ingest: follow files or the configured sources without the UI."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import click

from thirdbook.cli.common import context_of as _context
from thirdbook.cli.common import run_async as _run
from thirdbook.config import SourceConfig
from thirdbook.domain.errors import LeaseHeldError
from thirdbook.domain.formats import DEFAULT_FORMAT, known_formats
from thirdbook.services.factory import Context, Services, open_services
from thirdbook.services.health import Health


@click.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--once", is_flag=True, help="Read what is there now, then exit.")
@click.option(
    "--source",
    "source_name",
    default="cli",
    show_default=True,
    help="The source name recorded with these files.",
)
@click.option(
    "--format",
    "format_name",
    default=DEFAULT_FORMAT,
    show_default=True,
    help="How the lines are read: " + ", ".join(known_formats()) + ".",
)
@click.pass_context
def ingest(
    ctx: click.Context, paths: tuple[str, ...], once: bool, source_name: str, format_name: str
) -> None:
    """Ingest PATHS (files or globs): follow them, or with --once read them and exit."""
    context = _context(ctx)
    if format_name not in known_formats():
        raise click.BadParameter(
            f"{format_name!r} is not a known format ({', '.join(known_formats())})",
            param_hint="--format",
        )
    sources = [SourceConfig(name=source_name, paths=list(paths), format=format_name)]
    _ingest(context, lambda: open_services(context, ingest=True, sources=sources), once, False)


@click.command()
@click.option("--quiet", is_flag=True, help="Print nothing at exit (a console's helper).")
@click.pass_context
def watch(ctx: click.Context, quiet: bool) -> None:
    """Ingest the configured sources without the UI, until interrupted (a bastion service).

    With --demo, the demo's logs with the demo's rules (the console's helper ingester).
    """
    context = _context(ctx)
    if context.demo:
        from thirdbook.services.demo import DemoSession

        session = DemoSession(context, fresh=False, serve=False)
        _ingest(context, lambda: session.open_services(ingest=True), False, quiet)
        return
    if not context.settings.sources:
        raise click.ClickException(
            f"no sources are configured in {context.config_path}; see `thirdbook config --example`"
        )
    _ingest(context, lambda: open_services(context, ingest=True), False, quiet)


def _ingest(
    context: Context, open_ingesting: Callable[[], Awaitable[Services]], once: bool, quiet: bool
) -> None:
    async def go(stop: asyncio.Event) -> Health:
        services = await open_ingesting()
        try:
            assert services.ingest is not None  # asked for, on a store it can write
            await services.ingest.run(stop, once=once)
            return await services.health.read()
        finally:
            await services.close()

    try:
        health = _run(go)
    except LeaseHeldError as exc:
        raise click.ClickException(str(exc)) from exc
    if not quiet:
        click.echo(
            f"{health.events_total} events, {health.rejects_total} rejects in {context.store_path}",
            err=True,
        )


def register_ingest_commands(group: click.Group) -> None:
    """Add `ingest` and `watch` to the `thirdbook` group."""
    for command in (ingest, watch):
        group.add_command(command)
