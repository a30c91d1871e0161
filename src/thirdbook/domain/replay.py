"""Replay runs and their answers as stored (what the CLI and the console show)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class ReplayRun(BaseModel):
    """One replay of an incident's inputs against a known-good and a suspect version."""

    model_config = ConfigDict(frozen=True)

    id: int
    incident_id: int
    known_good: str
    suspect: str
    inputs: str = Field(description="What was replayed, as named (`window`, `alert:3`, ...).")
    by: str
    started: datetime
    finished: datetime | None = None
    status: str = Field(description="running, cancelled or finished.")
    verdict: str | None = None
    counts: dict[str, int] = Field(default_factory=dict)
    skipped: dict[str, int] = Field(
        default_factory=dict, description="Inputs skipped, counted by reason."
    )


class StoredAnswer(BaseModel):
    """One version's answer to one input of a run (objects named by their sha256)."""

    model_config = ConfigDict(frozen=True)

    run_id: int
    request_id: str
    version: str
    endpoint: str
    request_sha256: str
    answer_sha256: str | None = None
    decision: str | None = None
    error: str | None = None
    expected: str | None = None
    expected_source: str | None = None
