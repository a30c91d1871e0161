"""The command line: the console by default, and headless subcommands for scripts and tests
(one module per group of commands beside this one)."""

from __future__ import annotations

from pathlib import Path

import click

from thirdbook import __version__
from thirdbook.cli.command_help import SHORT_HELP
from thirdbook.cli.global_options import AFTER_THE_COMMAND, root_options
from thirdbook.cli.lazy_group import CommandModules, LazyGroup

__all__ = ["COMMAND_MODULES", "main"]

COMMAND_MODULES: CommandModules = {
    "console": ("register_console_commands", ("console", "demo", "config")),
    "serve": ("register_serve_commands", ("serve",)),
    "ingest": ("register_ingest_commands", ("ingest", "watch")),
    "queries": ("register_query_commands", ("events", "rejects", "alerts", "schema")),
    "status": ("register_status_commands", ("status",)),
    "triage": (
        "register_triage_commands",
        (
            "declare",
            "dismiss",
            "attach",
            "severity",
            "phase",
            "note",
            "incidents",
            "timeline",
            "precision",
        ),
    ),
    "action_items": ("register_action_item_commands", ("action-items",)),
    "roles": ("register_role_commands", ("handover", "roles")),
    "runbooks": ("register_runbook_commands", ("runbook", "runbooks")),
    "evidence": ("register_evidence_commands", ("verify", "checkpoint", "audit")),
    "containment": (
        "register_containment_commands",
        ("snapshot", "kill-switch", "rollback", "quarantine"),
    ),
    "registry": ("register_registry_commands", ("registry",)),
    "export": ("register_export_commands", ("export", "verify-bundle")),
    "forensics": ("register_forensics_commands", ("baseline", "forensics")),
    "explain": ("register_explain_commands", ("explain", "answer")),
    "replay": ("register_replay_commands", ("replay", "replay-mark")),
    "recovery": ("register_recovery_commands", ("decide", "decisions", "rules")),
    "report": ("register_report_commands", ("report", "serious")),
    "review": ("register_review_commands", ("review", "finding")),
    "calibration": ("register_calibration_commands", ("calibration", "near-misses")),
}
"""Which module under thirdbook.cli registers which commands: a command's module is imported
only when it runs (tests check that this table names every command each module registers)."""


@click.group(
    cls=LazyGroup,
    modules=COMMAND_MODULES,
    command_help=SHORT_HELP,
    invoke_without_command=True,
    epilog=AFTER_THE_COMMAND,
)
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
        console = main.get_command(ctx, "console")
        assert console is not None
        ctx.invoke(console)
