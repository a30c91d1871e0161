"""OpenTelemetry GenAI spans as thirdbook events (the mapping the README's table documents).

- an inference span (`gen_ai.operation.name` chat, text_completion or generate_content, or
  OpenLLMetry's `llm.request.type`) is an inference event;
- a retrieval span, a tool execution span and an agent invocation span are `span` events of
  their trace, joined to the trace's inference when it is explained; a tool execution under
  an agent (the span or an ancestor in the same line names it) is also an agent action;
- a `gen_ai.evaluation.result` event is a metric event of the evaluated model.

What OpenTelemetry has no name for comes from `thirdbook.*` attributes, on the span or on
the resource (the span's win): see `THIRDBOOK_ATTRIBUTES`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from thirdbook.domain.events import (
    AgentActionEvent,
    DownstreamAction,
    Event,
    InferenceEvent,
    MetricEvent,
    ModelRef,
    Prompt,
    Response,
    SpanEvent,
    ToolCall,
    ToolOutput,
)
from thirdbook.domain.genai_messages import documents, messages, texts
from thirdbook.domain.otlp_values import as_number, as_text, structured

INFERENCE_OPERATIONS = frozenset({"chat", "text_completion", "generate_content"})
_LEGACY_REQUEST_TYPES = {"chat": "chat", "completion": "text_completion"}
EVALUATION_EVENT = "gen_ai.evaluation.result"
DETAILS_EVENT = "gen_ai.client.inference.operation.details"
DETAILS_OPERATION = "inference_details"
STATUS_ERROR = 2

THIRDBOOK_ATTRIBUTES: dict[str, str] = {
    "thirdbook.request_id": "the request id (else gen_ai.response.id, else trace/span id)",
    "thirdbook.subject": "the subject (else gen_ai.conversation.id)",
    "thirdbook.route": "model, human, fallback or refused",
    "thirdbook.routed_from": "the model a request was routed away from",
    "thirdbook.model.name": "the model's name (else gen_ai.request.model)",
    "thirdbook.model.version": "its version (else gen_ai.response.model)",
    "thirdbook.model.weights_hash": "the weights hash that identifies the version",
    "thirdbook.model.registry_alias": "the registry alias it was served under",
    "thirdbook.prompt.template_id": "the prompt template's id",
    "thirdbook.prompt.template_version": "the prompt template's version",
    "thirdbook.response.decision": "the decision the response carries (approve, decline)",
    "thirdbook.response.score": "the score behind it",
    "thirdbook.action.type": "the downstream action (an inference) or agent action detail",
    "thirdbook.action.target": "what the action was taken on",
    "thirdbook.action.detail": "more about the downstream action",
    "thirdbook.action.amount": "money an agent's tool moved (the lane trigger)",
    "thirdbook.action.currency": "its currency",
    "thirdbook.action.outcome": "the agent action's outcome (else the span's status)",
    "thirdbook.agent": "the agent a tool execution belongs to (else gen_ai.agent.name)",
    "thirdbook.window.start": "an evaluation's window start (ISO 8601), for drift bands",
    "thirdbook.window.end": "an evaluation's window end (ISO 8601)",
}
"""The `thirdbook.*` attributes read, each with what it sets."""


@dataclass(frozen=True)
class SpanView:
    """One span of a line, its attributes merged over its resource's `thirdbook.*` ones."""

    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    start: datetime | None
    end: datetime | None
    attrs: Mapping[str, Any]
    status_code: int = 0
    status_message: str = ""
    events: list[tuple[str, datetime | None, Mapping[str, Any]]] = field(default_factory=list)

    @property
    def operation(self) -> str | None:
        """`gen_ai.operation.name`, or what an older instrumentation says instead."""
        op = self.attrs.get("gen_ai.operation.name")
        if isinstance(op, str) and op:
            return op
        legacy = self.attrs.get("llm.request.type")
        if isinstance(legacy, str):
            return _LEGACY_REQUEST_TYPES.get(legacy, legacy)
        if "gen_ai.retrieval.documents" in self.attrs:
            return "retrieval"
        return None

    @property
    def at(self) -> datetime | None:
        """When it finished (else started): when a decision was served."""
        return self.end or self.start

    def text(self, key: str) -> str | None:
        """An attribute as text, None when absent or empty."""
        value = as_text(self.attrs.get(key))
        return value or None


