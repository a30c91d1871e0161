"""Marking an incident serious (EU AI Act Article 73), which starts the reporting clock."""

from __future__ import annotations

from datetime import datetime

from thirdbook.domain import clock
from thirdbook.domain.errors import TriageRefusedError
from thirdbook.domain.regulatory import (
    ARTICLE_73_DAYS,
    SERIOUS_CATEGORIES,
    SeriousMark,
    parse_serious,
    serious_detail,
)
from thirdbook.services.acting import Acting
from thirdbook.store import Store


class SeriousIncidents:
    """`serious`: record the category and when the organisation became aware (on the
    timeline, kind "serious", and in the audit chain); read the clock back."""

    def __init__(self, store: Store, acting: Acting) -> None:
        self.store = store
        self.acting = acting

    async def mark(
        self, incident_id: int, category: str, aware_at: datetime | None = None
    ) -> SeriousMark:
        """Mark the incident serious; `aware_at` defaults to now. Marking it again (a new
        category, a corrected awareness time) replaces the clock; both stay on the timeline."""
        detail = {"category": category, "aware_at": None if aware_at is None else str(aware_at)}
        async with self.acting.act("serious", detail, incident_id) as actor:
            if category not in ARTICLE_73_DAYS:
                raise TriageRefusedError(
                    f"{category!r} is not a category ({', '.join(SERIOUS_CATEGORIES)})"
                )
            now = clock.now()
            aware = (now if aware_at is None else aware_at).replace(microsecond=0)
            if aware.tzinfo is None:
                raise TriageRefusedError("the awareness time needs a time zone (or Z for UTC)")
            if aware > now:
                raise TriageRefusedError("the organisation cannot become aware in the future")
            mark = SeriousMark(category=category, aware_at=aware, marked_at=now, by=actor.user)
            await self.store.incidents.note(incident_id, actor, "serious", serious_detail(mark))
            return mark

    async def clock(self, incident_id: int) -> SeriousMark | None:
        """The incident's Article 73 clock, if it was marked serious (the newest marking)."""
        entry = await self.store.report.latest_of_kind(incident_id, "serious")
        if entry is None:
            return None
        return parse_serious(entry.detail, entry.at, entry.user)
