"""The thirdbook event format, v1: one JSON object per line, `kind` says which.

An inference record carries the four things on tape (model version with weights hash, the
prompt as sent, the response, the downstream action). Any of them may be absent in a record
that is still well formed: a missing one is what makes a decision unexplainable, and that is
for triggers to judge, not for ingest to refuse.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from thirdbook.domain.records import TS_FIRST, TS_LAST, in_store_range, to_us, within_store_range

SCHEMA_VERSION = 1

EventKind = Literal["inference", "metric", "feedback", "agent_action", "change", "inquiry", "span"]
EVENT_KINDS: tuple[str, ...] = (
    "inference",
    "metric",
    "feedback",
    "agent_action",
    "change",
    "inquiry",
    "span",
)

Route = Literal["model", "human", "fallback", "refused"]


class _Part(BaseModel):
    """A nested part of an event; unknown keys are ignored (the raw line keeps them)."""

    # A number is finite: NaN compares false with every band, so a NaN metric could never
    # trip its rule (and "NaN" or "inf" as a string would otherwise be read as one). Each
    # model's validator is built when it is first used: a command reading one kind of event
    # does not pay for them all.
    model_config = ConfigDict(extra="ignore", frozen=True, allow_inf_nan=False, defer_build=True)


class ModelRef(_Part):
    """The exact model version: the weights hash, not just a name, identifies it."""

    name: str
    version: str
    weights_hash: str | None = None
    alias: str | None = Field(
        default=None, description="The registry alias it was served under (serving, canary)."
    )


class RetrievedDocument(_Part):
    """A document retrieved into the prompt's context."""

    id: str
    content_hash: str | None = None
    text: str | None = None


class ToolOutput(_Part):
    """The output of a tool call that was fed back into the prompt."""

    tool: str
    output: str | None = None
    output_hash: str | None = None
    call_id: str | None = Field(default=None, description="The tool call it answers.")


class Prompt(_Part):
    """The prompt as sent to the model."""

    template_id: str | None = None
    template_version: str | None = None
    system: str | None = None
    user: str | None = None
    retrieved: list[RetrievedDocument] = Field(default_factory=list)
    tool_outputs: list[ToolOutput] = Field(default_factory=list)


class ToolCall(_Part):
    """A tool call the model asked for in its response."""

    id: str | None = None
    name: str
    arguments: str | None = None


class Response(_Part):
    """What the model (or the fallback) answered."""

    text: str | None = None
    decision: str | None = None
    score: float | None = None
    tool_calls: list[ToolCall] = Field(default_factory=list)


class DownstreamAction(_Part):
    """What the system did with the response."""

    type: str
    target: str | None = None
    detail: str | None = None


class _Event(BaseModel):
    """Fields every event has."""

    model_config = ConfigDict(extra="ignore", frozen=True, allow_inf_nan=False, defer_build=True)

    v: Literal[1] = 1
    ts: AwareDatetime
    event_id: str | None = None


class InferenceEvent(_Event):
    """One decision or answer served, with the four things on tape."""

    kind: Literal["inference"]
    request_id: str
    subject: str | None = None
    route: Route = "model"
    model: ModelRef | None = None
    routed_from: str | None = Field(
        default=None,
        description="On a request routed away from a model (its `route` is not `model`): "
        "that model (or agent), whose kill switch sent the request elsewhere.",
    )
    prompt: Prompt | None = None
    response: Response | None = None
    action: DownstreamAction | None = None
    latency_ms: float | None = Field(default=None, ge=0)
    trace_id: str | None = Field(
        default=None,
        description="The OpenTelemetry trace the decision was served in: its retrieval, tool "
        "and agent spans (kind `span`) are joined to it by this id.",
    )
    span_id: str | None = None
    parent_span_id: str | None = None


class MetricEvent(_Event):
    """One window of a behavioural metric for a model version."""

    kind: Literal["metric"]
    model: ModelRef
    metric: str
    value: float
    window_start: AwareDatetime | None = None
    window_end: AwareDatetime | None = None


class FeedbackEvent(_Event):
    """A user's report that the system did something wrong."""

    kind: Literal["feedback"]
    target: str = Field(description="The model or agent the report is against.")
    category: str
    request_id: str | None = None
    subject: str | None = None
    reporter: str | None = None
    text: str | None = None


class AgentActionEvent(_Event):
    """An action an autonomous agent took on the world."""

    kind: Literal["agent_action"]
    agent: str
    tool: str
    target: str | None = None
    amount: float | None = None
    currency: str | None = None
    request_id: str | None = None
    subject: str | None = None
    outcome: str | None = None


class ChangeEvent(_Event):
    """A change to the estate: a deploy, a prompt edit, a config change, a rollback."""

    kind: Literal["change"]
    change_type: str
    model: ModelRef | None = None
    description: str | None = None
    actor: str | None = None


class InquiryEvent(_Event):
    """A question from outside (a regulator, a customer) about a decision."""

    kind: Literal["inquiry"]
    inquiry_id: str
    source: str
    request_id: str | None = None
    subject: str | None = None
    question: str | None = None
    due: AwareDatetime | None = None


