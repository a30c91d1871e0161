"""The command line: the console by default, and headless subcommands for scripts and tests
(one module per group of commands beside this one)."""

from __future__ import annotations

from pathlib import Path

import click

from thirdbook import __version__
from thirdbook.cli.action_items import register_action_item_commands
from thirdbook.cli.console import console, register_console_commands
from thirdbook.cli.containment import register_containment_commands
from thirdbook.cli.errors import ThirdbookGroup
from thirdbook.cli.evidence import register_evidence_commands
from thirdbook.cli.explain import register_explain_commands
from thirdbook.cli.export import register_export_commands
from thirdbook.cli.forensics import register_forensics_commands
from thirdbook.cli.global_options import AFTER_THE_COMMAND, accept_after_every_command, root_options
from thirdbook.cli.ingest import register_ingest_commands
from thirdbook.cli.queries import register_query_commands
from thirdbook.cli.registry import register_registry_commands
from thirdbook.cli.runbooks import register_runbook_commands
from thirdbook.cli.triage import register_triage_commands

__all__ = ["main"]


@click.group(cls=ThirdbookGroup, invoke_without_command=True, epilog=AFTER_THE_COMMAND)
@root_options
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


register_console_commands(main)
register_ingest_commands(main)
register_query_commands(main)
register_triage_commands(main)
register_action_item_commands(main)
register_runbook_commands(main)
register_evidence_commands(main)
register_containment_commands(main)
register_registry_commands(main)
register_export_commands(main)
register_forensics_commands(main)
register_explain_commands(main)
accept_after_every_command(main)
