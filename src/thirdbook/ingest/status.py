"""What the ingester in a process is doing, as the health line shows it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class IngestStatus:
    """What the ingester in this process is doing, for the health line."""

    holding_lease: bool = False
    paused_reason: str | None = None
    events_total: int = 0
    rejects_total: int = 0
    backlog_bytes: int = 0
    files: int = 0
    last_event_ts_us: int | None = None
    caught_up_us: int | None = None
    parse_fallback: str | None = None
    """Why lines are parsed in this process rather than by worker processes (they failed)."""
    problems: list[str] = field(default_factory=list)
