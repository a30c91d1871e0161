"""The store: aiosqlite over one SQLite file in WAL mode; the only place that speaks SQL.

`Store` (and what it brings: aiosqlite, every table's models) is imported on first use, so
that a module of this package can be imported alone: `thirdbook status` reads through
`store.quick_reads` without any of it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from thirdbook.domain.errors import (
    NetworkFilesystemError,
    StoreBusyError,
    StoreClosedError,
    StoreError,
    StoreReadOnlyError,
)

if TYPE_CHECKING:
    from thirdbook.store.database import Store
    from thirdbook.store.ingest_state import LeaseLostError

__all__ = [
    "LeaseLostError",
    "NetworkFilesystemError",
    "Store",
    "StoreBusyError",
    "StoreClosedError",
    "StoreError",
    "StoreReadOnlyError",
]


def __getattr__(name: str) -> Any:
    if name == "Store":
        from thirdbook.store.database import Store

        return Store
    if name == "LeaseLostError":
        from thirdbook.store.ingest_state import LeaseLostError

        return LeaseLostError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
