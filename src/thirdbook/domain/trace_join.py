"""A decision's OpenTelemetry trace, joined (pure): its retrieval and tool spans, from
whichever line or file they arrived in, folded into its prompt; what never arrived, named.

A span of the trace feeds the decision when it ended before the decision started (a
retrieval), or when its tool call is one the prompt answers (a tool execution). Spans are
joined when the decision is read, not when they are ingested, so the order they arrive in
does not matter and a trace whose parts never all arrive is still read. The store reads a
trace's spans (`thirdbook.store.traces`); everything that reads a decision's prompt (explain,
replay, baselines, the chain diff, the unexplainable trigger) reads it joined.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from thirdbook.domain.events import InferenceEvent, Prompt, Response, SpanEvent
from thirdbook.domain.explanation import TraceJoin, TracePart
from thirdbook.domain.otlp_genai import DETAILS_OPERATION

_SLACK = timedelta(milliseconds=1)

Spans = Sequence[tuple[int, SpanEvent]]
"""A trace's spans in the store, oldest first, each with its event id."""


def span_summary(span: SpanEvent) -> str:
    """One line about a span part."""
    if span.operation == "retrieval":
        ids = ", ".join(d.id for d in span.retrieved[:5]) or "no documents"
        said = f"retrieval from {span.data_source or '-'}: {ids}"
    elif span.operation == "execute_tool" and span.tool_output is not None:
        output = (span.tool_output.output or "-")[:80]
        said = f"tool {span.tool_output.tool} call {span.tool_call_id or '-'}: {output}"
    elif span.operation == DETAILS_OPERATION:
        said = "the inference's content, captured as an event"
    elif span.agent and span.operation in ("invoke_agent", "create_agent"):
        said = f"{span.operation} {span.agent}"
    else:
        said = span.detail or f"{span.operation} {span.name}".strip()
    return f"{said} (error: {span.error})" if span.error else said


def join_spans(
    event: InferenceEvent, spans: Spans
) -> tuple[Prompt | None, Response | None, TraceJoin | None]:
    """The decision's prompt with its trace's retrieved documents and tool outputs added,
    its response (from its content event when the span carried none), and the trace as the
    store holds it; (its prompt, its response, None) for a decision with no trace."""
    prompt, response = event.prompt, event.response
    if not event.trace_id:
        return prompt, response, None
    for _, span in spans:
        if span.operation == DETAILS_OPERATION and span.span_id == event.span_id:
            prompt = _fill(prompt, span.prompt)
            response = response or span.response
    prompt, trace = _joined(event, prompt, spans)
    return prompt, response, trace


def joined_decision(event: InferenceEvent, spans: Spans) -> InferenceEvent:
    """The decision as its trace tells it: its prompt and response joined (`join_spans`);
    the event itself when its trace adds nothing."""
    prompt, response, _ = join_spans(event, spans)
    if prompt == event.prompt and response == event.response:
        return event
    return event.model_copy(update={"prompt": prompt, "response": response})


def _fill(prompt: Prompt | None, content: Prompt | None) -> Prompt | None:
    """A span's prompt with what its content event says where the span says nothing (the
    template, a `thirdbook.*` attribute, stays the span's)."""
    if prompt is None or content is None:
        return prompt or content
    update = {
        name: getattr(content, name)
        for name in ("system", "user", "retrieved", "tool_outputs")
        if not getattr(prompt, name) and getattr(content, name)
    }
    return prompt.model_copy(update=update) if update else prompt


def _joined(
    event: InferenceEvent, prompt: Prompt | None, spans: Spans
) -> tuple[Prompt | None, TraceJoin]:
    assert event.trace_id is not None
    started = event.ts - timedelta(milliseconds=event.latency_ms or 0) + _SLACK
    fed = {t.call_id for t in (prompt.tool_outputs if prompt else []) if t.call_id}
    retrieved = list(prompt.retrieved) if prompt else []
    outputs = list(prompt.tool_outputs) if prompt else []
    parts = []
    for event_id, span in spans:
        joined = False
        if span.operation == DETAILS_OPERATION:
            joined = span.span_id == event.span_id
        elif span.operation == "retrieval" and span.ts <= started:
            known = {d.id for d in retrieved}
            retrieved += [d for d in span.retrieved if d.id not in known]
            joined = True
        elif span.operation == "execute_tool" and span.tool_output is not None:
            if span.tool_call_id and span.tool_call_id in fed:
                joined = True  # the prompt carries its output already
            elif not span.tool_call_id and span.ts <= started:
                outputs.append(span.tool_output)
                joined = True
        parts.append(
            TracePart(
                event_id=event_id,
                span_id=span.span_id,
                operation=span.operation,
                summary=span_summary(span),
                joined=joined,
            )
        )
    if prompt is not None and (len(retrieved), len(outputs)) != (
        len(prompt.retrieved),
        len(prompt.tool_outputs),
    ):
        prompt = prompt.model_copy(update={"retrieved": retrieved, "tool_outputs": outputs})
    elif prompt is None and (retrieved or outputs):
        prompt = Prompt(retrieved=retrieved, tool_outputs=outputs)
    return prompt, TraceJoin(
        trace_id=event.trace_id,
        span_id=event.span_id,
        parts=parts,
        missing=_missing(event, {s.tool_call_id for _, s in spans if s.tool_call_id}),
    )


def _missing(event: InferenceEvent, arrived: set[str | None]) -> list[str]:
    """The spans the decision names that are not in the store."""
    out = []
    for tool in event.prompt.tool_outputs if event.prompt else []:
        if tool.call_id and tool.call_id not in arrived:
            out.append(
                f"the execute_tool span of tool call {tool.call_id} ({tool.tool}) has not "
                "arrived; the prompt's copy of its output is shown"
            )
    for call in event.response.tool_calls if event.response else []:
        if call.id and call.id not in arrived:
            out.append(
                f"tool call {call.id} ({call.name}) that the model asked for: no execute_tool "
                "span of it has arrived"
            )
    return out
