"""`thirdbook events` read quickly: the stored events that match, newest first, on the stdlib
`sqlite3` without a `Context`, a `Store` or a pydantic model (see `services.status` for when
a quick read can be made). None where it cannot: the caller asks the services."""

from __future__ import annotations

from pathlib import Path

from thirdbook.services.quick_settings import quick_store
from thirdbook.store.quick_reads import EventRow

__all__ = ["EventRow", "quick_events"]


def quick_events(
    data_dir: Path | None,
    config: Path | None,
    *,
    demo: bool,
    kind: str | None,
    model: str | None,
    model_version: str | None,
    request_id: str | None,
    subject: str | None,
    limit: int,
) -> list[EventRow] | None:
    """The newest `limit` events that match every filter given, or None (see the module)."""
    opened = quick_store(data_dir, config, demo=demo)
    if opened is None:
        return None
    reads, _ = opened
    try:
        return reads.events(
            kind=kind,
            model=model,
            model_version=model_version,
            request_id=request_id,
            subject=subject,
            limit=limit,
        )
    finally:
        reads.close()
