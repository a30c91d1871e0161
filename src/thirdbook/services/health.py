"""The ingest health line's figures, read from the store and this process's ingester."""

from __future__ import annotations

import socket
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from thirdbook.config import IngestConfig
from thirdbook.domain import clock
from thirdbook.domain.records import (
    Lease,
    from_us,
)
from thirdbook.store import Store
from thirdbook.store.holders import holder_live
from thirdbook.store.quick_reads import COUNTED_NOTES

if TYPE_CHECKING:
    from thirdbook.ingest.ingester import Ingester  # only this process's own, if it ingests


@dataclass(frozen=True)
class Health:
    """What the ingest health line shows."""

    events_total: int
    events_per_s: float
    rejects_total: int
    backlog_bytes: int
    lag_s: float | None
    files_active: int
    lease: Lease | None
    lease_live: bool
    ingesting_here: bool
    paused_reason: str | None
    gaps: int
    truncations: int
    parse_fallback: str | None = None
    """Why the ingester parses in its own process (its parse workers failed), if it does."""


class HealthService:
    """Reads health; remembers recent event counts to tell the rate."""

    def __init__(self, store: Store, settings: IngestConfig, ingester: Ingester | None) -> None:
        """`ingester`: this process's own, if it ingests (else ingest is another's)."""
        self.store = store
        self.ingester = ingester
        self.settings = settings
        self._rate: deque[tuple[float, int]] = deque(maxlen=20)
        self.helper_pid: int | None = None  # this console's helper ingester (its child)

    async def read(self) -> Health:
        """The figures for the health line."""
        total = await self.store.events.count()
        now = time.monotonic()
        self._rate.append((now, total))
        first_t, first_n = self._rate[0]
        rate = (total - first_n) / (now - first_t) if now - first_t > 0.2 else 0.0
        progress = await self.store.ingest.progress()
        lease = await self.store.leases.current()
        here = self.ingester is not None and self.ingester.status.holding_lease
        helper = (
            lease is not None
            and lease.pid == self.helper_pid
            and lease.host == socket.gethostname()
        )
        live = lease is not None and (
            here
            or holder_live(
                lease.host, lease.pid, lease.heartbeat.timestamp(), self.settings.lease_ttl_s
            )
        )
        notes = await self.store.ingest.notes(kinds=["gap", "truncated"], limit=COUNTED_NOTES)
        caught_up: datetime | None
        if here and self.ingester is not None:
            status = self.ingester.status
            paused, backlog = status.paused_reason, status.backlog_bytes
            caught_up = None if status.caught_up_us is None else from_us(status.caught_up_us)
            fallback = status.parse_fallback
        else:
            fallback = progress.parse_fallback if progress and live else None
            paused = progress.paused_reason if progress else None
            backlog = progress.backlog_bytes if progress else 0
            caught_up = progress.caught_up if progress else None
        # Lag: how long ingest has been behind the files (0 when it has read all there is).
        lag = None
        if caught_up is not None:
            lag = 0.0 if backlog == 0 else (clock.now() - caught_up).total_seconds()
        return Health(
            events_total=total,
            events_per_s=rate,
            rejects_total=await self.store.events.reject_count(),
            backlog_bytes=backlog,
            lag_s=lag,
            files_active=len(await self.store.ingest.files("active")),
            lease=lease,
            lease_live=live,
            ingesting_here=here or helper,
            paused_reason=paused,
            gaps=sum(1 for n in notes if n.kind == "gap"),
            truncations=sum(1 for n in notes if n.kind == "truncated"),
            parse_fallback=fallback,
        )
