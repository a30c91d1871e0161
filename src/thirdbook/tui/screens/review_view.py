"""What the Review screen shows, as one Rich `Text`: times, phases, findings, action items,
the runbook's diff and what stands before completion (untrusted text made visible, markup
inert)."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text

from thirdbook.domain.review import FINDING_KINDS
from thirdbook.domain.review_times import MOMENTS, measured
from thirdbook.domain.text import visible
from thirdbook.services.review import Review

MOST_DIFF_LINES_SHOWN = 60


def _when(value: datetime | None) -> str:
    return "-" if value is None else f"{value.astimezone():%Y-%m-%d %H:%M:%S}"


def _section(body: Text, title: str) -> None:
    body.append(f"\n{title}\n", style="bold underline")


def review_text(review: Review, now: datetime) -> Text:
    """The review as the screen shows it, read top to bottom."""
    body = Text()
    times = review.times
    _section(body, "Measured times (computed from the store)")
    for label, d in times.durations():
        body.append(f"  {label:<16}", style="bold")
        body.append(f" {'not yet' if d is None else measured(d)}\n")
    for name, label in MOMENTS:
        body.append(f"  {label:<22} {_when(times.moment(name))}\n")
    _section(body, "Phases")
    body.append(
        "  "
        + " · ".join(f"{name} {len(entries)}" for name, entries in review.phases)
        + " (timeline entries)\n"
    )
    _findings(body, review)
    _section(body, "Action items")
    if not review.action_items:
        body.append("  none: press a to add one answering a finding\n", style="dim")
    for i in review.action_items:
        answers = "" if i.finding_id is None else f" → finding #{i.finding_id}"
        late = i.status == "open" and i.due < now.date()
        body.append(f"  #{i.id} {i.kind or '-'}{answers}: ")
        body.append(visible(i.title, 120))
        body.append(f" ({visible(i.owner, 40)}, due {i.due}, {i.status})")
        body.append(" OVERDUE" if late else "", style="bold")
        body.append("\n")
    _runbook(body, review)
    _section(body, "Completion")
    if review.completion is not None:
        done = review.completion
        body.append(f"  Completed by {visible(done.by, 40)} at {_when(done.at)}")
        if done.no_edit_reason:
            body.append(f"; no runbook edit: {visible(done.no_edit_reason, 300)}")
        body.append("\n")
    else:
        blockers = review.blockers()
        for b in blockers:
            body.append(f"  ✗ {b}\n")
        if not blockers:
            body.append("  Ready: press c to complete, m to write the report\n", style="bold")
    return body


def _findings(body: Text, review: Review) -> None:
    _section(body, "Findings")
    if not review.findings:
        body.append("  none yet: press f (name the mechanism, not the person)\n", style="dim")
    for kind, title in FINDING_KINDS.items():
        for f in (f for f in review.findings if f.kind == kind):
            body.append(f"  #{f.id} {title}: ", style="bold")
            body.append(visible(f.text, 400))
            body.append(f" ({visible(f.by, 40)})\n")
            if f.nudge:
                body.append(f"      advice: {visible(f.nudge, 600)}\n", style="italic")


def _runbook(body: Text, review: Review) -> None:
    diff = review.runbook
    _section(body, "Runbook")
    if diff is None:
        body.append("  the incident follows no runbook\n")
        return
    if diff.declared_at is None:
        body.append(f"  {visible(diff.name, 80)}: no copy was kept at the declaration\n")
    elif not diff.diff:
        body.append(
            f"  {visible(diff.name, 80)} is as it was at the declaration: press e to edit it\n"
        )
    else:
        body.append(
            f"  {visible(diff.name, 80)}: +{diff.added} -{diff.removed} lines against its "
            f"copy from {_when(diff.declared_at)}\n"
        )
        for line in diff.diff[:MOST_DIFF_LINES_SHOWN]:
            style = "green" if line.startswith("+") else "red" if line.startswith("-") else ""
            body.append(f"  {visible(line, 200)}\n", style=style)
        if len(diff.diff) > MOST_DIFF_LINES_SHOWN:
            body.append(f"  … {len(diff.diff) - MOST_DIFF_LINES_SHOWN} more lines\n")
    for c in diff.commits:
        body.append(f"  commit {visible(c.sha, 12)} {visible(c.subject, 120)}\n")
    if diff.git_note:
        body.append(f"  ({visible(diff.git_note, 200)})\n", style="dim")
    for e in review.edits:
        body.append(f"  edit: {visible(e.detail, 200)} ({visible(e.actor.user, 40)})\n")
