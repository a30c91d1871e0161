"""How what was read from the log, not the store, is marked wherever it is shown (here, with
no model, so that `explain` read quickly can say it without importing any)."""

from __future__ import annotations

FROM_LOG = "from the log, not yet ingested"
"""How an event read from the log, not the store, is marked wherever it is shown."""