def is_genai(span: SpanView) -> bool:
    """Whether a span is one thirdbook reads (other spans of a batch are left in the log;
    their `thirdbook.*` attributes pass to the spans under them)."""
    return span.operation is not None or any(k.startswith("gen_ai.") for k in span.attrs)


def inference_details(span: SpanView) -> SpanEvent:
    """A `gen_ai.client.inference.operation.details` record (the content of an inference
    span, captured as an event): a part of the trace that explain puts beside its span."""
    decision = _inference(span)
    return _part(span, DETAILS_OPERATION, prompt=decision.prompt, response=decision.response)


def events_of(span: SpanView, line: Mapping[str, SpanView]) -> list[Event]:
    """The events one span stands for; `line` holds the line's spans by span id (for an
    agent above a tool execution)."""
    op = span.operation
    out: list[Event] = []
    if op in INFERENCE_OPERATIONS:
        out.append(_inference(span))
    elif op == "execute_tool":
        out.extend(_tool(span, line))
    elif op in ("invoke_agent", "create_agent"):
        out.append(_part(span, op, agent=span.text("gen_ai.agent.name")))
    elif op == "retrieval" or "gen_ai.retrieval.documents" in span.attrs:
        out.append(_retrieval(span))
    elif op is not None:
        out.append(_part(span, op))
    for name, at, attrs in span.events:
        if name == EVALUATION_EVENT:
            out.append(evaluation(span, at or span.at, attrs))
    return out


def _model(attrs: Mapping[str, Any]) -> ModelRef | None:
    def text(key: str) -> str | None:
        return as_text(attrs.get(key)) or None

    name = text("thirdbook.model.name") or text("gen_ai.request.model")
    name = name or text("gen_ai.response.model")
    if name is None:
        return None
    version = text("thirdbook.model.version") or text("gen_ai.response.model") or name
    return ModelRef(
        name=name,
        version=version,
        weights_hash=text("thirdbook.model.weights_hash"),
        alias=text("thirdbook.model.registry_alias"),
    )


def _inference(span: SpanView) -> InferenceEvent:
    a = span.attrs
    inputs = messages(a, "gen_ai.input.messages", "gen_ai.prompt")
    outputs = messages(a, "gen_ai.output.messages", "gen_ai.completion")
    calls = {c["id"]: c for m in (*inputs, *outputs) for c in m.tool_calls if c.get("id")}
    system = texts(structured(a.get("gen_ai.system_instructions")))
    system_texts = [system] if system else []
    system_texts += [m.text for m in inputs if m.role in ("system", "developer") and m.text]
    rest = [m for m in inputs if m.role not in ("system", "developer")]
    user: str | None
    if len(rest) == 1 and rest[0].role == "user" and not rest[0].tool_calls:
        user = rest[0].text or None
    else:
        user = "\n".join(m.transcript() for m in rest if m.transcript()) or None
    tool_outputs = [
        ToolOutput(
            tool=str(calls.get(r["id"], {}).get("name") or r["id"] or "tool"),
            output=r["text"],
            call_id=r["id"] or None,
        )
        for m in inputs
        for r in m.tool_responses
    ]
    template = span.text("thirdbook.prompt.template_id")
    prompt = None
    if system_texts or user or tool_outputs or template:
        prompt = Prompt(
            system="\n".join(system_texts) or None,
            user=user,
            template_id=template,
            template_version=span.text("thirdbook.prompt.template_version"),
            retrieved=documents(a.get("gen_ai.retrieval.documents")),
            tool_outputs=tool_outputs,
        )
    answer = "\n".join(m.transcript(with_role=False) for m in outputs if m.transcript())
    decision = span.text("thirdbook.response.decision")
    score = as_number(a.get("thirdbook.response.score"))
    asked = [
        ToolCall(id=c.get("id"), name=str(c.get("name") or "tool"), arguments=c.get("arguments"))
        for m in outputs
        for c in m.tool_calls
    ]
    response = None
    if outputs or decision or score is not None:
        response = Response(text=answer or None, decision=decision, score=score, tool_calls=asked)
    action = None
    if span.text("thirdbook.action.type"):
        action = DownstreamAction(
            type=str(span.text("thirdbook.action.type")),
            target=span.text("thirdbook.action.target"),
            detail=span.text("thirdbook.action.detail"),
        )
    latency = None
    if span.start is not None and span.end is not None and span.end >= span.start:
        latency = (span.end - span.start).total_seconds() * 1000
    route = span.text("thirdbook.route") or "model"
    return InferenceEvent.model_validate(
        {
            "kind": "inference",
            "ts": span.at,
            "event_id": f"{span.trace_id}/{span.span_id}",
            "request_id": span.text("thirdbook.request_id")
            or span.text("gen_ai.response.id")
            or f"{span.trace_id}/{span.span_id}",
            "subject": span.text("thirdbook.subject") or span.text("gen_ai.conversation.id"),
            "route": route,
            "routed_from": span.text("thirdbook.routed_from"),
            "model": _model(a),
            "prompt": prompt,
            "response": response,
            "action": action,
            "latency_ms": latency,
            "trace_id": span.trace_id,
            "span_id": span.span_id,
            "parent_span_id": span.parent_span_id,
        }
    )


