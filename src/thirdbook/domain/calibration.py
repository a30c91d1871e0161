"""Across incidents: the near-miss register and each rule's calibration, computed from the
facts of every alert (what fired, how it was triaged, by whom, into which incident).

Pure functions over `AlertFact`s: a scripted sequence of firings and dismissals gives known
figures. The seed's spirit is "start strict, loosen with evidence": a rule loosens only on
many dismissals for one reason and no near miss; any near miss tightens it.
"""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict

from thirdbook.domain.alerts import AlertStatus

LATE_ATTACH_AFTER = timedelta(minutes=15)
"""An alert attached to an incident more than this long after its own first firing was
attached late: it waited untriaged for longer than a usual on-call acknowledgement target
while the incident it belonged to went on without it."""

NEAR_MISS_HORIZON = timedelta(days=30)
"""A dismissed alert is a near miss when its rule and key fire again within this long of the
dismissal and that later alert is declared (or attached); a refiring months later is a new
problem, not the dismissed one coming back."""

LOOSEN_MIN_SAME_REASON = 5
"""A rule may loosen only when at least this many of its alerts were dismissed for one and
the same reason (the evidence the seed asks for before loosening)."""

LOOSEN_MIN_SHARE = 0.5
"""... and those dismissals are at least this share of the rule's triaged alerts (a rule
that is mostly right stays strict even if one kind of noise recurs)."""

Suggestion = Literal["tighten", "loosen", "keep"]
NearMissKind = Literal["dismissed-then-declared", "attached-late"]


class AlertFact(BaseModel):
    """What the register and calibration need to know about one alert."""

    model_config = ConfigDict(frozen=True)

    id: int
    rule: str
    key: str
    status: AlertStatus
    fired_at: datetime
    triaged_at: datetime | None = None
    triaged_by: str | None = None
    reason: str | None = None
    incident_id: int | None = None
    incident_title: str | None = None
    incident_declared_at: datetime | None = None

    @property
    def triage_time(self) -> timedelta | None:
        """From its first firing to its declaration, attachment or dismissal."""
        if self.status == "open" or self.triaged_at is None:
            return None
        return max(self.triaged_at - self.fired_at, timedelta(0))


class NearMiss(BaseModel):
    """A signal the responders had and did not act on in time."""

    model_config = ConfigDict(frozen=True)

    kind: NearMissKind
    rule: str
    key: str
    alert_id: int
    fired_at: datetime
    triaged_at: datetime | None
    by: str | None
    reason: str | None
    """The dismissal's reason (None for a late attachment)."""
    later_alert_id: int
    """The alert that was declared (for a late attachment, the alert itself)."""
    incident_id: int
    incident_title: str | None
    incident_declared_at: datetime | None
    delay: timedelta
    """Dismissal to the later firing, or first firing to the late attachment."""

    def describe(self) -> str:
        """One sentence: what was missed and what it became."""
        if self.kind == "attached-late":
            return (
                f"alert #{self.alert_id} waited {minutes(self.delay)} before {self.by or '?'} "
                f"attached it to incident #{self.incident_id}"
            )
        return (
            f"alert #{self.alert_id} dismissed by {self.by or '?'} as {self.reason!r}; "
            f"{minutes(self.delay)} later #{self.later_alert_id} fired and became incident "
            f"#{self.incident_id}"
        )


class ReasonCount(BaseModel):
    """A dismissal reason and how many of a rule's alerts were dismissed for it."""

    model_config = ConfigDict(frozen=True)

    reason: str
    count: int


class RuleCalibration(BaseModel):
    """One rule's record across incidents, and what to do about its threshold."""

    model_config = ConfigDict(frozen=True)

    rule: str
    fired: int
    declared: int
    """Declared or attached."""
    dismissed: int
    open: int
    reasons: tuple[ReasonCount, ...]
    near_misses: int
    median_triage_s: float | None
    suggestion: Suggestion
    why: str

    @property
    def median_triage(self) -> str:
        """The median time to triage as people say it, or "-" before any triage."""
        s = self.median_triage_s
        return "-" if s is None else minutes(timedelta(seconds=s))

    @property
    def precision(self) -> float | None:
        """Declared over triaged; None while nothing is triaged (open is not a miss)."""
        triaged = self.declared + self.dismissed
        return None if triaged == 0 else self.declared / triaged


