"""The wall clock, in the forms thirdbook keeps time: microseconds for the store, aware UTC
datetimes for people, and today's date for due dates."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# The times the store keeps, UTC. The last is a day short of the largest time Python holds,
# so every stored time can be shown in any time zone (offsets are under a day) without
# overflow; nothing thirdbook watches logged before 1970.
TS_FIRST = EPOCH
TS_LAST = datetime(9999, 12, 30, 23, 59, 59, 999999, tzinfo=UTC)
TS_FIRST_US = 0
TS_LAST_US = (TS_LAST - EPOCH) // timedelta(microseconds=1)


def from_us(us: int) -> datetime:
    """The aware UTC datetime for microseconds since the epoch.

    Total over every integer: a time outside the store's range (an older version stored
    some) reads as the nearest edge of it, so no reader can overflow on a stored row.
    """
    return EPOCH + timedelta(microseconds=min(max(us, TS_FIRST_US), TS_LAST_US))


def to_us(ts: datetime) -> int:
    """Microseconds since the epoch (UTC), exactly: the store's sortable time."""
    if ts.tzinfo is not None and 1970 < ts.year < 2500:
        # The fast path (ingest calls this for every line): whole seconds from the C
        # timestamp, which a double holds exactly enough until about 3000, plus the
        # microseconds.
        return int(ts.timestamp()) * 1_000_000 + ts.microsecond
    return (ts - EPOCH) // timedelta(microseconds=1)


def now_us() -> int:
    """The wall clock in microseconds since the epoch."""
    return time.time_ns() // 1000


def now() -> datetime:
    """The wall clock as an aware UTC datetime."""
    return datetime.now(UTC)


def today() -> date:
    """Today's date in UTC (what due dates are compared with)."""
    return now().date()
