"""The application the fixtures record: a support assistant calling the OpenAI client.

The same code runs under both instrumentations. Where opentelemetry-util-genai is given
(`Agentic`), the tool scenario also records the agent, retrieval and tool spans through its
TelemetryHandler; otherwise only the instrumented client calls produce GenAI spans.
What OpenTelemetry has no name for goes into `thirdbook.*` attributes on the application's own
span (`thirdbook.subject`, the prompt template) and, through `WeightsStamp`, on every
inference span (`thirdbook.model.weights_hash`, `thirdbook.model.registry_alias`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext, suppress
from typing import Any, Protocol

import openai
from fake_server import UNKNOWN_MODEL
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

MODEL = "gpt-4o-mini"
WEIGHTS_HASH = "sha256:5f0c1e9a7b3d2c4e8f6a1b0d9c7e5a3f2b1d4c6e8a0f9b7d5c3e1a2b4d6f8e0c"
REGISTRY_ALIAS = "support-assistant@prod"
SYSTEM = "You are the support assistant of Acme Payments. Answer in two sentences."
TOOLS: list[Any] = [
    {
        "type": "function",
        "function": {
            "name": "get_incident",
            "description": "Look an incident up in the incident tracker.",
            "parameters": {
                "type": "object",
                "properties": {
                    "incident_id": {"type": "string"},
                    "include_timeline": {"type": "boolean"},
                },
                "required": ["incident_id"],
            },
        },
    }
]
INCIDENT = {"id": "INC-1042", "severity": "SEV2", "opened": "2026-01-01T09:12:00Z"}
DOCUMENTS = [
    {"id": "runbook/refund-bot#rollback", "score": 0.91},
    {"id": "runbook/refund-bot#limits", "score": 0.78},
]


class WeightsStamp(SpanProcessor):
    """Stamps the served model's weights hash and registry alias on each inference span."""

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        attributes = span.attributes or {}
        is_inference = attributes.get("gen_ai.operation.name") in {"chat", "text_completion"}
        if is_inference or span.name.startswith(("chat ", "openai.chat")):
            span.set_attribute("thirdbook.model.weights_hash", WEIGHTS_HASH)
            span.set_attribute("thirdbook.model.registry_alias", REGISTRY_ALIAS)

    def on_end(self, span: ReadableSpan) -> None:
        """Nothing to do at the end."""


class Agentic(Protocol):
    """The part of util-genai's TelemetryHandler the tool scenario uses."""

    def invoke_local_agent(self, *, request_model: str | None, agent_name: str | None) -> Any: ...
    def retrieval(self, *, data_source_id: str | None, provider: str | None) -> Any: ...
    def tool(self, name: str, *, tool_call_id: str | None, tool_type: str | None) -> Any: ...


@contextmanager
def _request_span(route: str, subject: str) -> Iterator[trace.Span]:
    """The application's own server span, with the `thirdbook.*` facts it knows."""
    tracer = trace.get_tracer("support-assistant")
    with tracer.start_as_current_span(f"POST {route}", kind=trace.SpanKind.SERVER) as span:
        span.set_attribute("http.request.method", "POST")
        span.set_attribute("http.route", route)
        span.set_attribute("thirdbook.subject", subject)
        span.set_attribute("thirdbook.prompt.template_id", "support-answer")
        span.set_attribute("thirdbook.prompt.template_version", "7")
        yield span


def plain_chat(client: openai.OpenAI) -> None:
    """A system and a user message, one answer."""
    with _request_span("/v1/answer", "customer-4711"):
        client.chat.completions.create(
            model=MODEL,
            messages=[
                {"role": "system", "content": SYSTEM},
                {"role": "user", "content": "Where is my refund for order 8812?"},
            ],
            temperature=0.2,
            max_tokens=200,
            seed=7,
            user="customer-4711",
        )


def streaming_chat(client: openai.OpenAI) -> None:
    """The same question, streamed, with usage in the last chunk."""
    with _request_span("/v1/answer/stream", "customer-4712"):
        stream = client.chat.completions.create(
            model=MODEL,
            messages=[
                {"role": "system", "content": SYSTEM},
                {"role": "user", "content": "Where is my refund for order 8813?"},
            ],
            stream=True,
            stream_options={"include_usage": True},
        )
        for _chunk in stream:
            pass


def failed_chat(client: openai.OpenAI) -> None:
    """A request for a model the server does not have: a 404 and an error span."""
    with _request_span("/v1/answer", "customer-4713"), suppress(openai.NotFoundError):
        client.chat.completions.create(
            model=UNKNOWN_MODEL,
            messages=[{"role": "user", "content": "Where is my refund for order 8814?"}],
        )


def tool_chat(client: openai.OpenAI, flush: Callable[[], None], genai: Agentic | None) -> None:
    """An agent turn: retrieve runbook passages, the model asks for a tool, the tool runs, the
    model answers. The spans are flushed once in the middle, so the trace spans two lines."""
    question = "What is going on with INC-1042 and what should I do?"
    messages: list[Any] = [
        {"role": "system", "content": "You are the on-call assistant. Use the tools."},
        {"role": "user", "content": question},
    ]
    with _request_span("/v1/triage", "incident-INC-1042"):
        agent = (
            genai.invoke_local_agent(request_model=MODEL, agent_name="triage-agent")
            if genai
            else nullcontext()
        )
        with agent:
            if genai:
                _describe_agent(agent, question)
                with genai.retrieval(data_source_id="runbooks", provider="chroma") as retrieval:
                    retrieval.query_text = question
                    retrieval.top_k = 2.0
                    retrieval.documents = DOCUMENTS
            first = client.chat.completions.create(model=MODEL, messages=messages, tools=TOOLS)
            flush()
            call = (first.choices[0].message.tool_calls or [])[0]
            result = _run_tool(genai, call)
            messages.append(first.choices[0].message.model_dump(exclude_none=True))
            messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
            final = client.chat.completions.create(model=MODEL, messages=messages, tools=TOOLS)
            if genai:
                _finish_agent(agent, final.choices[0].message.content or "")


def _run_tool(genai: Agentic | None, call: Any) -> str:
    arguments = json.loads(call.function.arguments)
    result = json.dumps({**INCIDENT, "asked": arguments})
    if genai is None:
        return result
    with genai.tool(call.function.name, tool_call_id=call.id, tool_type="function") as tool:
        tool.arguments = arguments
        tool.tool_result = json.loads(result)
    return result


def _describe_agent(agent: Any, question: str) -> None:
    from opentelemetry.util.genai.types import InputMessage, Text

    agent.conversation_id = "conv_INC-1042-triage"
    agent.agent_id = "agent_triage_01"
    agent.agent_description = "Triages incidents from the tracker and the runbooks."
    agent.attributes["thirdbook.subject"] = "incident-INC-1042"
    agent.input_messages = [InputMessage(role="user", parts=[Text(content=question)])]


def _finish_agent(agent: Any, answer: str) -> None:
    from opentelemetry.util.genai.types import OutputMessage, Text

    agent.output_messages = [
        OutputMessage(role="assistant", parts=[Text(content=answer)], finish_reason="stop")
    ]


def run_all(client: openai.OpenAI, flush: Callable[[], None], genai: Agentic | None) -> None:
    """Every scenario, one exported line (or two, for the tool turn) each."""
    for scenario in (plain_chat, streaming_chat, failed_chat):
        scenario(client)
        flush()
    tool_chat(client, flush, genai)
    flush()
