"""The blameless review: the timeline in phases with its measured times, findings (each
nudged toward a mechanism when it names a person), the runbook's diff, and the completion
that needs a runbook edit or the reason none was needed."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from thirdbook.domain.errors import TriageRefusedError
from thirdbook.domain.incidents import ActionItem, Incident, TimelineEntry
from thirdbook.domain.recovery import DecisionState
from thirdbook.domain.review import FINDING_KINDS, Finding, ReviewCompletion, blame_nudge
from thirdbook.domain.review_times import MeasuredTimes, measure, phases
from thirdbook.services.acting import Acting
from thirdbook.services.runbook_diff import RunbookDiff, diff_lines, runbook_diff, sha256_text
from thirdbook.services.runbooks import RunbookLibrary
from thirdbook.store import Store

MOST_FINDING_CHARS = 2000


@dataclass(frozen=True)
class Review:
    """One incident's review as it stands."""

    incident: Incident
    times: MeasuredTimes
    phases: list[tuple[str, list[TimelineEntry]]]
    findings: list[Finding]
    action_items: list[ActionItem]
    runbook: RunbookDiff | None
    edits: list[TimelineEntry]
    completion: ReviewCompletion | None
    people: tuple[str, ...]
    """Everyone the incident names (timeline users, commander, roles, owners): a finding
    naming one of them is nudged."""

    @property
    def runbook_edited(self) -> bool:
        """Whether the runbook changed over the incident (diff, commits or edits)."""
        return bool(self.edits) or (self.runbook is not None and self.runbook.changed)

    def blockers(self, no_edit_reason: str | None = None) -> list[str]:
        """What stands between the review and its completion, each a sentence."""
        said = []
        if self.completion is not None:
            said.append(f"the review was already completed by {self.completion.by}")
        if not self.findings:
            said.append("a review records at least one finding (f)")
        if not self.runbook_edited and not (no_edit_reason or "").strip():
            said.append(
                "no runbook edit yet: edit the runbook (e), or give the reason none was needed"
            )
        return said


