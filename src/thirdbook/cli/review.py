"""The blameless review from the command line: read it (measured times, phases, findings,
action items, the runbook's diff, what stands before completion), add a finding (with the
nudge when it names a person), and complete it."""

from __future__ import annotations

import dataclasses
from typing import Any

import click

from thirdbook.cli.common import with_services
from thirdbook.cli.listing import echo_json, json_option
from thirdbook.domain.review import FINDING_KINDS
from thirdbook.domain.review_times import MOMENTS, measured
from thirdbook.domain.secrets import mask_secrets
from thirdbook.domain.text import visible
from thirdbook.services.review import Review


def _when(value: Any) -> str:
    return "-" if value is None else f"{value:%Y-%m-%d %H:%M:%S} UTC"


def review_lines(review: Review, reason: str | None = None) -> list[str]:
    """The review as a person reads it at a terminal (untrusted text made visible)."""
    incident = review.incident
    lines = [
        f"Review of incident #{incident.id}: {visible(incident.title)} "
        f"({incident.severity}, commander {visible(incident.commander)})",
        "",
        "Measured times",
    ]
    times = review.times
    lines += [f"  {label:<22} {_when(times.moment(name))}" for name, label in MOMENTS]
    lines += [
        f"  {label:<22} {'not yet' if d is None else measured(d)}" for label, d in times.durations()
    ]
    lines += ["", "Phases"]
    lines += [f"  {name:<12} {len(entries)} timeline entries" for name, entries in review.phases]
    lines += ["", "Findings"]
    if not review.findings:
        lines.append("  none yet (thirdbook finding INCIDENT TEXT --kind KIND)")
    for f in review.findings:
        lines.append(f"  #{f.id} [{FINDING_KINDS[f.kind]}] {visible(f.text)}  ({visible(f.by)})")
        if f.nudge:
            lines.append(f"      advice: {visible(f.nudge)}")
    lines += ["", "Action items"]
    if not review.action_items:
        lines.append("  none")
    for i in review.action_items:
        answers = "" if i.finding_id is None else f", answers finding #{i.finding_id}"
        lines.append(
            f"  #{i.id} {i.kind or '-'}{answers}: {visible(i.title)} "
            f"({visible(i.owner)}, due {i.due}, {i.status})"
        )
    lines += ["", *_runbook_lines(review), ""]
    if review.completion is not None:
        done = review.completion
        why = f" (no runbook edit: {visible(done.no_edit_reason)})" if done.no_edit_reason else ""
        lines.append(f"Completed by {visible(done.by)} at {_when(done.at)}{why}")
    else:
        blockers = review.blockers(reason)
        lines.append(
            "Not completed: " + "; ".join(blockers)
            if blockers
            else "Ready to complete (thirdbook review INCIDENT --complete)"
        )
    return lines


def _runbook_lines(review: Review) -> list[str]:
    diff = review.runbook
    if diff is None:
        return ["Runbook: the incident follows none"]
    if diff.declared_at is None:
        return [f"Runbook {visible(diff.name)}: no copy was kept when the incident was declared"]
    head = (
        f"Runbook {visible(diff.name)}: +{diff.added} -{diff.removed} lines against its copy from "
        f"{_when(diff.declared_at)}"
    )
    lines = [head, *(f"  {visible(line)}" for line in diff.diff)]
    lines += [f"  commit {c.sha} {visible(c.subject)}" for c in diff.commits]
    if diff.git_note:
        lines.append(f"  ({visible(diff.git_note)})")
    lines += [f"  edit: {visible(e.detail)}" for e in review.edits]
    return lines


def review_dict(review: Review) -> dict[str, Any]:
    """The review as JSON (secrets masked in free text)."""
    times = review.times
    diff = review.runbook
    return {
        "incident_id": review.incident.id,
        "times": {name: _iso(times.moment(name)) for name, _ in MOMENTS},
        "durations_s": {
            label: None if d is None else d.total_seconds() for label, d in times.durations()
        },
        "phases": {name: len(entries) for name, entries in review.phases},
        "findings": [
            {**f.model_dump(mode="json"), "text": mask_secrets(f.text)} for f in review.findings
        ],
        "action_items": [
            {**i.model_dump(mode="json"), "title": mask_secrets(i.title)}
            for i in review.action_items
        ],
        "runbook": None
        if diff is None
        else {
            "name": diff.name,
            "declared_at": _iso(diff.declared_at),
            "added": diff.added,
            "removed": diff.removed,
            "diff": [mask_secrets(line) for line in diff.diff],
            "commits": [dataclasses.asdict(c) for c in diff.commits],
            "edits": [e.detail for e in review.edits],
        },
        "completion": None
        if review.completion is None
        else review.completion.model_dump(mode="json"),
        "blockers": [] if review.completion is not None else review.blockers(),
    }


def _iso(value: Any) -> str | None:
    return None if value is None else str(value.isoformat())


@click.command()
@click.argument("incident_id", type=int)
@click.option("--complete", is_flag=True, help="Complete the review (refused, saying why).")
@click.option(
    "--no-edit-reason",
    default=None,
    metavar="REASON",
    help="With --complete: why the runbook needed no edit.",
)
@json_option
@click.pass_context
def review(
    ctx: click.Context,
    incident_id: int,
    complete: bool,
    no_edit_reason: str | None,
    as_json: bool,
) -> None:
    """An incident's blameless review: its measured times, phases, findings, action items and
    runbook diff; --complete completes it (at least one finding, and a runbook edit or
    --no-edit-reason)."""
    if complete:
        got = with_services(ctx, lambda svc: svc.review.complete(incident_id, no_edit_reason))
    else:
        got = with_services(ctx, lambda svc: svc.review.review(incident_id), access="auto")
    if as_json:
        echo_json([review_dict(got)])
        return
    for line in review_lines(got, no_edit_reason):
        click.echo(line)


@click.command()
@click.argument("incident_id", type=int)
@click.argument("text")
@click.option(
    "--kind",
    type=click.Choice(tuple(FINDING_KINDS)),
    default="finding",
    show_default=True,
    help="finding, factor (contributing), went-well, went-wrong or lucky.",
)
@click.pass_context
def finding(ctx: click.Context, incident_id: int, text: str, kind: str) -> None:
    """Record a finding of the review. One that names a person is kept, with advice to name
    the mechanism instead."""
    got = with_services(ctx, lambda svc: svc.review.add_finding(incident_id, kind, text))
    click.echo(f"finding #{got.id} ({FINDING_KINDS[got.kind]}) recorded")
    if got.nudge:
        click.echo(f"advice: {visible(got.nudge)}", err=True)


def register_review_commands(group: click.Group) -> None:
    """Add the review commands to the `thirdbook` group."""
    for command in (review, finding):
        group.add_command(command)