def minutes(delay: timedelta) -> str:
    """A delay as people say it: 42 s, 17 min, 1 h 20 min, 2 d 3 h."""
    s = int(delay.total_seconds())
    if s < 60:
        return f"{s} s"
    hours, mins = divmod(s // 60, 60)
    if hours == 0:
        return f"{mins} min"
    if hours < 24:
        return f"{hours} h {mins} min" if mins else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def _reason_key(reason: str) -> str:
    return " ".join(reason.split()).casefold()


def near_misses(facts: list[AlertFact]) -> list[NearMiss]:
    """Dismissed alerts whose rule and key fired again within the horizon and were declared
    (or attached), and alerts attached late; oldest miss first. One pass per rule and key,
    newest first, carrying the next declared alert (linear in the number of alerts)."""
    found: list[NearMiss] = []
    by_key: dict[tuple[str, str], list[AlertFact]] = {}
    for fact in sorted(facts, key=lambda f: f.id):
        by_key.setdefault((fact.rule, fact.key), []).append(fact)
    for group in by_key.values():
        declared: AlertFact | None = None  # the first declared alert after this one
        for fact in reversed(group):
            if fact.status == "dismissed" and fact.triaged_at is not None and declared:
                delay = max(declared.fired_at - fact.triaged_at, timedelta(0))
                if delay <= NEAR_MISS_HORIZON:
                    found.append(_miss(fact, declared, delay))
            wait = fact.triage_time
            if fact.status == "attached" and wait is not None and wait > LATE_ATTACH_AFTER:
                found.append(_miss(fact, fact, wait))
            if fact.status in ("declared", "attached") and fact.incident_id is not None:
                declared = fact
    return sorted(found, key=lambda m: (m.fired_at, m.alert_id))


def _miss(fact: AlertFact, later: AlertFact, delay: timedelta) -> NearMiss:
    assert later.incident_id is not None
    return NearMiss(
        kind="attached-late" if fact is later else "dismissed-then-declared",
        rule=fact.rule,
        key=fact.key,
        alert_id=fact.id,
        fired_at=fact.fired_at,
        triaged_at=fact.triaged_at,
        by=fact.triaged_by,
        reason=fact.reason if fact is not later else None,
        later_alert_id=later.id,
        incident_id=later.incident_id,
        incident_title=later.incident_title,
        incident_declared_at=later.incident_declared_at,
        delay=delay,
    )


def calibration(
    facts: list[AlertFact], misses: list[NearMiss] | None = None
) -> list[RuleCalibration]:
    """Each rule's figures and suggestion, by rule name (`misses`: the register of the same
    facts, when already computed)."""
    found = near_misses(facts) if misses is None else misses
    by_rule: dict[str, list[AlertFact]] = {}
    for fact in facts:
        by_rule.setdefault(fact.rule, []).append(fact)
    return [
        _calibrate(rule, by_rule[rule], [m for m in found if m.rule == rule])
        for rule in sorted(by_rule)
    ]


def _calibrate(rule: str, facts: list[AlertFact], misses: list[NearMiss]) -> RuleCalibration:
    dismissed = [f for f in facts if f.status == "dismissed"]
    declared = sum(f.status in ("declared", "attached") for f in facts)
    spelled: dict[str, str] = {}
    counts: Counter[str] = Counter()
    for f in sorted(dismissed, key=lambda f: f.id):
        key = _reason_key(f.reason or "")
        spelled.setdefault(key, " ".join((f.reason or "").split()) or "(no reason)")
        counts[key] += 1
    reasons = tuple(
        ReasonCount(reason=spelled[k], count=c)
        for k, c in sorted(counts.items(), key=lambda kc: (-kc[1], spelled[kc[0]]))
    )
    waits = [t.total_seconds() for f in facts if (t := f.triage_time) is not None]
    open_count = sum(f.status == "open" for f in facts)
    suggestion, why = _suggest(declared + len(dismissed), open_count, reasons, misses)
    return RuleCalibration(
        rule=rule,
        fired=len(facts),
        declared=declared,
        dismissed=len(dismissed),
        open=open_count,
        reasons=reasons,
        near_misses=len(misses),
        median_triage_s=statistics.median(waits) if waits else None,
        suggestion=suggestion,
        why=why,
    )


def _suggest(
    triaged: int, open_count: int, reasons: tuple[ReasonCount, ...], misses: list[NearMiss]
) -> tuple[Suggestion, str]:
    if misses:
        plural = "es" if len(misses) > 1 else ""
        return "tighten", f"{len(misses)} near miss{plural}: {misses[0].describe()}"
    if triaged == 0:
        return "keep", f"{open_count} open, untriaged: no evidence yet (start strict)"
    top = reasons[0] if reasons else None
    if top and top.count >= LOOSEN_MIN_SAME_REASON and top.count / triaged >= LOOSEN_MIN_SHARE:
        return "loosen", (
            f"{top.count} of {triaged} triaged alerts dismissed as {top.reason!r} and no near "
            "miss: loosen it for that case"
        )
    return "keep", "no near miss, and not enough dismissals for one reason to loosen"


def precision_label(declared: int, dismissed: int, open_count: int) -> str:
    """Precision as the console and the CLI show it: open alerts are not misses, so a rule
    with nothing triaged says how many are still open instead of "0 %"."""
    triaged = declared + dismissed
    if triaged == 0:
        return f"{open_count} open, untriaged" if open_count else "-"
    share = f"{declared / triaged:.0%}"
    return f"{share}; {open_count} open, untriaged" if open_count else share
