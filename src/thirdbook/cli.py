"""The command line: the console by default, and headless subcommands for scripts and tests."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import click

from thirdbook import __version__
from thirdbook.cli_common import context_of as _context
from thirdbook.cli_common import parse_since
from thirdbook.cli_common import run_async as _run
from thirdbook.cli_evidence import register_evidence_commands
from thirdbook.cli_triage import register_triage_commands
from thirdbook.config import EXAMPLE_CONFIG, SourceConfig
from thirdbook.domain.events import event_json_schema
from thirdbook.domain.records import EventFilter, StoredEvent
from thirdbook.domain.text import visible, visible_bytes
from thirdbook.services.console import Console, Health
from thirdbook.services.context import Context


@click.group(invoke_without_command=True)
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    envvar="THIRDBOOK_DATA_DIR",
    help="Where the store lives (default: the XDG data dir).",
)
@click.option(
    "--config",
    type=click.Path(path_type=Path),
    envvar="THIRDBOOK_CONFIG",
    help="The config file (default: thirdbook.toml in the XDG config dir).",
)
@click.option(
    "--demo",
    "use_demo",
    is_flag=True,
    help="Use the demo's store (what `thirdbook demo` left in the data dir).",
)
@click.version_option(__version__, prog_name="thirdbook")
@click.pass_context
def main(ctx: click.Context, data_dir: Path | None, config: Path | None, use_demo: bool) -> None:
    """thirdbook: the third runbook, a terminal console for AI incident response.

    Without a command, opens the console on the configured store and sources.
    """
    ctx.ensure_object(dict).update(data_dir=data_dir, config=config, demo=use_demo)
    if ctx.invoked_subcommand is None:
        ctx.invoke(console)


@main.command()
@click.option("--read-only", is_flag=True, help="Look but do not ingest or act.")
@click.pass_context
def console(ctx: click.Context, read_only: bool) -> None:
    """Open the console on the configured store and sources."""
    context = _context(ctx)
    _check_keymap(context)
    from thirdbook.tui.app import run_console

    run_console(context, read_only=read_only)


def _check_keymap(context: Context) -> None:
    """Refuse to start on a keymap naming a binding that does not exist (say which)."""
    from thirdbook.tui.keys import unknown_keymap_ids

    unknown = unknown_keymap_ids(dict(context.settings.console.keymap))
    if unknown:
        raise click.ClickException(
            f"{context.config_path}: console.keymap: no binding has the id(s) "
            f"{', '.join(unknown)} (the help screen, ?, lists every id)"
        )


@main.command()
@click.option("--headless", is_flag=True, help="Run the simulation and ingest without the UI.")
@click.option(
    "--duration",
    type=click.FloatRange(min=0.1),
    default=None,
    help="Seconds to run (headless; default: until interrupted).",
)
@click.option(
    "--speed",
    type=click.FloatRange(min=0.01, max=10_000),
    default=None,
    help="Demo seconds per real second.",
)
@click.option("--seed", type=int, default=None, help="The simulation's seed.")
@click.option("--keep", is_flag=True, help="Continue the existing demo instead of starting fresh.")
@click.pass_context
def demo(
    ctx: click.Context,
    headless: bool,
    duration: float | None,
    speed: float | None,
    seed: int | None,
    keep: bool,
) -> None:
    """Play the built-in demo estate: a simulated serving layer, its logs, and the console."""
    context = _context(ctx)
    from thirdbook.services.demo import DemoSession

    session = DemoSession(context, speed=speed, seed=seed, fresh=not keep)
    if not headless:
        _check_keymap(context)
        from thirdbook.tui.app import run_demo_console

        run_demo_console(session)
        return

    async def go(stop: asyncio.Event) -> dict[str, Any]:
        return await session.run_headless(stop, duration)

    summary = _run(go)
    click.echo(json.dumps(summary, indent=2))


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--once", is_flag=True, help="Read what is there now, then exit.")
@click.option(
    "--source",
    "source_name",
    default="cli",
    show_default=True,
    help="The source name recorded with these files.",
)
@click.pass_context
def ingest(ctx: click.Context, paths: tuple[str, ...], once: bool, source_name: str) -> None:
    """Ingest PATHS (files or globs): follow them, or with --once read them and exit."""
    context = _context(ctx)
    sources = [SourceConfig(name=source_name, paths=list(paths))]
    _ingest(context, sources, once)


@main.command()
@click.option("--quiet", is_flag=True, help="Print nothing at exit (a console's helper).")
@click.pass_context
def watch(ctx: click.Context, quiet: bool) -> None:
    """Ingest the configured sources without the UI, until interrupted (a bastion service).

    With --demo, the demo's logs with the demo's rules (the console's helper ingester).
    """
    context = _context(ctx)
    if context.demo:
        from thirdbook.services.demo import DemoSession

        _ingest_with(context, DemoSession(context, fresh=False).open_console, False, quiet)
        return
    if not context.settings.sources:
        raise click.ClickException(
            f"no sources are configured in {context.config_path}; see `thirdbook config --example`"
        )
    _ingest(context, context.settings.sources, once=False, quiet=quiet)


def _ingest(
    context: Context, sources: list[SourceConfig], once: bool, *, quiet: bool = False
) -> None:
    async def open_console() -> Console:
        return await Console.open(context.store_path, context.settings, sources,
                                  runbooks=context.runbooks())  # fmt: skip

    _ingest_with(context, open_console, once, quiet)


def _ingest_with(
    context: Context, open_console: Callable[[], Awaitable[Console]], once: bool, quiet: bool
) -> None:
    from thirdbook.ingest.errors import LeaseHeldError

    async def go(stop: asyncio.Event) -> Health:
        svc = await open_console()
        try:
            await svc.run_ingest(stop, once=once)
            return await svc.health()
        finally:
            await svc.close()

    try:
        health = _run(go)
    except LeaseHeldError as exc:
        raise click.ClickException(str(exc)) from exc
    if not quiet:
        click.echo(f"{health.events_total} events, {health.rejects_total} rejects in "
                   f"{context.store_path}", err=True)  # fmt: skip


def _event_dict(event: StoredEvent) -> dict[str, Any]:
    try:
        body: Any = json.loads(event.raw)
    except ValueError:
        body = event.raw.decode("utf-8", errors="replace")
    return {
        "id": event.id,
        "source": event.source,
        "path": event.path,
        "offset": event.byte_offset,
        "event": body,
    }


@main.command()
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
) -> None:
    """List stored events, newest first."""
    context = _context(ctx)
    where = EventFilter(
        kind=kind,
        model=model,
        model_version=model_version,
        request_id=request_id,
        subject=subject,
        since=parse_since(since) if since else None,
    )

    async def go(stop: asyncio.Event) -> list[StoredEvent]:
        svc = await Console.open(context.store_path, context.settings)
        try:
            found: list[StoredEvent] = []
            before: int | None = None
            while len(found) < limit:
                page = await svc.events(where, before_id=before, limit=min(500, limit))
                found.extend(page.items)
                if page.next_key is None:
                    break
                before = page.next_key
            return found[:limit]
        finally:
            await svc.close()

    found = _run(go)
    if as_json:
        for event in found:
            # ensure_ascii: no control or bidi character reaches the terminal raw.
            click.echo(json.dumps(_event_dict(event), ensure_ascii=True))
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
                Text(visible(value, 60))
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


@main.command()
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def rejects(ctx: click.Context, limit: int, as_json: bool) -> None:
    """List rejected lines with their source, offset and reason."""
    context = _context(ctx)

    async def go(stop: asyncio.Event) -> list[Any]:
        svc = await Console.open(context.store_path, context.settings)
        try:
            return list((await svc.rejects(limit=limit)).items)
        finally:
            await svc.close()

    for reject in _run(go):
        if as_json:
            click.echo(
                json.dumps(
                    {
                        "id": reject.id,
                        "source": reject.source,
                        "path": reject.path,
                        "offset": reject.byte_offset,
                        "length": reject.length,
                        "reason": reject.reason,
                        "raw": reject.raw.decode("utf-8", errors="backslashreplace"),
                        "raw_complete": reject.raw_complete,
                    },
                    ensure_ascii=True,
                )
            )
        else:
            click.echo(
                f"#{reject.id} {visible(reject.path)}@{reject.byte_offset} "
                f"({reject.length} bytes): {visible(reject.reason)}"
            )
            click.echo(f"    {visible_bytes(reject.raw, 200)}")


@main.command()
@click.pass_context
def status(ctx: click.Context) -> None:
    """Ingest health: events, rejects, files, the lease holder, gaps and truncations."""
    context = _context(ctx)

    async def go(stop: asyncio.Event) -> tuple[Health, list[Any]]:
        svc = await Console.open(context.store_path, context.settings)
        try:
            return await svc.health(), await svc.notes(limit=20)
        finally:
            await svc.close()

    health, notes = _run(go)
    click.echo(f"store       {context.store_path}")
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
    for note in notes:
        click.echo(f"  {note.ts:%Y-%m-%d %H:%M:%S} {note.kind:<10} {visible(note.detail, 200)}")


@main.command()
@click.option("--status", type=click.Choice(["open", "dismissed", "attached", "declared"]))
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="JSON lines instead of text.")
@click.pass_context
def alerts(ctx: click.Context, status: str | None, limit: int, as_json: bool) -> None:
    """List alerts the triggers raised, newest first."""
    context = _context(ctx)

    async def go(stop: asyncio.Event) -> list[Any]:
        svc = await Console.open(context.store_path, context.settings)
        try:
            return list((await svc.alerts(status=status, limit=limit)).items)
        finally:
            await svc.close()

    found = _run(go)
    for alert in found:
        if as_json:
            click.echo(alert.model_dump_json())
        else:
            click.echo(
                f"#{alert.id} {alert.status:<9} {alert.kind:<13} "
                f"{visible(alert.summary, 200)} (x{alert.fired})"
            )
    if not found:
        click.echo("no alerts", err=True)


@main.command()
def schema() -> None:
    """Print the JSON Schema of the thirdbook event format (v1)."""
    click.echo(json.dumps(event_json_schema(), indent=2))


@main.command()
@click.option("--example", is_flag=True, help="Print a commented example thirdbook.toml.")
@click.option("--check", is_flag=True, help="Validate the config file and say where it is.")
@click.pass_context
def config(ctx: click.Context, example: bool, check: bool) -> None:
    """Show or check the configuration."""
    if example:
        click.echo(EXAMPLE_CONFIG, nl=False)
        return
    context = _context(ctx)
    exists = context.config_path.exists()
    click.echo(f"config file  {context.config_path}{'' if exists else ' (absent: defaults)'}")
    click.echo(f"data dir     {context.data_dir}")
    click.echo(f"store        {context.store_path}")
    click.echo(f"sources      {len(context.settings.sources)}")
    if check:
        click.echo("ok")


register_triage_commands(main)
register_evidence_commands(main)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
