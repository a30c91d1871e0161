"""A drift chart's data: one model version's metric windows and the band they should stay in."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class DriftPoint(BaseModel):
    """One metric window."""

    model_config = ConfigDict(frozen=True)

    at: datetime
    value: float


class DriftSeries(BaseModel):
    """The windows behind a drift alert, oldest first, with the rule's band."""

    model_config = ConfigDict(frozen=True)

    title: str
    low: float | None
    high: float | None
    points: tuple[DriftPoint, ...]

    def outside(self, value: float) -> bool:
        """Whether a value is outside the band (its edges are inside)."""
        return (self.low is not None and value < self.low) or (
            self.high is not None and value > self.high
        )
