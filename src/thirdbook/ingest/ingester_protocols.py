"""The ingester as its helpers see it: one protocol per helper, naming only what it uses.

`Ingester` (ingest/ingester.py) satisfies each of them and passes itself to its helpers:
rotation.py and opening.py (which stream a file continues, and what becomes of one cut
short), backfill.py (parsing a large backlog in worker processes) and loop.py (when passes
run). The helpers import these protocols, never the ingester, so no import goes back up.
"""

from __future__ import annotations

from typing import Protocol

from thirdbook.config import IngestConfig, SourceConfig
from thirdbook.domain.line_format import LineFormat
from thirdbook.ingest.parse_pool import ParsePool
from thirdbook.ingest.status import IngestStatus
from thirdbook.ingest.tail import Batch, Tail
from thirdbook.store import Store
from thirdbook.store.checkpointer import WalCheckpointer
from thirdbook.store.ingest_rows import NoteTuple, RejectTuple
from thirdbook.store.staged_events import EventRows

FileKey = tuple[int, int]
"""A file's identity: (device, inode)."""


class Committing(Protocol):
    """Storing a parsed batch with its file's new checkpoint (`Ingester.commit`)."""

    store: Store
    holder: str
    settings: IngestConfig
    tails: dict[FileKey, Tail]

    async def commit(
        self,
        tail: Tail,
        batch: Batch,
        events: EventRows,
        rejects: list[RejectTuple],
        note: NoteTuple | None = None,
    ) -> None: ...


class Tracking(Committing, Protocol):
    """The streams followed and the ones cut short (rotation.py)."""

    sources: list[SourceConfig]
    pending: dict[int, float]
    stopped_rows: set[int]
    claimed: set[int]
    source_started: dict[str, int]


class Opening(Tracking, Protocol):
    """Deciding where to read a file not yet followed (opening.py)."""

    settled: dict[FileKey, tuple[int, int]]
    incomplete: dict[FileKey, tuple[int, int]]
    unopenable: set[str]
    formats: dict[str, LineFormat]

    def note_problem(self, text: str) -> None: ...


class Draining(Committing, Protocol):
    """Parsing a backlog in worker processes while earlier batches commit (backfill.py)."""

    bulk: bool
    parsers: ParsePool
    last_progress: float

    async def new_generation(self, tail: Tail, why: str) -> None: ...

    def measure_backlog(self) -> None: ...

    async def publish_progress(self, *, force: bool = False) -> None: ...


class Running(Tracking, Protocol):
    """Holding the lease and making passes until stopped (loop.py)."""

    status: IngestStatus
    checkpointer: WalCheckpointer | None

    async def acquire(self) -> bool: ...

    def close_files(self) -> None: ...

    async def ingest_available(self) -> int: ...

    def note_problem(self, text: str) -> None: ...

    async def publish_progress(self, *, force: bool = False) -> None: ...
