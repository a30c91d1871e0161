"""Stored lines of the kinds `explain` shows, read without pydantic where that is certain.

An inference, and the feedback, agent actions and inquiries that name it, as plain objects
with their models' fields in their models' order (`thirdbook.domain.events` stays the
schema; tests/test_plain_events.py checks these mirror it and read every line alike).
`read_stored_line` gives what `parse_stored_line` would, or raises `Unsure` (see
`thirdbook.domain.plain_json`): a kind not here, any field its model might read otherwise,
a line its model refuses. The caller then asks the models.

They are dataclasses without equality or a repr, and not frozen: those cost a start twice
what the classes do, and nothing changes them or compares them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import MISSING, dataclass, field, fields
from datetime import datetime
from typing import Any, TypeVar

from thirdbook.domain.plain_json import (
    Check,
    Unsure,
    exactly,
    load,
    not_negative,
    number,
    obj,
    one_of,
    optional,
    text,
    time,
)

__all__ = [
    "AgentActionEvent",
    "DownstreamAction",
    "FeedbackEvent",
    "InferenceEvent",
    "InquiryEvent",
    "ModelRef",
    "Prompt",
    "Response",
    "RetrievedDocument",
    "ToolCall",
    "ToolOutput",
    "Unsure",
    "read_stored_line",
]

T = TypeVar("T")
_NONE_STR = optional(text)
_BOM = b"\xef\xbb\xbf"


def _c(check: Check) -> dict[str, Check]:
    """A field's metadata: it is read by `check`."""
    return {"check": check}


def _read(cls: type[T], value: Any) -> T:
    data = obj(value)
    found: dict[str, Any] = {}
    for f in fields(cls):  # type: ignore[arg-type]
        if f.name in data:
            found[f.name] = f.metadata["check"](data[f.name])
        elif f.default is MISSING:
            raise Unsure(f"no {f.name}")
    return cls(**found)


def _part(cls: type[T]) -> Callable[[Any], T]:
    return lambda value: _read(cls, value)


def _parts(cls: type[T]) -> Callable[[Any], tuple[T, ...]]:
    def read(value: Any) -> tuple[T, ...]:
        if type(value) is not list:
            raise Unsure("not an array")
        return tuple(_read(cls, item) for item in value)

    return read


@dataclass(kw_only=True, repr=False, eq=False)
class ModelRef:
    """`events.ModelRef`."""

    name: str = field(metadata=_c(text))
    version: str = field(metadata=_c(text))
    weights_hash: str | None = field(default=None, metadata=_c(_NONE_STR))
    alias: str | None = field(default=None, metadata=_c(_NONE_STR))


@dataclass(kw_only=True, repr=False, eq=False)
class RetrievedDocument:
    """`events.RetrievedDocument`."""

    id: str = field(metadata=_c(text))
    content_hash: str | None = field(default=None, metadata=_c(_NONE_STR))
    text: str | None = field(default=None, metadata=_c(_NONE_STR))


@dataclass(kw_only=True, repr=False, eq=False)
class ToolOutput:
    """`events.ToolOutput`."""

    tool: str = field(metadata=_c(text))
    output: str | None = field(default=None, metadata=_c(_NONE_STR))
    output_hash: str | None = field(default=None, metadata=_c(_NONE_STR))
    call_id: str | None = field(default=None, metadata=_c(_NONE_STR))


@dataclass(kw_only=True, repr=False, eq=False)
class Prompt:
    """`events.Prompt`."""

    template_id: str | None = field(default=None, metadata=_c(_NONE_STR))
    template_version: str | None = field(default=None, metadata=_c(_NONE_STR))
    system: str | None = field(default=None, metadata=_c(_NONE_STR))
    user: str | None = field(default=None, metadata=_c(_NONE_STR))
    retrieved: tuple[RetrievedDocument, ...] = field(
        default=(), metadata=_c(_parts(RetrievedDocument))
    )
    tool_outputs: tuple[ToolOutput, ...] = field(default=(), metadata=_c(_parts(ToolOutput)))


@dataclass(kw_only=True, repr=False, eq=False)
class ToolCall:
    """`events.ToolCall`."""

    id: str | None = field(default=None, metadata=_c(_NONE_STR))
    name: str = field(metadata=_c(text))
    arguments: str | None = field(default=None, metadata=_c(_NONE_STR))


@dataclass(kw_only=True, repr=False, eq=False)
class Response:
    """`events.Response`."""

    text: str | None = field(default=None, metadata=_c(_NONE_STR))
    decision: str | None = field(default=None, metadata=_c(_NONE_STR))
    score: float | None = field(default=None, metadata=_c(optional(number)))
    tool_calls: tuple[ToolCall, ...] = field(default=(), metadata=_c(_parts(ToolCall)))


