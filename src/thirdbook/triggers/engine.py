"""Incremental trigger evaluation: each event is looked at once, as it is ingested.

The engine keeps only the state its rules need (recent metric windows per model version,
recent report times per target and category) and never rescans the store. Events may arrive
late and out of order: windows and reports are kept in time order, and a firing is judged on
the ordered sequence.
"""

from __future__ import annotations

import bisect
import fnmatch
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from thirdbook.domain.alerts import Firing
from thirdbook.domain.events import (
    AgentActionEvent,
    Event,
    FeedbackEvent,
    InferenceEvent,
    InquiryEvent,
    MetricEvent,
    missing_on_tape,
)
from thirdbook.domain.recovery import BandOverride, effective_rule
from thirdbook.domain.rules import AgentLane, DriftRule, FeedbackRule, TriggerSettings


@dataclass
class _Windows:
    """One model version's recent windows of one metric: (window end, outside?, event id)."""

    ends: list[datetime] = field(default_factory=list)
    outside: list[bool] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)


@dataclass
class _Reports:
    """Recent report times against one target in one category, in time order."""

    times: list[datetime] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)


class TriggerEngine:
    """Feeds events through the rules; returns what fired."""

    def __init__(self, settings: TriggerSettings, history: int = 200) -> None:
        self.settings = settings
        self.history = history
        self._windows: dict[tuple[str, str, str], _Windows] = {}
        self._reports: dict[tuple[str, str, str], _Reports] = {}
        self._lanes = {lane.agent: lane for lane in settings.lanes}
        self.overrides: list[BandOverride] = []
        """Tighter bands from restore decisions: a window ending while one is in force is
        judged against it (see `domain.recovery.effective_rule`)."""

    def observe(self, event: Event, event_id: int) -> list[Firing]:
        """The firings this event causes (an inquiry is judged by `judge_inquiry`)."""
        if isinstance(event, MetricEvent):
            return [
                f
                for rule in self.settings.drift
                if (f := self._drift(rule, event, event_id)) is not None
            ]
        if isinstance(event, FeedbackEvent):
            return [
                f
                for rule in self.settings.feedback
                if (f := self._feedback(rule, event, event_id)) is not None
            ]
        if isinstance(event, AgentActionEvent):
            lane = self._lanes.get(event.agent)
            firing = None if lane is None else _outside_lane(lane, event, event_id)
            return [] if firing is None else [firing]
        return []

    # -- drift ---------------------------------------------------------------------------

    def _drift(self, rule: DriftRule, event: MetricEvent, event_id: int) -> Firing | None:
        model = event.model
        if model.name != rule.model or event.metric != rule.metric:
            return None
        if rule.version is not None and model.version != rule.version:
            return None
        windows = self._windows.setdefault((rule.name, model.version, event.metric), _Windows())
        end = event.window_end or event.ts
        rule = effective_rule(rule, self.overrides, end)
        at = bisect.bisect_right(windows.ends, end)
        windows.ends.insert(at, end)
        windows.outside.insert(at, rule.outside(event.value))
        windows.ids.insert(at, event_id)
        if len(windows.ends) > self.history:
            del windows.ends[0], windows.outside[0], windows.ids[0]
            at -= 1
        if at < 0 or not windows.outside[at]:
            return None  # in band, or older than every window kept
        # The run of out-of-band windows (in window order) that contains this one.
        first = at
        while first > 0 and windows.outside[first - 1]:
            first -= 1
        last = at
        while last + 1 < len(windows.outside) and windows.outside[last + 1]:
            last += 1
        run = last - first + 1
        if run < rule.consecutive:
            return None
        band = _band(rule)
        return Firing(
            rule=rule.name,
            kind="drift",
            key=f"{model.name} {model.version}",
            event_ids=tuple(windows.ids[first : last + 1]),
            at=windows.ends[last],
            summary=f"{model.name} {model.version} {event.metric} outside {band} for {run} "
            f"consecutive windows (latest {event.value:g})",
        )

    # -- feedback ------------------------------------------------------------------------

    def _feedback(self, rule: FeedbackRule, event: FeedbackEvent, event_id: int) -> Firing | None:
        if rule.category is not None and event.category != rule.category:
            return None
        if rule.target is not None and event.target != rule.target:
            return None
        reports = self._reports.setdefault((rule.name, event.target, event.category), _Reports())
        at = bisect.bisect_right(reports.times, event.ts)
        reports.times.insert(at, event.ts)
        reports.ids.insert(at, event_id)
        if len(reports.times) > max(self.history, rule.count * 4):
            del reports.times[0], reports.ids[0]
            at -= 1
        if at < 0:
            return None
        # Any window of length W holding this report and at least `count` reports in all.
        # Windows are closed: reports exactly W apart are within one window.
        lo = bisect.bisect_left(reports.times, _shifted(event.ts, -rule.window_s))
        for start in range(lo, at + 1):
            stop = bisect.bisect_right(reports.times, _shifted(reports.times[start], rule.window_s))
            if stop - start >= rule.count:
                ids = tuple(reports.ids[start:stop])
                return Firing(
                    rule=rule.name,
                    kind="feedback",
                    key=f"{event.target} {event.category}",
                    event_ids=ids,
                    at=reports.times[stop - 1],
                    summary=f"{len(ids)} {event.category} reports against {event.target} "
                    f"within {rule.window_s:g} s (threshold {rule.count})",
                )
        return None

    # -- unexplainable decisions ---------------------------------------------------------

    def judge_inquiry(
        self,
        inquiry: InquiryEvent,
        inquiry_id: int,
        decision: InferenceEvent | None,
        decision_id: int | None,
    ) -> Firing | None:
        """An inquiry fires when its decision cannot be found or misses anything on tape."""
        if not self.settings.unexplainable:
            return None
        about = inquiry.request_id or inquiry.subject or "(no request id or subject)"
        ids = (inquiry_id,) if decision_id is None else (inquiry_id, decision_id)
        if decision is None:
            summary = (
                f"{inquiry.source} inquiry {inquiry.inquiry_id}: no decision record for {about}"
            )
        else:
            missing = missing_on_tape(decision)
            if not missing:
                return None
            summary = (
                f"{inquiry.source} inquiry {inquiry.inquiry_id}: the record of {about} "
                f"lacks the {', '.join(missing)}"
            )
        return Firing(
            rule="unexplainable decision",
            kind="unexplainable",
            key=about,
            event_ids=ids,
            at=inquiry.ts,
            summary=summary,
        )


