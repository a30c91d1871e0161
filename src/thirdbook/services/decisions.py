"""Finding a decision record: by its request id, by its subject (the newest), or the one an
inquiry asks about. One lookup serves the alerting, the containment and `explain`."""

from __future__ import annotations

from dataclasses import dataclass

from thirdbook.domain.events import InferenceEvent, InquiryEvent, parse_stored_line
from thirdbook.domain.records import EventFilter, StoredEvent
from thirdbook.store import Store


@dataclass(frozen=True)
class Decision:
    """A decision as stored (its id, indexed columns and raw line) and as read."""

    stored: StoredEvent
    event: InferenceEvent

    @property
    def id(self) -> int:
        """The decision's event id."""
        return self.stored.id


class DecisionLookup:
    """Decisions (inference events) in the store, found as a person asks for them."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def find(
        self, *, request_id: str | None = None, subject: str | None = None
    ) -> Decision | None:
        """The decision with `request_id` (the newest, if it was logged twice); without a
        request id, the newest decision about `subject`. None when there is none, or its
        line no longer reads as a decision."""
        if request_id:
            where = EventFilter(kind="inference", request_id=request_id)
        elif subject:
            where = EventFilter(kind="inference", subject=subject)
        else:
            return None
        page = await self.store.events.page(where, limit=1)
        if not page.items:
            return None
        event = parse_stored_line(page.items[0].raw)
        return Decision(page.items[0], event) if isinstance(event, InferenceEvent) else None

    async def for_inquiry(self, inquiry: InquiryEvent) -> Decision | None:
        """The decision an inquiry is about: by its request id, else its subject's newest."""
        return await self.find(request_id=inquiry.request_id, subject=inquiry.subject)

    async def about(self, key: str) -> Decision | None:
        """The decision an unexplainable-decision alert names (its key is the inquiry's
        request id, else its subject)."""
        return await self.find(request_id=key) or await self.find(subject=key)
