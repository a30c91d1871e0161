"""A decision's OpenTelemetry trace, joined when it is explained: its retrieval and tool
spans folded into its prompt, what never arrived named (`thirdbook.domain.trace_join`, read
through `Store.traces`)."""

from __future__ import annotations

from thirdbook.domain.events import InferenceEvent, Prompt, Response
from thirdbook.domain.explanation import TraceJoin
from thirdbook.domain.trace_join import span_summary
from thirdbook.store import Store
from thirdbook.store.traces import TRACE_SPANS

__all__ = ["TRACE_SPANS", "join_trace", "span_summary"]


async def join_trace(
    store: Store, event: InferenceEvent
) -> tuple[Prompt | None, Response | None, TraceJoin | None]:
    """The decision's prompt with its trace's retrieved documents and tool outputs added,
    its response (from its content event when the span carried none), and the trace as the
    store holds it; (its prompt, its response, None) for a decision with no trace."""
    return await store.traces.join(event)
