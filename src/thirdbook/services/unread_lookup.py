"""A lookup by request id or subject that also reads what ingest has not stored yet.

On a store behind its sources (ingest stopped midway, never run, or still working through a
backlog), the store alone would say "not found" about a decision that is on disk. So the
lookup reads the committed checkpoints first, then asks the store, then searches every
source file's bytes past its checkpoint (ingest/unread_scan.py): an event committed in
between is found in the store (and dropped from what the log gave), never missed. When
ingest has caught up there is nothing past the checkpoints, and the search costs a stat of
each file. What the log gives is provisional: shown "from the log, not yet ingested", with
its path and byte offset, never with an event id.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from thirdbook.config import IngestConfig, SourceConfig
from thirdbook.domain.events import Event
from thirdbook.domain.records import EventFilter, StoredEvent, TrackedFile
from thirdbook.domain.unread import UnreadSearch, event_matches
from thirdbook.store import Store

# The file reading is imported where it is used: an `explain` the store answers needs none.
if TYPE_CHECKING:
    from thirdbook.ingest.unread_files import UnreadPlan
    from thirdbook.services.context import Context


@dataclass(frozen=True)
class EventLookup:
    """Events by request id or subject: what the bytes not yet ingested hold, and those in
    the store, each newest first."""

    stored: list[StoredEvent]
    unread: UnreadSearch


class UnreadLookup:
    """Searching the sources' bytes past the committed checkpoints (all of them when there
    is no store yet) for one request id or subject."""

    def __init__(
        self, store: Store | None, sources: list[SourceConfig], settings: IngestConfig
    ) -> None:
        self.store = store
        self.sources = sources
        self.settings = settings

    async def plan(self) -> UnreadPlan:
        """Where the unread bytes are, as of now (read before the store is asked)."""
        from thirdbook.ingest.unread_files import plan_unread

        tracked: list[TrackedFile] = []
        started: dict[str, int | None] = {}
        if self.store is not None:
            tracked = await self.store.ingest.files(None)
            for name in {s.name for s in self.sources} | {r.source for r in tracked}:
                started[name] = await self.store.ingest.source_started_us(name)
        return await asyncio.to_thread(plan_unread, self.sources, tracked, started)

    async def search(
        self, plan: UnreadPlan, where: EventFilter, *, stored: list[StoredEvent] | None = None
    ) -> UnreadSearch:
        """The events matching `where` (which names a request id or a subject) in the
        planned ranges, newest first, less those `stored` already holds."""
        from thirdbook.ingest.unread_scan import search_unread

        value = where.request_id or where.subject
        if not value:
            raise ValueError("an unread search needs a request id or a subject")

        def accept(event: Event) -> bool:
            return event_matches(where, event)

        found = await asyncio.to_thread(
            search_unread, plan, value, accept, self.settings.max_line_bytes
        )
        held = {(s.path, s.byte_offset, s.line_index) for s in stored or []}
        events = [e for e in found.events if (e.path, e.byte_offset, e.line_index) not in held]
        events.sort(key=lambda e: e.ts, reverse=True)
        return found.model_copy(update={"events": events, "store_missing": self.store is None})

    async def events(self, where: EventFilter, limit: int) -> EventLookup:
        """Up to `limit` events matching `where`: what the log adds, then the store's. The
        store and the files are read side by side (while a bulk load has the store's
        indexes down, its part is a scan of the table)."""
        plan = await self.plan()
        stored, unread = await asyncio.gather(self._stored(where, limit), self.search(plan, where))
        held = {(s.path, s.byte_offset, s.line_index) for s in stored}
        logged = [e for e in unread.events if (e.path, e.byte_offset, e.line_index) not in held]
        # Newest first overall: what the log adds is newer than what is stored.
        logged = logged[:limit]
        stored = stored[: limit - len(logged)]
        return EventLookup(stored, unread.model_copy(update={"events": logged}))

    async def _stored(self, where: EventFilter, limit: int) -> list[StoredEvent]:
        if self.store is None:
            return []
        stored: list[StoredEvent] = []
        before: int | None = None
        while len(stored) < limit:
            page = await self.store.events.page(where, before_id=before, limit=min(500, limit))
            stored.extend(page.items)
            if page.next_key is None:
                break
            before = page.next_key
        return stored[:limit]


def lookup_without_store(context: Context) -> UnreadLookup:
    """Lookups by request id or subject in the context's sources alone (there is no store
    yet: every byte of them is unread)."""
    return UnreadLookup(None, context.sources(), context.settings.ingest)
