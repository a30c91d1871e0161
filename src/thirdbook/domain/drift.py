"""A drift chart's data: a model's metric windows (across its versions, so a rollback's
recovery shows) and the band they should stay in."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


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
