"""Decisions read with their OpenTelemetry traces joined: a trace's `span` events, read by
its id (many traces in one query), folded into each decision's prompt
(`thirdbook.domain.trace_join`). A decision without a trace id costs no query."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from thirdbook.domain.events import InferenceEvent, Prompt, Response, SpanEvent, parse_stored_line
from thirdbook.domain.explanation import TraceJoin
from thirdbook.domain.records import lookup_key
from thirdbook.domain.trace_join import join_spans, joined_decision

if TYPE_CHECKING:
    from thirdbook.store.connection import StoreConnection

TRACE_SPANS = 500
"""The most spans of one trace read (the newest)."""
_CHUNK = 400
"""Trace ids asked for in one query."""


class Traces:
    """The spans of traces, and decisions with them joined."""

    def __init__(self, store: StoreConnection) -> None:
        self._store = store

    async def spans_of(self, trace_ids: Sequence[str]) -> dict[str, list[tuple[int, SpanEvent]]]:
        """Each trace's spans in the store (its newest `TRACE_SPANS`), oldest first, with
        their event ids; a trace with none is left out."""
        wanted = sorted(set(trace_ids))
        found: dict[str, list[tuple[int, SpanEvent]]] = {}
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            keys = sorted({k for t in chunk if (k := lookup_key(t)) is not None})
            rows = await self._store.fetchall(
                "SELECT id, request_id, raw FROM events WHERE kind = 'span' AND request_key IN "
                f"({', '.join('?' * len(keys))}) ORDER BY id DESC LIMIT ?",
                (*keys, TRACE_SPANS * len(chunk)),
            )
            asked = set(chunk)
            for event_id, trace_id, raw in rows:
                spans = found.setdefault(trace_id, []) if trace_id in asked else None
                if spans is None or len(spans) >= TRACE_SPANS:
                    continue
                span = parse_stored_line(bytes(raw))
                if isinstance(span, SpanEvent):
                    spans.append((int(event_id), span))
        for spans in found.values():
            spans.reverse()
        return {t: s for t, s in found.items() if s}

    async def join(
        self, event: InferenceEvent
    ) -> tuple[Prompt | None, Response | None, TraceJoin | None]:
        """The decision's prompt and response with its trace joined, and the trace as the
        store holds it (None for a decision with no trace)."""
        if not event.trace_id:
            return event.prompt, event.response, None
        spans = await self.spans_of([event.trace_id])
        return join_spans(event, spans.get(event.trace_id, []))

    async def joined(self, events: Sequence[InferenceEvent]) -> list[InferenceEvent]:
        """The decisions, each as its trace tells it (its prompt with the trace's retrieved
        documents and tool outputs, its response from a content event); in the same order.
        Decisions without a trace are returned as they are, with no query."""
        traced = [e.trace_id for e in events if e.trace_id]
        if not traced:
            return list(events)
        spans = await self.spans_of(traced)
        return [joined_decision(e, spans.get(e.trace_id, [])) if e.trace_id else e for e in events]
