"""A drift chart's data: a model's metric windows (across its versions, so a rollback's
recovery shows) and the band they should stay in."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise

from pydantic import BaseModel, ConfigDict

HOLE = 3
"""A stretch with no window for more than this many usual window spacings is a hole in the
logs (or in what was fetched): the chart draws a break there rather than joining the sides."""
CALM = 3
"""Windows in a row with none of the drifting version's bad ones: what came before them is
not the incident's (a blip days earlier is not its first bad window)."""


class DriftPoint(BaseModel):
    """One metric window."""

    model_config = ConfigDict(frozen=True)

    at: datetime
    value: float
    version: str | None = None


class DriftSeries(BaseModel):
    """The windows behind a drift alert, oldest first, with the rule's band."""

    model_config = ConfigDict(frozen=True)

    title: str
    low: float | None
    high: float | None
    points: tuple[DriftPoint, ...]
    version: str | None = None
    """The version the alert is about: its windows are the drifting ones."""
    incident: tuple[datetime, datetime] | None = None
    """The first and last of the alert's out-of-band windows: the incident's windows."""

    def holes(self) -> set[int]:
        """Indices `i` with a hole in the windows just before `points[i]` (see `HOLE`)."""
        usual = self.spacing()
        if usual is None:
            return set()
        times = [p.at for p in self.points]
        return {i for i in range(1, len(times)) if times[i] - times[i - 1] > usual * HOLE}

    def held(self) -> tuple[int, int] | None:
        """The incident's windows as indices into `points` (first, last), to keep in view:
        from the drifting version's first window out of the band in the stretch that leads
        into the incident (no hole and no `CALM` windows in a row without one of its bad
        windows between), to the incident's last window."""
        if self.incident is None:
            return None
        start, end = self.incident
        ours = [
            i
            for i, p in enumerate(self.points)
            if start <= p.at <= end and (self.version is None or p.version == self.version)
        ]
        if not ours:
            return None
        first, holes = ours[0], self.holes()
        at, calm = first, 0
        while at > 0 and at not in holes and calm < CALM:
            at -= 1
            point = self.points[at]
            if self.outside(point.value) and self.version in (None, point.version):
                first, calm = at, 0
            else:
                calm += 1
        return first, ours[-1]

    def first_outside(self) -> DriftPoint | None:
        """The incident's first window out of the band (see `held`), if it is known."""
        held = self.held()
        return None if held is None else self.points[held[0]]

    def spacing(self) -> timedelta | None:
        """The usual time between windows (see `usual_spacing`)."""
        return usual_spacing([p.at for p in self.points])

    @property
    def versions(self) -> tuple[str, ...]:
        """The versions the windows came from, one per run of windows (v6, v7, v6 when v7 was
        deployed then rolled back)."""
        runs: list[str] = []
        for point in self.points:
            if point.version and (not runs or runs[-1] != point.version):
                runs.append(point.version)
        return tuple(runs)

    def outside(self, value: float) -> bool:
        """Whether a value is outside the band (its edges are inside)."""
        return (self.low is not None and value < self.low) or (
            self.high is not None and value > self.high
        )


def usual_spacing(times: list[datetime]) -> timedelta | None:
    """The median time between successive windows (oldest first), if two differ."""
    steps = sorted(b - a for a, b in pairwise(times) if b > a)
    return steps[len(steps) // 2] if steps else None
