"""The store: aiosqlite over one SQLite file in WAL mode; the only place that speaks SQL."""

from thirdbook.domain.errors import (
    NetworkFilesystemError,
    StoreBusyError,
    StoreClosedError,
    StoreError,
    StoreReadOnlyError,
)
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
