"""The demo's one clock: the estate's script seconds laid onto the wall clock.

The script runs `speed` demo seconds per real second. An event due at demo second `at` is
stamped `origin + at / speed`: the wall-clock time at which the serving layer writes it.
The console stamps incidents, their timelines, containment actions and the registry's
history with the wall clock too, so every time on screen is read off one clock: a deploy's
change event, the metric windows after it, the incident declared from them and the
registry's move all line up (the drift runbook's "compare the deploy time with the first
bad window" is a comparison of two times on screen).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class DemoClock:
    """Maps demo seconds to wall-clock times, `speed` demo seconds per real second."""

    def __init__(self, speed: float, origin: datetime | None = None) -> None:
        if speed <= 0:
            raise ValueError(f"the demo's speed must be above 0, not {speed:g}")
        self.speed = speed
        self.pinned = origin is not None
        """An origin given by the caller (a test replaying the script) is never moved."""
        self.origin = origin or datetime.now(UTC)

    def at(self, demo_s: float) -> datetime:
        """The wall-clock time of demo second `demo_s`."""
        return self.origin + timedelta(seconds=demo_s / self.speed)

    def stamp(self, demo_s: float) -> str:
        """`at` as an event's `ts` (ISO 8601, microseconds, UTC offset)."""
        return self.at(demo_s).isoformat(timespec="microseconds")

    def demo_seconds(self, when: datetime) -> float:
        """The demo second a wall-clock time stands for (the inverse of `at`)."""
        return (when - self.origin).total_seconds() * self.speed

    def resume(self, demo_s: float, now: datetime | None = None) -> None:
        """Start (or go on) running in real time from demo second `demo_s`: it is stamped
        now, so what is written from here on is stamped with the time it is written. A
        pinned origin stays where it is."""
        if not self.pinned:
            now = now or datetime.now(UTC)
            self.origin = now - timedelta(seconds=demo_s / self.speed)
