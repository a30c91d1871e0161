"""The store: aiosqlite over one SQLite file in WAL mode; the only place that speaks SQL."""

from thirdbook.store.database import (
    NetworkFilesystemError,
    Store,
    StoreBusyError,
    StoreClosedError,
    StoreError,
)
from thirdbook.store.ingest_state import LeaseLostError

__all__ = [
    "LeaseLostError",
    "NetworkFilesystemError",
    "Store",
    "StoreBusyError",
    "StoreClosedError",
    "StoreError",
]
