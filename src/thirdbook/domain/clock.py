"""The wall clock, in the forms thirdbook keeps time: microseconds for the store, aware UTC
datetimes for people, and today's date for due dates."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime


def now_us() -> int:
    """The wall clock in microseconds since the epoch."""
    return time.time_ns() // 1000


def now() -> datetime:
    """The wall clock as an aware UTC datetime."""
    return datetime.now(UTC)


def today() -> date:
    """Today's date in UTC (what due dates are compared with)."""
    return now().date()
