"""The post-incident report (`report`) and marking an incident serious (`serious`)."""

from __future__ import annotations

from pathlib import Path

import click

from thirdbook.cli.common import parse_since, with_services
from thirdbook.domain import clock
from thirdbook.domain.regulatory import SERIOUS_CATEGORIES
from thirdbook.domain.text import visible


@click.command()
@click.argument("incident_id", type=int)
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write it to this file (default: standard output).",
)
@click.pass_context
def report(ctx: click.Context, incident_id: int, out: Path | None) -> None:
    """Write INCIDENT's post-incident report as Markdown, built from the store: summary,
    impact, timeline, detection, containment, evidence, replay and forensics, recovery,
    findings, action items, runbook changes, and the regulatory section (NIST AI 600-1,
    AIID/CSET, EU AI Act Article 73). Secrets are masked."""
    if out is None:
        text = with_services(ctx, lambda svc: svc.report.markdown(incident_id), access="auto")
        click.echo(text, nl=False)
        return
    text = with_services(ctx, lambda svc: svc.report.write(incident_id, out), access="auto")
    click.echo(f"wrote {visible(str(out))} ({len(text.encode()):,} bytes)")


@click.command()
@click.argument("incident_id", type=int)
@click.option(
    "--category",
    type=click.Choice(SERIOUS_CATEGORIES),
    required=True,
    help="death: 10 days; widespread (infringement) or critical-infrastructure: 2 days; "
    "other: 15 days (EU AI Act Art. 73).",
)
@click.option(
    "--aware-at",
    metavar="ISO",
    help="When the organisation became aware: ISO 8601 (UTC without a zone) or `2h` ago; "
    "default: now.",
)
@click.pass_context
def serious(ctx: click.Context, incident_id: int, category: str, aware_at: str | None) -> None:
    """Mark INCIDENT a serious incident: the EU AI Act Article 73 reporting clock starts
    from when the organisation became aware, and shows in every console's banner."""
    aware = None if aware_at is None else parse_since(aware_at)
    mark = with_services(ctx, lambda svc: svc.serious.mark(incident_id, category, aware))
    click.echo(
        f"incident #{incident_id} marked serious ({category}); aware "
        f"{mark.aware_at:%Y-%m-%d %H:%M} UTC; Art. 73 report due "
        f"{mark.deadline:%Y-%m-%d %H:%M} UTC "
        f"({mark.due_text(clock.now())})"
    )


def register_report_commands(group: click.Group) -> None:
    """Add `report` and `serious` to the `thirdbook` group."""
    group.add_command(report)
    group.add_command(serious)
