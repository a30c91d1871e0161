"""Opening the console (on the configured store, or on the demo) and the configuration it
starts from."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from thirdbook.cli.common import context_of as _context
from thirdbook.cli.common import given_paths, refuse_missing_store
from thirdbook.cli.common import run_async as _run
from thirdbook.domain.text import terminal_json

# The config's models and the services are imported where they are used: the console's first
# frame, from a quick read, is drawn before they are (see `services.quick_console`).
if TYPE_CHECKING:
    from thirdbook.services.factory import Context


@click.command()
@click.option("--read-only", is_flag=True, help="Look but do not ingest or act.")
@click.option(
    "--browser-from",
    metavar="HOST:PORT",
    hidden=True,
    help="Started by `thirdbook serve` for one browser connection (the origin of its actions).",
)
@click.pass_context
def console(ctx: click.Context, read_only: bool, browser_from: str | None) -> None:
    """Open the console on the configured store and sources (with --read-only, on a store
    that exists)."""
    from thirdbook.services.quick_console import quick_console
    from thirdbook.tui.widgets.event_browser import PAGE_SIZE

    data_dir, config, demo = given_paths(ctx)
    quick = quick_console(data_dir, config, demo=demo, page_size=PAGE_SIZE)
    if quick is not None:  # its first frame before the config's models are imported
        check_keymap_of(quick.settings.console.keymap, quick.config_path)
        from thirdbook.tui.launch import run_quick_console

        run_quick_console(
            quick, lambda: _context(ctx), read_only=read_only, browser_from=browser_from
        )
        return
    context = _context(ctx)
    check_keymap(context)
    if read_only:
        refuse_missing_store(context)
    from thirdbook.tui.launch import run_console

    run_console(context, read_only=read_only, browser_from=browser_from)


def check_keymap(context: Context) -> None:
    """Refuse to start on a keymap naming a binding that does not exist (say which)."""
    check_keymap_of(context.settings.console.keymap, context.config_path)


def check_keymap_of(keymap: Mapping[str, str], config_path: Path) -> None:
    """`check_keymap`, for the keymap of this config file."""
    from thirdbook.tui.keys import unknown_keymap_ids

    unknown = unknown_keymap_ids(dict(keymap))
    if unknown:
        raise click.ClickException(
            f"{config_path}: console.keymap: no binding has the id(s) "
            f"{', '.join(unknown)} (the help screen, ?, lists every id)"
        )


@click.command()
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
@click.option(
    "--otlp",
    is_flag=True,
    help="Write the serving logs as OpenTelemetry GenAI spans (OTLP JSON lines).",
)
@click.pass_context
def demo(
    ctx: click.Context,
    headless: bool,
    duration: float | None,
    speed: float | None,
    seed: int | None,
    keep: bool,
    otlp: bool,
) -> None:
    """Play the built-in demo estate: a simulated serving layer, its logs, and the console."""
    context = _context(ctx)
    from thirdbook.services.demo import DemoSession

    session = DemoSession(context, speed=speed, seed=seed, fresh=not keep, otlp=otlp)
    if not headless:
        check_keymap(context)
        from thirdbook.tui.launch import run_demo_console

        run_demo_console(session)
        return

    async def go(stop: asyncio.Event) -> dict[str, Any]:
        return await session.run_headless(stop, duration)

    summary = _run(go)
    click.echo(terminal_json(summary, indent=2))


@click.command()
@click.option("--example", is_flag=True, help="Print a commented example thirdbook.toml.")
@click.option("--check", is_flag=True, help="Validate the config file and say where it is.")
@click.pass_context
def config(ctx: click.Context, example: bool, check: bool) -> None:
    """Show or check the configuration."""
    if example:
        from thirdbook.config import EXAMPLE_CONFIG

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


def register_console_commands(group: click.Group) -> None:
    """Add `console`, `demo` and `config` to the `thirdbook` group."""
    for command in (console, demo, config):
        group.add_command(command)
