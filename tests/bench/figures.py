"""What every benchmark here shares: waiting for a condition with a generous ceiling (never
assuming a timing), and figures as min / median / max, ratios paired run by run.

Import it as `from tests.bench.figures import ...` (a script puts the repository root on
`sys.path` first, as tests/bench/report.py does), whether run as a script or with `-m`."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


class NeverHappened(RuntimeError):
    """A condition a benchmark waited for did not hold within its ceiling."""


def wait_for(
    condition: Callable[[], T | None], what: str, *, ceiling_s: float = 60.0, every_s: float = 0.01
) -> T:
    """Poll `condition` until it returns something other than None or False; return it.
    Raises NeverHappened naming `what` after `ceiling_s` (a ceiling, not a timing)."""
    deadline = time.monotonic() + ceiling_s
    while True:
        found = condition()
        if found is not None and found is not False:
            return found
        if time.monotonic() > deadline:
            raise NeverHappened(f"{what} did not happen within {ceiling_s:g} s")
        time.sleep(every_s)


async def await_for(
    condition: Callable[[], Awaitable[T | None]],
    what: str,
    *,
    ceiling_s: float = 60.0,
    every_s: float = 0.01,
) -> T:
    """`wait_for` for an async condition, sleeping on the event loop between tries."""
    deadline = time.monotonic() + ceiling_s
    while True:
        found = await condition()
        if found is not None and found is not False:
            return found
        if time.monotonic() > deadline:
            raise NeverHappened(f"{what} did not happen within {ceiling_s:g} s")
        await asyncio.sleep(every_s)


def pct(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) of values (nearest rank), in the same unit."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def spread(values: Sequence[float], fmt: str = ".2f", unit: str = "") -> str:
    """'min X / median Y / max Z UNIT (n runs)' of values."""
    if not values:
        return "no runs"
    low, mid, high = min(values), statistics.median(values), max(values)
    runs = f"{len(values)} run{'s' if len(values) != 1 else ''}"
    return (
        f"min {low:{fmt}} / median {mid:{fmt}} / max {high:{fmt}}{' ' + unit if unit else ''} "
        f"({runs})"
    )


def paired(numerators: Sequence[float], denominators: Sequence[float]) -> list[float]:
    """The ratio of each run to its own pair (run i over run i), never median over median."""
    if len(numerators) != len(denominators):
        raise ValueError("a ratio pairs runs one to one")
    return [n / d for n, d in zip(numerators, denominators, strict=True) if d > 0]