class ReviewService:
    """The review's reads and writes (each write as the OS user, audited)."""

    def __init__(
        self,
        store: Store,
        acting: Acting,
        runbooks: RunbookLibrary,
        decisions: Callable[[int], Awaitable[list[DecisionState]]],
    ) -> None:
        self.store = store
        self.acting = acting
        self.runbooks = runbooks
        self._decisions = decisions

    async def _incident(self, incident_id: int) -> Incident:
        incident = await self.store.incidents.get(incident_id)
        if incident is None:
            raise TriageRefusedError(f"there is no incident #{incident_id}")
        return incident

    async def review(self, incident_id: int) -> Review:
        """The review as it stands now, read from the store and the runbook files."""
        store = self.store
        incident = await self._incident(incident_id)
        timeline = await store.incidents.timeline(incident_id)
        first_signal, alerted = await store.reviews.detection(incident_id)
        times = measure(
            incident,
            first_signal=first_signal,
            alerted=alerted,
            snapshots=await store.snapshots.for_incident(incident_id),
            containment=await store.containment.states(incident_id),
            decisions=await self._decisions(incident_id),
        )
        items = await store.action_items.listed(incident_id=incident_id, limit=1000)
        diff = None
        if incident.runbook is not None:
            copy = await store.reviews.runbook_copy(incident_id)
            diff = await asyncio.to_thread(self._diff, incident.runbook, copy)
        return Review(
            incident=incident,
            times=times,
            phases=phases(timeline, times),
            findings=await store.reviews.findings(incident_id),
            action_items=items,
            runbook=diff,
            edits=[e for e in timeline if e.kind == "runbook-edit"],
            completion=await store.reviews.completion(incident_id),
            people=await self._people(incident, timeline, items),
        )

    async def _people(
        self, incident: Incident, timeline: list[TimelineEntry], items: list[ActionItem]
    ) -> tuple[str, ...]:
        """Everyone the incident names: its commander, timeline users, role holders, owners."""
        roles = await self.store.roles.roles(incident.id)
        people = {incident.commander, *(e.actor.user for e in timeline)}
        people |= {h.user for h in roles.values()} | {i.owner for i in items}
        return tuple(sorted(p for p in people if p))

    def _diff(self, name: str, copy: tuple[str, str, str, datetime] | None) -> RunbookDiff:
        """The runbook's diff (files and git: off the event loop)."""
        self.runbooks.reload()
        return runbook_diff(name, self.runbooks.text_of(name), copy)

    async def nudge(self, incident_id: int, text: str) -> str | None:
        """The advice a finding with this text would get (None: it names a mechanism)."""
        store = self.store
        people = await self._people(
            await self._incident(incident_id),
            await store.incidents.timeline(incident_id),
            await store.action_items.listed(incident_id=incident_id, limit=1000),
        )
        return blame_nudge(text, people)

    async def add_finding(self, incident_id: int, kind: str, text: str) -> Finding:
        """Record a finding; one that names a person is kept, with the nudge beside it."""
        text = text.strip()
        detail = {"kind": kind, "length": len(text)}
        async with self.acting.act("finding", detail, incident_id) as actor:
            if kind not in FINDING_KINDS:
                raise TriageRefusedError(
                    f"a finding's kind is one of {', '.join(FINDING_KINDS)}, not {kind!r}"
                )
            if not text:
                raise TriageRefusedError("a finding needs its text")
            if len(text) > MOST_FINDING_CHARS:
                raise TriageRefusedError(
                    f"a finding is at most {MOST_FINDING_CHARS} characters ({len(text)} given)"
                )
            nudge = await self.nudge(incident_id, text)
            return await self.store.reviews.add_finding(
                incident_id, kind=kind, text=text, nudge=nudge, actor=actor
            )

    async def complete(self, incident_id: int, no_edit_reason: str | None = None) -> Review:
        """Complete the review: refused without a finding, or without a runbook edit and no
        reason why none was needed."""
        reason = (no_edit_reason or "").strip() or None
        async with self.acting.act("review", {"no_edit_reason": reason}, incident_id) as actor:
            review = await self.review(incident_id)
            blockers = review.blockers(reason)
            if blockers:
                raise TriageRefusedError("cannot complete the review: " + "; ".join(blockers))
            if review.runbook_edited:
                reason = None  # the edit speaks for itself
            summary = (
                f"review completed: {len(review.findings)} finding(s), "
                f"{len(review.action_items)} action item(s), "
                + (
                    f"no runbook edit ({reason})"
                    if reason
                    else f"runbook edited ({_edit_summary(review)})"
                )
            )
            await self.store.reviews.complete(
                incident_id, no_edit_reason=reason, summary=summary, actor=actor
            )
        return await self.review(incident_id)

    async def runbook_edited(self, incident_id: int) -> str | None:
        """After the runbook file was edited: put the edit on the timeline (what it changed
        against the declared copy, and the new version's hash); None if it is unchanged
        since the last edit recorded (or there is no runbook)."""
        incident = await self._incident(incident_id)
        if incident.runbook is None:
            return None
        self.runbooks.reload()
        now = self.runbooks.text_of(incident.runbook)
        if now is None:
            return None
        digest = sha256_text(now[1])[:12]
        timeline = await self.store.incidents.timeline(incident_id)
        last = next((e for e in reversed(timeline) if e.kind == "runbook-edit"), None)
        declared = await self.store.reviews.runbook_copy(incident_id)
        if (last is not None and digest in last.detail) or (
            last is None and declared is not None and sha256_text(declared[2])[:12] == digest
        ):
            return None
        if declared is None:  # nothing to measure the change against
            detail = (
                f"runbook {incident.runbook} saved (no copy was kept at the declaration to "
                f"compare with), now sha256 {digest}"
            )
        else:
            _, added, removed = diff_lines(declared[2], now[1], incident.runbook)
            detail = (
                f"runbook {incident.runbook} edited: +{added} -{removed} lines against the "
                f"declared copy, now sha256 {digest}"
            )
        async with self.acting.act("runbook-edit", {"sha256": digest}, incident_id) as actor:
            await self.store.reviews.record_runbook_edit(incident_id, detail, actor)
        return detail


def _edit_summary(review: Review) -> str:
    diff = review.runbook
    if diff is None or not diff.changed:
        return f"{len(review.edits)} edit(s) on the timeline"
    commits = f", {len(diff.commits)} commit(s)" if diff.commits else ""
    return f"+{diff.added} -{diff.removed} lines{commits}"
