"""Times as the console shows them: on the local clock, on every panel and screen.

Events, alerts and the timeline are stored in UTC; the registry history and the containment
lines were already shown in local time. One zone everywhere lets a commander compare any two
times on screen (a deploy's change event with the first window out of band) by reading them.
"""

from __future__ import annotations

from datetime import datetime


def local(at: datetime) -> datetime:
    """`at` on the local clock; as stored when it cannot be (a time at the very ends of
    the calendar, which the local offset would push past them)."""
    try:
        return at.astimezone()
    except (OverflowError, ValueError, OSError):
        return at


def hms(at: datetime) -> str:
    """`HH:MM:SS` on the local clock."""
    return f"{local(at):%H:%M:%S}"
