"""Why ingest stops or waits."""

from __future__ import annotations


class IngestPausedError(Exception):
    """A commit failed (disk full, I/O error); nothing moved, ingest retries later."""


class LeaseHeldError(Exception):
    """Another live process holds the ingest lease."""
