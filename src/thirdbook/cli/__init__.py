"""The command line: the console by default, and headless subcommands for scripts and tests
(one module per group of commands beside this one)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import click

from thirdbook import __version__
from thirdbook.cli.common import context_of as _context
from thirdbook.cli.common import run_async as _run
from thirdbook.cli.errors import ThirdbookGroup
from thirdbook.cli.evidence import register_evidence_commands
from thirdbook.cli.export import register_export_commands
from thirdbook.cli.ingest import register_ingest_commands
from thirdbook.cli.queries import register_query_commands
from thirdbook.cli.registry import register_registry_commands
from thirdbook.cli.triage import register_triage_commands
from thirdbook.config import EXAMPLE_CONFIG
from thirdbook.domain.text import terminal_json
from thirdbook.services.context import Context


@click.group(cls=ThirdbookGroup, invoke_without_command=True)
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
@click.option(
    "--debug",
    is_flag=True,
    envvar="THIRDBOOK_DEBUG",
    help="On an unexpected failure, show the Python traceback (else it goes to a log file).",
)
@click.version_option(__version__, prog_name="thirdbook")
@click.pass_context
def main(
    ctx: click.Context, data_dir: Path | None, config: Path | None, use_demo: bool, debug: bool
) -> None:
    """thirdbook: the third runbook, a terminal console for AI incident response.

    Without a command, opens the console on the configured store and sources. Any failure
    ends in one sentence and a non-zero exit; the traceback goes to a log file it names.
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
    click.echo(terminal_json(summary, indent=2))


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


register_ingest_commands(main)
register_query_commands(main)
register_triage_commands(main)
register_evidence_commands(main)
register_registry_commands(main)
register_export_commands(main)
