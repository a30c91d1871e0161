"""Recovery decisions: restore with conditions, retrain behind the quarantine, or retire.

A decision is a record that becomes configuration: a restore's flag rules (see
`flag_targeting`) and its tighter monitoring band (`BandOverride`, which the trigger engine
applies from the decision until its expiry); a retrain's plan, refused until the quarantine
audit is signed off; a retirement's replacement, kill switch and communication note.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from thirdbook.domain.rules import DriftRule

DecisionKind = Literal["restore", "retrain", "retire"]
DECISION_KINDS: tuple[str, ...] = ("restore", "retrain", "retire")
Replacement = Literal["human", "rules", "model"]
REPLACEMENT_ROUTE = {"human": "human", "rules": "fallback", "model": "fallback"}
"""Where a retired model's traffic goes: to people, or to the fallback path that the rules
engine or the other model serves."""

DEFAULT_BAND_EXPIRY = timedelta(days=7)
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class BandOverride(BaseModel):
    """A tighter band for one drift rule, from `since` until `until` (event time)."""

    model_config = ConfigDict(frozen=True)

    rule: str
    low: float | None
    high: float | None
    since: AwareDatetime
    until: AwareDatetime
    decision_id: int | None = None
    incident_id: int | None = None

    def active(self, at: datetime) -> bool:
        """Whether it applies to a window ending at `at`."""
        return self.since <= at < self.until

    def applied(self, rule: DriftRule) -> DriftRule:
        """`rule` with this band."""
        return rule.model_copy(update={"low": self.low, "high": self.high})

    @property
    def band(self) -> str:
        """The band as `[low, high]`."""
        low = "-inf" if self.low is None else f"{self.low:g}"
        high = "+inf" if self.high is None else f"{self.high:g}"
        return f"[{low}, {high}]"


class RecoveryDecision(BaseModel):
    """A recovery decision as recorded, with what it wrote (`detail`)."""

    model_config = ConfigDict(frozen=True)

    id: int
    incident_id: int
    kind: DecisionKind
    at: datetime
    by: str
    summary: str
    detail: dict[str, Any] = Field(default_factory=dict)
    override: str | None = None


class DecisionState(BaseModel):
    """A decision and its state now: written (when), observed in the serving logs (when,
    for a restore's flag rules), its band overrides and their expiry."""

    model_config = ConfigDict(frozen=True)

    decision: RecoveryDecision
    written: datetime | None = None
    observed: datetime | None = None
    bands: tuple[BandOverride, ...] = ()

    def state(self, now: datetime) -> str:
        """One line: written / observed / expiry."""
        said = []
        if self.written is not None:
            said.append(f"written {self.written.astimezone():%H:%M:%S}")
            said.append(
                "not yet observed in the serving logs"
                if self.observed is None
                else f"observed {self.observed.astimezone():%H:%M:%S}"
            )
        for band in self.bands:
            verb = "expires" if band.until > now else "expired"
            said.append(
                f"band {band.rule} {band.band} {verb} {band.until.astimezone():%m-%d %H:%M}"
            )
        return " · ".join(said) or "recorded"


class QuarantineSignOff(BaseModel):
    """The quarantine audit of an incident, signed off: who, when, why."""

    model_config = ConfigDict(frozen=True)

    incident_id: int
    by: str
    at: datetime
    reason: str


def parse_band(text: str) -> tuple[float | None, float | None]:
    """`LOW..HIGH`, either side may be empty (`0.9..`, `..0.2`); ValueError says why."""
    low_text, sep, high_text = text.partition("..")
    if not sep:
        raise ValueError(f"{text!r} is not a band LOW..HIGH (either side may be empty)")
    ends: list[float | None] = []
    for part in (low_text, high_text):
        part = part.strip()
        if not part:
            ends.append(None)
            continue
        try:
            value = float(part)
        except ValueError:
            raise ValueError(f"{part!r} in the band {text!r} is not a number") from None
        if not math.isfinite(value):
            raise ValueError(f"the band {text!r} must be finite numbers")
        ends.append(value)
    low, high = ends
    if low is None and high is None:
        raise ValueError("a band needs a low end, a high end or both")
    if low is not None and high is not None and low > high:
        raise ValueError(f"the band {text!r} has its low end above its high end")
    return low, high


def parse_expiry(text: str | None, now: datetime) -> datetime:
    """When a band override expires: a duration from now (`90m`, `48h`, `7d`, `2w`) or an
    ISO 8601 time with its offset; `DEFAULT_BAND_EXPIRY` from now when not given."""
    if text is None or not text.strip():
        return now + DEFAULT_BAND_EXPIRY
    found = _DURATION.match(text)
    if found is not None:
        return now + timedelta(seconds=float(found[1]) * _UNIT_S[found[2]])
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"{text!r} is neither a duration (90m, 48h, 7d, 2w) nor an ISO 8601 time"
        ) from None
    if at.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset (add Z or +01:00)")
    if at <= now:
        raise ValueError(f"{text!r} is already past")
    return at


def effective_rule(rule: DriftRule, overrides: list[BandOverride], at: datetime) -> DriftRule:
    """The rule as it applies to a window ending at `at`: the newest override in force."""
    active = [o for o in overrides if o.rule == rule.name and o.active(at)]
    return max(active, key=lambda o: o.since).applied(rule) if active else rule
