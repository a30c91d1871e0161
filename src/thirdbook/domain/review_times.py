"""The review's measured times: the moments an incident passed through, read from what the
store recorded, and the durations between them (computed, never typed).

- first bad signal: the earliest event the incident's alerts fired on;
- alert: when the console raised the first of them;
- declared, closed: the incident's own times;
- snapshot: the first complete snapshot finished;
- contained: the first containment action written, and first observed in the serving logs;
- recovered: the first recovery decision observed in the serving logs (else written, else
  recorded, for a retrain or a retirement that writes nothing observable).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict

from thirdbook.domain.evidence import ContainmentState, SnapshotRecord
from thirdbook.domain.incidents import Incident, TimelineEntry
from thirdbook.domain.recovery import DecisionState
from thirdbook.domain.regulatory import span

MOMENTS: tuple[tuple[str, str], ...] = (
    ("first_signal", "First bad signal"),
    ("alerted", "Alert raised"),
    ("declared", "Declared"),
    ("snapshot", "Snapshot complete"),
    ("contained_written", "Containment written"),
    ("contained_observed", "Containment observed"),
    ("recovered", "Recovered"),
    ("closed", "Closed"),
)
"""Each moment's field and label, in the order an incident passes them."""

DURATIONS: tuple[tuple[str, str, str], ...] = (
    ("Time to detect", "first_signal", "alerted"),
    ("Time to declare", "alerted", "declared"),
    ("Time to contain", "declared", "contained"),
    ("Time to recover", "declared", "recovered"),
)
"""Each duration's label and the moments it runs between ("contained" is observed, else
written)."""

PHASE_NAMES: tuple[str, ...] = ("detect", "triage", "contain", "investigate", "recover", "learn")


class MeasuredTimes(BaseModel):
    """The moments of one incident (None: it has not happened, or nothing recorded it)."""

    model_config = ConfigDict(frozen=True)

    first_signal: datetime | None = None
    alerted: datetime | None = None
    declared: datetime
    snapshot: datetime | None = None
    contained_written: datetime | None = None
    contained_observed: datetime | None = None
    recovered: datetime | None = None
    closed: datetime | None = None

    @property
    def contained(self) -> datetime | None:
        """Contained: observed in the serving logs, else written."""
        return self.contained_observed or self.contained_written

    def moment(self, name: str) -> datetime | None:
        """A moment by its field name (or "contained")."""
        value = getattr(self, name)
        return value if isinstance(value, datetime) or value is None else None

    def durations(self) -> list[tuple[str, timedelta | None]]:
        """Each duration, None where a moment is missing (never negative)."""
        out: list[tuple[str, timedelta | None]] = []
        for label, start, end in DURATIONS:
            a, b = self.moment(start), self.moment(end)
            out.append((label, None if a is None or b is None else max(b - a, timedelta(0))))
        return out

    def _investigating(self) -> datetime | None:
        # The containment action and what follows it at once stay in "contain".
        if self.contained_observed is not None:
            return self.contained_observed
        if self.contained_written is None:
            return None
        return self.contained_written + timedelta(seconds=1)

    def boundaries(self) -> list[tuple[str, datetime | None]]:
        """Where each phase starts: detect from the first signal, triage at the
        declaration, contain at the first containment written, investigate once contained,
        recover at the recovery, learn at the close."""
        return [
            ("detect", self.first_signal or self.alerted),
            ("triage", self.declared),
            ("contain", self.contained_written),
            ("investigate", self._investigating()),
            ("recover", self.recovered),
            ("learn", self.closed),
        ]


def _first(times: Sequence[datetime | None]) -> datetime | None:
    known = [t for t in times if t is not None]
    return min(known) if known else None


def measure(
    incident: Incident,
    *,
    first_signal: datetime | None,
    alerted: datetime | None,
    snapshots: Sequence[SnapshotRecord],
    containment: Sequence[ContainmentState],
    decisions: Sequence[DecisionState],
) -> MeasuredTimes:
    """The incident's moments from what the store recorded."""
    recovered = _first([d.observed or d.written or d.decision.at for d in decisions])
    return MeasuredTimes(
        first_signal=first_signal,
        alerted=alerted,
        declared=incident.declared_at,
        snapshot=_first([s.finished for s in snapshots if s.status == "complete"]),
        contained_written=_first([c.written for c in containment]),
        contained_observed=_first([c.observed for c in containment]),
        recovered=recovered,
        closed=incident.closed_at,
    )


def phase_of(at: datetime, times: MeasuredTimes) -> str:
    """The phase a moment falls in: the last phase whose start is at or before it."""
    phase = "detect"
    for name, start in times.boundaries():
        if start is not None and start <= at:
            phase = name
    return phase


def phases(
    timeline: Sequence[TimelineEntry], times: MeasuredTimes
) -> list[tuple[str, list[TimelineEntry]]]:
    """The timeline in phases, in order; a phase nothing happened in is left out."""
    grouped: dict[str, list[TimelineEntry]] = {name: [] for name in PHASE_NAMES}
    for entry in timeline:
        grouped[phase_of(entry.at, times)].append(entry)
    return [(name, entries) for name, entries in grouped.items() if entries]


def measured(delta: timedelta) -> str:
    """A measured duration to the second under an hour (`42s`, `3m 05s`), else as days,
    hours and minutes (`2h 10m`, `1d 4h`)."""
    seconds = int(delta.total_seconds())
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return span(delta)