def _outside_lane(lane: AgentLane, event: AgentActionEvent, event_id: int) -> Firing | None:
    why = []
    if event.tool not in lane.tools:
        why.append(f"tool {event.tool} is not in its lane")
    if lane.targets is not None and not any(
        fnmatch.fnmatchcase(event.target or "", pattern) for pattern in lane.targets
    ):
        why.append(f"target {event.target or '(none)'} is not in its lane")
    if lane.max_amount is not None and event.amount is not None and event.amount > lane.max_amount:
        currency = f" {event.currency}" if event.currency else ""
        why.append(f"amount {event.amount:g}{currency} is over its limit of {lane.max_amount:g}")
    if not why:
        return None
    return Firing(
        rule=f"{lane.agent} lane",
        kind="agent_lane",
        key=lane.agent,
        event_ids=(event_id,),
        at=event.ts,
        summary=f"{lane.agent} acted outside its lane: {'; '.join(why)}",
    )


def _shifted(at: datetime, seconds: float) -> datetime:
    """`at` moved by `seconds`, stopping at the ends of time rather than overflowing (a
    report near year 9999, or a window of ages)."""
    try:
        return at + timedelta(seconds=seconds)
    except OverflowError:
        return datetime.max.replace(tzinfo=UTC) if seconds > 0 else datetime.min.replace(tzinfo=UTC)


def _band(rule: DriftRule) -> str:
    low = "-inf" if rule.low is None else f"{rule.low:g}"
    high = "+inf" if rule.high is None else f"{rule.high:g}"
    return f"[{low}, {high}]"
