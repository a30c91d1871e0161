"""The report's review sections: the measured times, the findings by kind, the action items
with their type and the finding each answers, and what the runbook learnt (its diff against
the declared copy, its commits, its edits and the steps checked)."""

from __future__ import annotations

from thirdbook.domain.incidents import TimelineEntry
from thirdbook.domain.review import FINDING_KINDS
from thirdbook.domain.review_times import MOMENTS, measured
from thirdbook.services.report_data import ReportData
from thirdbook.services.report_markdown import (
    bullets,
    fenced,
    heading,
    md,
    table,
    when,
)


def _entry(entry: TimelineEntry) -> str:
    return f"{when(entry.at)}, {md(entry.actor.user)}: {md(entry.detail)}"


def measured_times(data: ReportData) -> list[str]:
    """Each moment the incident passed and the durations between them, computed."""
    lines = heading(2, "Measured times")
    if data.review is None:
        return [*lines, "No review read.", ""]
    times = data.review.times
    lines += table(
        ("Moment", "When"),
        (
            [label, "not yet" if times.moment(name) is None else when(times.moment(name))]
            for name, label in MOMENTS
        ),
    )
    return lines + table(
        ("Duration", "Measured"),
        ([label, "not yet" if d is None else measured(d)] for label, d in times.durations()),
    )


def findings(data: ReportData) -> list[str]:
    """The review's findings by kind, and the notes taken during the incident."""
    lines = heading(2, "Findings")
    found = [] if data.review is None else data.review.findings
    if not found:
        lines += ["No finding recorded yet.", ""]
    for kind, title in FINDING_KINDS.items():
        mine = [f for f in found if f.kind == kind]
        if mine:
            lines += heading(3, title)
            lines += bullets(
                f"{md(f.text)} (finding #{f.id}, {md(f.by)}, {when(f.at)})" for f in mine
            )
    notes = data.of_kind("note")
    if notes:
        lines += ["Notes on the timeline:", ""]
        lines += bullets(_entry(e) for e in notes)
    return lines


def action_items(data: ReportData) -> list[str]:
    """Every action item: one owner, a due date, its type and the finding it answers."""
    lines = heading(2, "Action items")
    if not data.action_items:
        return [*lines, "No action item.", ""]
    return lines + table(
        ("Item", "Type", "Answers", "Title", "Owner", "Due", "Status", "Resolution"),
        (
            [
                f"#{i.id}",
                i.kind or "-",
                "-" if i.finding_id is None else f"finding #{i.finding_id}",
                md(i.title),
                md(i.owner),
                i.due.isoformat(),
                i.status,
                md(i.resolution or "-"),
            ]
            for i in data.action_items
        ),
    )


def runbook_diffs(data: ReportData) -> list[str]:
    """What the runbook learnt: its diff against the copy kept at the declaration, the
    commits since where its folder is a git repository, the edits and the steps checked."""
    lines = heading(2, "Runbook changes")
    review = data.review
    diff = None if review is None else review.runbook
    if diff is None:
        lines += ["The incident follows no runbook.", ""]
    elif diff.declared_at is None:
        lines += ["No copy of the runbook was kept when the incident was declared.", ""]
    elif diff.diff:
        lines += [
            f"Runbook {md(diff.name)} against its copy from {when(diff.declared_at)}: "
            f"{diff.added} line(s) added, {diff.removed} removed.",
            "",
        ]
        lines += fenced(diff.diff, "diff")
    else:
        lines += [f"Runbook {md(diff.name)} is as it was when the incident was declared.", ""]
    if diff is not None and diff.commits:
        lines += ["Commits to the runbook since the declaration:", ""]
        lines += bullets(
            f"{md(c.sha)} {md(c.at)} {md(c.author)}: {md(c.subject)}" for c in diff.commits
        )
    if diff is not None and diff.git_note:
        lines += [md(diff.git_note), ""]
    edits = data.of_kind("runbook-edit")
    if edits:
        lines += ["Edits recorded on the timeline:", ""]
        lines += bullets(_entry(e) for e in edits)
    completion = None if review is None else review.completion
    if completion is not None and completion.no_edit_reason:
        lines += [f"No runbook edit was needed: {md(completion.no_edit_reason)}", ""]
    checks = data.of_kind("runbook")
    if checks:
        lines += ["Runbook steps checked:", ""]
        lines += bullets(_entry(e) for e in checks)
    if review is not None:
        lines += [
            (
                f"Review completed by {md(completion.by)} at {when(completion.at)}."
                if completion is not None
                else "The review is not completed yet."
            ),
            "",
        ]
    return lines
