"""What the console compares, each tick, to learn which of its panels have something new."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StoreMarks(BaseModel):
    """High-water marks of what the store holds, read in one query: when one moves, what
    depends on it is read again; when none does, the console reads nothing else."""

    model_config = ConfigDict(frozen=True)

    alerts: tuple[int | None, int | None, int] = (None, None, 0)
    """The newest alert update, the newest triage of one, and how many alerts there are."""
    timeline: int | None = None
    """The newest timeline entry (every change to an incident writes one)."""
    events: int | None = None
    """The newest event."""
    evidence: tuple[int | None, int | None] = (None, None)
    """The newest snapshot and the newest containment action."""
