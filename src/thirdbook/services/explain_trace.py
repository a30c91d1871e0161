"""A decision's OpenTelemetry trace, joined when it is explained: its retrieval and tool
spans folded into its prompt, what never arrived named (`thirdbook.domain.trace_join`, read
through `Store.traces`)."""

from __future__ import annotations

from datetime import timedelta

from thirdbook.domain.events import InferenceEvent, Prompt, Response, SpanEvent, parse_stored_line
from thirdbook.domain.explanation import TraceJoin
from thirdbook.domain.records import EventFilter, StoredEvent
from thirdbook.domain.trace_join import span_summary
from thirdbook.store import Store
from thirdbook.store.traces import TRACE_SPANS

__all__ = ["TRACE_SPANS", "decision_of_trace", "join_trace", "span_summary"]


async def join_trace(
    store: Store, event: InferenceEvent
) -> tuple[Prompt | None, Response | None, TraceJoin | None]:
    """The decision's prompt with its trace's retrieved documents and tool outputs added,
    its response (from its content event when the span carried none), and the trace as the
    store holds it; (its prompt, its response, None) for a decision with no trace."""
    return await store.traces.join(event)


DECISION_WINDOW = timedelta(seconds=30)
"""How far from a span its trace's decision is looked for (a trace's spans end close
together)."""
_DECISION_SCAN = 5_000


async def decision_of_trace(
    store: Store, span: SpanEvent
) -> tuple[StoredEvent, InferenceEvent] | None:
    """The inference of the span's trace nearest the span in time, if the store has it."""
    where = EventFilter(
        kind="inference", since=span.ts - DECISION_WINDOW, until=span.ts + DECISION_WINDOW
    )
    best: tuple[timedelta, StoredEvent, InferenceEvent] | None = None
    before: int | None = None
    seen = 0
    while seen < _DECISION_SCAN:
        page = await store.events.page(where, before_id=before, limit=500)
        for stored in page.items:
            if span.request_id.encode() not in stored.raw:
                continue  # cheap: the trace id is in the stored JSON of its decisions
            event = parse_stored_line(stored.raw)
            if isinstance(event, InferenceEvent) and event.trace_id == span.request_id:
                gap = abs(event.ts - span.ts)
                if best is None or gap < best[0]:
                    best = (gap, stored, event)
        seen += len(page.items)
        if page.next_key is None:
            break
        before = page.next_key
    return None if best is None else (best[1], best[2])