@dataclass(kw_only=True, repr=False, eq=False)
class DownstreamAction:
    """`events.DownstreamAction`."""

    type: str = field(metadata=_c(text))
    target: str | None = field(default=None, metadata=_c(_NONE_STR))
    detail: str | None = field(default=None, metadata=_c(_NONE_STR))


@dataclass(kw_only=True, repr=False, eq=False)
class _Event:
    v: int = field(default=1, metadata=_c(exactly(1)))
    ts: datetime = field(metadata=_c(time))
    event_id: str | None = field(default=None, metadata=_c(_NONE_STR))


@dataclass(kw_only=True, repr=False, eq=False)
class InferenceEvent(_Event):
    """`events.InferenceEvent`."""

    kind: str = field(metadata=_c(one_of("inference")))
    request_id: str = field(metadata=_c(text))
    subject: str | None = field(default=None, metadata=_c(_NONE_STR))
    route: str = field(
        default="model", metadata=_c(one_of("model", "human", "fallback", "refused"))
    )
    model: ModelRef | None = field(default=None, metadata=_c(optional(_part(ModelRef))))
    routed_from: str | None = field(default=None, metadata=_c(_NONE_STR))
    prompt: Prompt | None = field(default=None, metadata=_c(optional(_part(Prompt))))
    response: Response | None = field(default=None, metadata=_c(optional(_part(Response))))
    action: DownstreamAction | None = field(
        default=None, metadata=_c(optional(_part(DownstreamAction)))
    )
    latency_ms: float | None = field(default=None, metadata=_c(optional(not_negative)))
    trace_id: str | None = field(default=None, metadata=_c(_NONE_STR))
    span_id: str | None = field(default=None, metadata=_c(_NONE_STR))
    parent_span_id: str | None = field(default=None, metadata=_c(_NONE_STR))


@dataclass(kw_only=True, repr=False, eq=False)
class FeedbackEvent(_Event):
    """`events.FeedbackEvent`."""

    kind: str = field(metadata=_c(one_of("feedback")))
    target: str = field(metadata=_c(text))
    category: str = field(metadata=_c(text))
    request_id: str | None = field(default=None, metadata=_c(_NONE_STR))
    subject: str | None = field(default=None, metadata=_c(_NONE_STR))
    reporter: str | None = field(default=None, metadata=_c(_NONE_STR))
    text: str | None = field(default=None, metadata=_c(_NONE_STR))


@dataclass(kw_only=True, repr=False, eq=False)
class AgentActionEvent(_Event):
    """`events.AgentActionEvent`."""

    kind: str = field(metadata=_c(one_of("agent_action")))
    agent: str = field(metadata=_c(text))
    tool: str = field(metadata=_c(text))
    target: str | None = field(default=None, metadata=_c(_NONE_STR))
    amount: float | None = field(default=None, metadata=_c(optional(number)))
    currency: str | None = field(default=None, metadata=_c(_NONE_STR))
    request_id: str | None = field(default=None, metadata=_c(_NONE_STR))
    subject: str | None = field(default=None, metadata=_c(_NONE_STR))
    outcome: str | None = field(default=None, metadata=_c(_NONE_STR))


@dataclass(kw_only=True, repr=False, eq=False)
class InquiryEvent(_Event):
    """`events.InquiryEvent`."""

    kind: str = field(metadata=_c(one_of("inquiry")))
    inquiry_id: str = field(metadata=_c(text))
    source: str = field(metadata=_c(text))
    request_id: str | None = field(default=None, metadata=_c(_NONE_STR))
    subject: str | None = field(default=None, metadata=_c(_NONE_STR))
    question: str | None = field(default=None, metadata=_c(_NONE_STR))
    due: datetime | None = field(default=None, metadata=_c(optional(time)))


PlainEvent = InferenceEvent | FeedbackEvent | AgentActionEvent | InquiryEvent
KINDS: dict[str, type[PlainEvent]] = {
    "inference": InferenceEvent,
    "feedback": FeedbackEvent,
    "agent_action": AgentActionEvent,
    "inquiry": InquiryEvent,
}
"""The kinds read here, by their `kind`."""


def read_stored_line(raw: bytes) -> PlainEvent:
    """The event of a stored raw line as `events.parse_stored_line` reads it (its times as
    the line gives them), or `Unsure`."""
    found = obj(load(raw.removeprefix(_BOM)))
    kind = found.get("kind")
    model = KINDS.get(kind) if type(kind) is str else None
    if model is None:
        raise Unsure("a kind not read here")
    return _read(model, found)