def _part(span: SpanView, operation: str, **fields: Any) -> SpanEvent:
    error = None
    if span.status_code == STATUS_ERROR:
        error = span.status_message or span.text("error.type") or "error"
    return SpanEvent(
        kind="span",
        ts=span.at,
        event_id=f"{span.trace_id}/{span.span_id}",
        request_id=span.trace_id,
        span_id=span.span_id,
        parent_span_id=span.parent_span_id,
        operation=operation,
        name=span.name,
        subject=span.text("thirdbook.subject") or span.text("gen_ai.conversation.id"),
        error=error,
        **fields,
    )


def _retrieval(span: SpanView) -> SpanEvent:
    return _part(
        span,
        "retrieval",
        retrieved=documents(span.attrs.get("gen_ai.retrieval.documents")),
        data_source=span.text("gen_ai.data_source.id"),
    )


def _tool(span: SpanView, line: Mapping[str, SpanView]) -> list[Event]:
    tool = span.text("gen_ai.tool.name") or span.name
    result = span.text("gen_ai.tool.call.result")
    part = _part(
        span,
        "execute_tool",
        tool_output=ToolOutput(tool=tool, output=result),
        tool_call_id=span.text("gen_ai.tool.call.id"),
        arguments=span.text("gen_ai.tool.call.arguments"),
        agent=_agent_of(span, line),
    )
    if part.agent is None:
        return [part]
    outcome = span.text("thirdbook.action.outcome")
    if outcome is None:
        outcome = f"error: {part.error}" if part.error else "ok"
    action = AgentActionEvent(
        kind="agent_action",
        ts=part.ts,
        event_id=part.event_id,
        agent=part.agent,
        tool=tool,
        target=span.text("thirdbook.action.target"),
        amount=as_number(span.attrs.get("thirdbook.action.amount")),
        currency=span.text("thirdbook.action.currency"),
        request_id=span.text("thirdbook.request_id") or span.trace_id,
        subject=part.subject,
        outcome=outcome,
    )
    return [part, action]


def _agent_of(span: SpanView, line: Mapping[str, SpanView]) -> str | None:
    """The agent a tool execution runs under: named on the span, else the nearest
    `invoke_agent` ancestor among the line's spans."""
    own = span.text("thirdbook.agent") or span.text("gen_ai.agent.name")
    if own:
        return own
    seen = {span.span_id}
    parent = line.get(span.parent_span_id or "")
    while parent is not None and parent.span_id not in seen:
        if parent.operation == "invoke_agent":
            return parent.text("gen_ai.agent.name") or parent.name or None
        seen.add(parent.span_id)
        parent = line.get(parent.parent_span_id or "")
    return None


def evaluation(span: SpanView, at: datetime | None, attrs: Mapping[str, Any]) -> Event:
    """A `gen_ai.evaluation.result` as a metric of the evaluated model; without a model or a
    score it is kept as a `span` event of its trace instead."""
    merged = {**span.attrs, **attrs}
    name = as_text(attrs.get("gen_ai.evaluation.name")) or "evaluation"
    value = as_number(attrs.get("gen_ai.evaluation.score.value"))
    model = _model(merged)
    if model is not None and value is not None:
        return MetricEvent.model_validate(
            {
                "kind": "metric",
                "ts": at or span.at,
                "model": model,
                "metric": name,
                "value": value,
                "window_start": as_text(merged.get("thirdbook.window.start")),
                "window_end": as_text(merged.get("thirdbook.window.end")),
            }
        )
    label = as_text(attrs.get("gen_ai.evaluation.score.label"))
    said = f"{name}: {value if value is not None else label or 'no score'}"
    why = "no model is named" if model is None else "no numeric score"
    return _part(span, "evaluation", detail=f"{said} (not a metric: {why})")
