"""Across incidents: the near-miss register and each rule's calibration (what the Calibration
screen, key C, shows)."""

from __future__ import annotations

from typing import Any

import click

from thirdbook.cli.common import with_services
from thirdbook.cli.listing import Column, echo_json, json_option, show_rows
from thirdbook.domain.calibration import NearMiss, RuleCalibration, minutes

CALIBRATION_COLUMNS = (
    Column("rule", limit=60),
    Column("fired", right=True),
    Column("declared", right=True),
    Column("dismissed", right=True),
    Column("open", right=True),
    Column("near misses", right=True),
    Column("median triage", right=True),
    Column("suggestion"),
    Column("reasons", limit=120, fold=True),
    Column("why", limit=200, fold=True),
)
NEAR_MISS_COLUMNS = (
    Column("alert", right=True),
    Column("kind"),
    Column("rule", limit=60),
    Column("key", limit=60),
    Column("fired (UTC)"),
    Column("by", limit=40),
    Column("reason", limit=120, fold=True),
    Column("later", right=True),
    Column("incident", limit=80, fold=True),
    Column("delay", right=True),
)


def reasons_text(row: RuleCalibration) -> str:
    """The dismissal reasons, most given first: `3× known noisy window; 1× test traffic`."""
    return "; ".join(f"{r.count}× {r.reason}" for r in row.reasons)


def calibration_dict(row: RuleCalibration) -> dict[str, Any]:
    """One rule as `--json` prints it."""
    return {**row.model_dump(mode="json"), "precision": row.precision}


def near_miss_dict(miss: NearMiss) -> dict[str, Any]:
    """One near miss as `--json` prints it (the delay in seconds)."""
    return {**miss.model_dump(mode="json"), "delay": miss.delay.total_seconds()}


@click.command()
@json_option
@click.pass_context
def calibration(ctx: click.Context, as_json: bool) -> None:
    """Each rule: fired, declared, dismissed (with their reasons), near misses, median time
    to triage, and whether to tighten, loosen or keep it (start strict, loosen with
    evidence)."""
    rows = with_services(ctx, lambda svc: svc.calibration.calibration(), access="auto")
    if as_json:
        echo_json((calibration_dict(row) for row in rows), empty="no alerts yet")
        return
    show_rows(
        CALIBRATION_COLUMNS,
        (
            (
                row.rule,
                str(row.fired),
                str(row.declared),
                str(row.dismissed),
                str(row.open),
                str(row.near_misses),
                row.median_triage,
                row.suggestion,
                reasons_text(row),
                row.why,
            )
            for row in rows
        ),
        empty="no alerts yet",
    )


@click.command("near-misses")
@json_option
@click.pass_context
def near_misses(ctx: click.Context, as_json: bool) -> None:
    """Dismissed alerts whose rule and key fired again and were declared, and alerts
    attached late, each with who triaged it, the dismissal's reason and the incident."""
    rows = with_services(ctx, lambda svc: svc.calibration.near_misses(), access="auto")
    if as_json:
        echo_json((near_miss_dict(m) for m in rows), empty="no near misses")
        return
    show_rows(
        NEAR_MISS_COLUMNS,
        (
            (
                str(m.alert_id),
                m.kind,
                m.rule,
                m.key,
                f"{m.fired_at:%Y-%m-%d %H:%M:%S}",
                m.by or "",
                m.reason or "",
                f"#{m.later_alert_id}",
                f"#{m.incident_id} {m.incident_title or ''}".strip(),
                minutes(m.delay),
            )
            for m in rows
        ),
        empty="no near misses",
    )


def register_calibration_commands(group: click.Group) -> None:
    """Add `calibration` and `near-misses` to the `thirdbook` group."""
    for command in (calibration, near_misses):
        group.add_command(command)
