"""Why ingest stops or waits."""

from __future__ import annotations

from thirdbook.domain.errors import LeaseHeldError

__all__ = ["IngestPausedError", "LeaseHeldError"]


class IngestPausedError(Exception):
    """A commit failed (disk full, I/O error); nothing moved, ingest retries later."""