class SpanEvent(_Event):
    """A part of an OpenTelemetry trace that a decision in the same trace draws on: the
    documents a retrieval returned, a tool's output, an agent invocation, an evaluation no
    model could be named for. Its `request_id` is the trace id, which joins it."""

    kind: Literal["span"]
    request_id: str = Field(description="The trace id (32 hex digits).")
    span_id: str
    parent_span_id: str | None = None
    operation: str = Field(description="`gen_ai.operation.name`, e.g. execute_tool.")
    name: str = ""
    retrieved: list[RetrievedDocument] = Field(default_factory=list)
    data_source: str | None = None
    tool_output: ToolOutput | None = None
    tool_call_id: str | None = None
    arguments: str | None = None
    agent: str | None = None
    subject: str | None = None
    error: str | None = None
    detail: str | None = None
    prompt: Prompt | None = Field(
        default=None, description="An inference's content, captured as an event of its span."
    )
    response: Response | None = None


AnyEvent = (
    InferenceEvent
    | MetricEvent
    | FeedbackEvent
    | AgentActionEvent
    | ChangeEvent
    | InquiryEvent
    | SpanEvent
)
Event = Annotated[AnyEvent, Field(discriminator="kind")]
"""Any v1 event, told apart by its `kind`."""

EVENT_MODELS: dict[str, type[AnyEvent]] = {
    "inference": InferenceEvent,
    "metric": MetricEvent,
    "feedback": FeedbackEvent,
    "agent_action": AgentActionEvent,
    "change": ChangeEvent,
    "inquiry": InquiryEvent,
    "span": SpanEvent,
}
"""Each kind's model."""


@cache
def event_adapter() -> TypeAdapter[Event]:
    """The validator of any v1 event (built on first use: it builds every kind's model)."""
    return TypeAdapter(Event)


def __getattr__(name: str) -> Any:
    if name == "EVENT_ADAPTER":  # `event_adapter()`, by its old name
        return event_adapter()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def event_json_schema() -> dict[str, object]:
    """The JSON Schema of the v1 event format, generated from the models."""
    schema = event_adapter().json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://thirdbook.dev/schema/events/v{SCHEMA_VERSION}.json"
    schema["title"] = f"thirdbook event v{SCHEMA_VERSION}"
    return schema


def model_of(event: Event) -> tuple[str | None, str | None, str | None]:
    """The (name, version, weights hash) an event is about, as far as it says. A request
    routed away from a model is about that model, though no version of it served."""
    if isinstance(event, AgentActionEvent):
        return event.agent, None, None
    if isinstance(event, FeedbackEvent):
        return event.target, None, None
    model = getattr(event, "model", None)
    if model is None:
        return getattr(event, "routed_from", None), None, None
    return model.name, model.version, model.weights_hash


_LATER_TIMES = {"metric": ("window_start", "window_end"), "inquiry": ("due",)}
"""The times an event may carry besides `ts`, by kind."""

STORE_RANGE = f"{TS_FIRST:%Y-%m-%dT%H:%M:%S}Z to {TS_LAST:%Y-%m-%dT%H:%M:%S.%f}Z"


def _outside(name: str, value: datetime) -> str:
    return f"{name} {value.isoformat()} is outside the times the store keeps ({STORE_RANGE})"


def unkeepable_time(event: Event, ts_us: int) -> str | None:
    """Why the store cannot keep `event` (`ts_us` is its `ts` in microseconds): the first of
    its times outside the store's range, as a reject reason; None when every time fits."""
    if not in_store_range(ts_us):
        return _outside("ts", event.ts)
    for name in _LATER_TIMES.get(event.kind, ()):
        value = getattr(event, name)
        if value is not None and not in_store_range(to_us(value)):
            return _outside(name, value)
    return None


def within_range(event: Event) -> Event:
    """`event` with any time outside the store's range moved to the nearest edge of it: how a
    reader sees a row an older version stored, so no time arithmetic can overflow."""
    update = {
        name: within_store_range(value)
        for name in ("ts", *_LATER_TIMES.get(event.kind, ()))
        if (value := getattr(event, name)) is not None and not in_store_range(to_us(value))
    }
    return event.model_copy(update=update) if update else event


BOM = b"\xef\xbb\xbf"
"""A UTF-8 byte order mark, which a file's first line may carry (and its raw line keeps)."""


_KIND = re.compile(rb'"kind"\s*:\s*"([a-z_]+)"')


def parse_stored_line(raw: bytes) -> Event | None:
    """The event of a stored raw line, its times within the store's range; None if the line
    no longer validates (as a NaN an older version let in does not): it was valid when it
    was ingested, so a reader skips it rather than stop.

    The line is read by the model of the first `kind` it names, which builds that model
    alone; only where that fails (the first `kind` was a nested one, or the line no longer
    validates) does the union of every kind decide. A kind's model accepts a line only if
    the line's own `kind` is that kind, so either way the event is the union's."""
    line = raw.removeprefix(BOM)
    named = _KIND.search(line)
    model = None if named is None else EVENT_MODELS.get(named[1].decode())
    if model is not None:
        try:
            return within_range(model.model_validate_json(line))
        except ValidationError:
            pass
    try:
        return within_range(event_adapter().validate_json(line))
    except ValidationError:
        return None


ON_TAPE = ("model version and weights hash", "prompt as sent", "response", "downstream action")
"""The four things every decision record must carry to be explainable."""


def missing_on_tape(decision: InferenceEvent) -> list[str]:
    """Which of the four things on tape a decision record lacks (empty: explainable)."""
    missing = []
    if decision.model is None or not decision.model.weights_hash:
        missing.append(ON_TAPE[0])
    prompt = decision.prompt
    if prompt is None or not (prompt.system or prompt.user or prompt.template_id):
        missing.append(ON_TAPE[1])
    if decision.response is None:
        missing.append(ON_TAPE[2])
    if decision.action is None:
        missing.append(ON_TAPE[3])
    return missing
