"""OTLP JSON lines in (`format = "otlp-json"`): what OTLP/JSON really carries, the GenAI
mapping, traces joined across lines and files, and the lines that are refused."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import ingest_once, reject_reasons
from thirdbook.config import SourceConfig
from thirdbook.domain.events import AgentActionEvent, InferenceEvent, MetricEvent, SpanEvent
from thirdbook.domain.formats import format_named
from thirdbook.domain.line_format import LineReject
from thirdbook.domain.otlp_writer import otlp_lines
from thirdbook.domain.records import EventFilter
from thirdbook.services.factory import build_services
from thirdbook.store import Store

TRACE = "5b8efff798038103d269b633813fc60c"
OTLP = format_named("otlp-json")


def attr(key: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"key": key, "value": value}


def text(key: str, value: str) -> dict[str, Any]:
    return attr(key, {"stringValue": value})


def span(span_id: str, op: str, *attrs: dict[str, Any], **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "traceId": TRACE,
        "spanId": span_id,
        "name": f"{op} x",
        "kind": 3,
        "startTimeUnixNano": "1764590400000000000",
        "endTimeUnixNano": "1764590400250000000",
        "attributes": [text("gen_ai.operation.name", op), *attrs],
        "status": {"code": 0},
    }
    body.update(fields)
    return body


def line(*spans: dict[str, Any], resource: list[dict[str, Any]] | None = None) -> bytes:
    doc = {
        "resourceSpans": [
            {
                "resource": {"attributes": resource or [text("service.name", "credit")]},
                "scopeSpans": [{"scope": {"name": "test"}, "spans": list(spans)}],
            }
        ]
    }
    return json.dumps(doc).encode()


def messages(role: str, content: str) -> str:
    return json.dumps([{"role": role, "parts": [{"type": "text", "content": content}]}])


def events_of(raw: bytes) -> list[Any]:
    found = OTLP.parse_line(raw)
    assert not isinstance(found, LineReject), found
    return [e.event for e in found]


def chat(span_id: str = "00f067aa0ba902b7", *extra: dict[str, Any], **fields: Any) -> dict:
    return span(
        span_id,
        "chat",
        text("gen_ai.request.model", "credit-scorer"),
        text("gen_ai.response.model", "credit-scorer-v7"),
        text("gen_ai.response.id", "chatcmpl-77"),
        text("gen_ai.conversation.id", "conv-9"),
        text("gen_ai.system_instructions", json.dumps([{"type": "text", "content": "Be fair."}])),
        text("gen_ai.input.messages", messages("user", "Applicant 7 asks for 5000.")),
        text("gen_ai.output.messages", messages("assistant", "Declined: thin file")),
        *extra,
        **fields,
    )


def test_an_inference_span_is_a_decision_with_its_four_things_on_tape() -> None:
    (event,) = events_of(
        line(
            chat(
                "00f067aa0ba902b7",
                text("thirdbook.response.decision", "decline"),
                text("thirdbook.action.type", "letter"),
                text("thirdbook.prompt.template_id", "credit-decision"),
            ),
            resource=[text("thirdbook.model.weights_hash", "sha256:77")],
        )
    )
    assert isinstance(event, InferenceEvent)
    assert event.request_id == "chatcmpl-77" and event.subject == "conv-9"
    assert event.model is not None
    assert (event.model.name, event.model.version) == ("credit-scorer", "credit-scorer-v7")
    assert event.model.weights_hash == "sha256:77"  # from the resource: one attribute
    assert event.prompt is not None and event.prompt.system == "Be fair."
    assert event.prompt.user == "Applicant 7 asks for 5000."
    assert event.prompt.template_id == "credit-decision"
    assert event.response is not None and event.response.text == "Declined: thin file"
    assert event.response.decision == "decline"
    assert event.action is not None and event.action.type == "letter"
    assert event.latency_ms == 250.0 and event.ts.isoformat() == "2025-12-01T12:00:00.250000+00:00"
    assert (event.trace_id, event.span_id) == (TRACE, "00f067aa0ba902b7")


def test_every_anyvalue_type_and_int64_as_strings_are_read() -> None:
    nested = {
        "kvlistValue": {
            "values": [
                attr("n", {"intValue": "12"}),
                attr("flags", {"arrayValue": {"values": [{"boolValue": True}, {}]}}),
            ]
        }
    }
    raw = line(
        chat(
            "00f067aa0ba902b7",
            attr("thirdbook.response.score", {"doubleValue": "0.25"}),
            attr("thirdbook.action.type", {"stringValue": "letter"}),
            attr("thirdbook.action.detail", nested),
            attr("thirdbook.action.target", {"bytesValue": base64.b64encode(b"\x01\xff").decode()}),
            attr("thirdbook.route", {"stringValue": "model"}),
            attr("gen_ai.usage.input_tokens", {"intValue": "9007199254740993"}),
            attr("thirdbook.subject", {"intValue": 42}),
        ),
    )
    (event,) = events_of(raw)
    assert event.response.score == 0.25
    assert event.action.detail == '{"n":12,"flags":[true,null]}'
    assert event.action.target == "01ff"  # bytes kept as hex text
    assert event.subject == "42"


@pytest.mark.parametrize(
    ("attribute", "reason"),
    [
        (attr("x", {"intValue": "twelve"}), "intValue must be an integer"),
        (attr("x", {"boolValue": "yes"}), "boolValue must be true or false"),
        (attr("x", {"bytesValue": "!!"}), "bytesValue is not base64"),
        (attr("x", {"stringValue": "a", "intValue": "1"}), "exactly one case"),
        (attr("x", {"mapValue": {}}), "unknown AnyValue case 'mapValue'"),
    ],
)
def test_a_malformed_value_refuses_the_line_saying_what(attribute: dict, reason: str) -> None:
    refused = OTLP.parse_line(line(chat("00f067aa0ba902b7", attribute)))
    assert isinstance(refused, LineReject) and reason in refused.reason
    assert refused.reason.startswith("wrong shape: ")


def test_base64_ids_and_numeric_times_are_read_as_hex_and_times() -> None:
    body = chat("00f067aa0ba902b7", startTimeUnixNano=1764590400000000000)
    body["traceId"] = base64.b64encode(bytes.fromhex(TRACE)).decode()
    (event,) = events_of(line(body))
    assert event.trace_id == TRACE and event.latency_ms == 250.0


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b"\x28\xb5\x2f\xfd\x04\x00abc", "zstd-compressed data"),
        (b"\x00\x00\x01\x2c\x0a\x8a\x02\x0a\x1d", "length-prefixed OTLP protobuf (a 300-byte"),
        (b"\x0a\x8a\x02\x0a\x1d\x0a\x0c\xff", "binary data (invalid UTF-8 at byte 1"),
        (b'{"resourceSpans": [', "invalid JSON"),
        (b'{"spans": []}', "an OTLP JSON line is an object with resourceSpans"),
    ],
)
def test_what_is_not_otlp_json_is_refused_saying_what_it_looks_like(raw: bytes, says: str) -> None:
    refused = OTLP.parse_line(raw)
    assert isinstance(refused, LineReject) and says in refused.reason


def test_spans_that_are_not_genai_stay_in_the_log_and_metrics_lines_are_fine() -> None:
    http = span("1111111111111111", "chat")
    http["attributes"] = [text("http.request.method", "POST")]
    assert events_of(line(http)) == []
    assert events_of(b'{"resourceMetrics": []}') == []


def test_a_tool_execution_under_an_agent_is_an_agent_action_for_the_lane_trigger() -> None:
    agent = span("a000000000000001", "invoke_agent", text("gen_ai.agent.name", "refunds"))
    tool = span(
        "a000000000000002",
        "execute_tool",
        text("gen_ai.tool.name", "issue_refund"),
        text("gen_ai.tool.call.id", "call_1"),
        text("gen_ai.tool.call.arguments", '{"amount": 90}'),
        text("gen_ai.tool.call.result", "refunded"),
        attr("thirdbook.action.amount", {"doubleValue": 90.0}),
        text("thirdbook.action.currency", "EUR"),
        parentSpanId="a000000000000001",
        status={"code": 2, "message": "bank timeout"},
    )
    part, action, agent_part = events_of(line(tool, agent))
    assert isinstance(part, SpanEvent) and part.tool_output is not None
    assert (part.tool_output.tool, part.tool_output.output) == ("issue_refund", "refunded")
    assert part.agent == "refunds" and part.error == "bank timeout"
    assert isinstance(action, AgentActionEvent)
    assert (action.agent, action.tool, action.amount, action.currency) == (
        "refunds",
        "issue_refund",
        90.0,
        "EUR",
    )
    assert action.outcome == "error: bank timeout" and action.request_id == TRACE
    assert isinstance(agent_part, SpanEvent) and agent_part.operation == "invoke_agent"


def test_an_evaluation_event_is_a_metric_of_the_evaluated_model() -> None:
    evaluated = chat(
        "00f067aa0ba902b7",
        events=[
            {
                "timeUnixNano": "1764590401000000000",
                "name": "gen_ai.evaluation.result",
                "attributes": [
                    text("gen_ai.evaluation.name", "relevance"),
                    attr("gen_ai.evaluation.score.value", {"doubleValue": 0.4}),
                ],
            }
        ],
    )
    decision, metric = events_of(line(evaluated))
    assert isinstance(decision, InferenceEvent)
    assert isinstance(metric, MetricEvent) and metric.metric == "relevance"
    assert metric.value == 0.4 and metric.model.name == "credit-scorer"
    logs = {
        "resourceLogs": [
            {
                "scopeLogs": [
                    {
                        "logRecords": [
                            {
                                "timeUnixNano": "1764590401000000000",
                                "eventName": "gen_ai.evaluation.result",
                                "traceId": TRACE,
                                "attributes": [
                                    text("gen_ai.evaluation.name", "toxicity"),
                                    attr("gen_ai.evaluation.score.value", {"doubleValue": 0.1}),
                                ],
                            }
                        ]
                    }
                ]
            }
        ]
    }
    (kept,) = events_of(json.dumps(logs).encode())
    # No model named: kept in its trace, not a metric no band could be about.
    assert isinstance(kept, SpanEvent) and "toxicity: 0.1 (not a metric: no model" in (
        kept.detail or ""
    )


def otlp_source(*paths: Path) -> list[SourceConfig]:
    return [SourceConfig(name="otel", paths=[str(p) for p in paths], format="otlp-json")]


async def test_a_trace_split_over_two_files_is_joined_when_explained(
    store: Store, tmp_path: Path
) -> None:
    retrieval = span(
        "b000000000000001",
        "retrieval",
        text("gen_ai.data_source.id", "policies"),
        text("gen_ai.retrieval.documents", json.dumps([{"id": "policy-12", "content": "P12"}])),
        startTimeUnixNano="1764590399000000000",
        endTimeUnixNano="1764590399500000000",
    )
    asked = json.dumps(
        [
            {
                "role": "assistant",
                "parts": [{"type": "tool_call", "id": "call_9", "name": "bureau", "arguments": {}}],
            }
        ]
    )
    decision = chat("00f067aa0ba902b7", text("gen_ai.output.messages", asked))
    (tmp_path / "a.json").write_bytes(line(decision) + b"\n")
    (tmp_path / "b.json").write_bytes(line(retrieval) + b"\n")
    await ingest_once(store, otlp_source(tmp_path / "a.json", tmp_path / "b.json"))
    services = build_services(store)
    explained = await services.explain.explain(request_id="chatcmpl-77")
    assert explained.prompt is not None
    assert [d.id for d in explained.prompt.retrieved] == ["policy-12"]
    assert explained.trace is not None and explained.trace.trace_id == TRACE
    assert [(p.operation, p.joined) for p in explained.trace.parts] == [("retrieval", True)]
    # Selecting the retrieval span (in the console, or by event id) explains its decision.
    (retrieval_row,) = (await store.events.page(EventFilter(kind="span"))).items
    assert (await services.explain.for_event(retrieval_row)).request_id == "chatcmpl-77"
    # The tool call the model asked for never arrived as a span: explain says so.
    assert explained.trace.missing == [
        "tool call call_9 (bureau) that the model asked for: no execute_tool span of it has arrived"
    ]


async def test_a_span_missing_its_content_is_kept_and_explained_as_missing(
    store: Store, tmp_path: Path
) -> None:
    bare = span("00f067aa0ba902b7", "chat", text("gen_ai.response.id", "chatcmpl-1"))
    (tmp_path / "a.json").write_bytes(line(bare) + b"\n")
    await ingest_once(store, otlp_source(tmp_path / "a.json"))
    explained = await build_services(store).explain.explain(request_id="chatcmpl-1")
    assert explained.missing() == ["model version", "prompt", "response", "downstream action"]


async def test_refused_lines_are_kept_with_their_reason_and_ingest_goes_on(
    store: Store, tmp_path: Path
) -> None:
    good = otlp_lines(
        [
            {
                "kind": "inference",
                "ts": "2026-12-01T12:00:00+00:00",
                "request_id": "req-1",
                "response": {"text": "ok"},
            }
        ]
    )[0]
    log = tmp_path / "mixed.json"
    log.write_bytes(b"\x00\x00\x00\x09\x0a\x07abcdefg\n" + good + b'{"resourceSpans": 3}\n')
    await ingest_once(store, otlp_source(log))
    reasons = [r for _, r, _ in await reject_reasons(store)]
    # The protobuf splits at its 0x0A byte: both pieces are refused as binary.
    assert len(reasons) == 3
    assert reasons[0].startswith("length-prefixed OTLP protobuf (a 9-byte message)")
    assert reasons[1].startswith("binary data (control bytes), not an OTLP JSON line")
    assert reasons[2] == "wrong shape: resourceSpans must be a list"
    assert await store.events.count() == 1


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(
    value=json_values,
    key=st.sampled_from(
        [
            "stringValue",
            "intValue",
            "doubleValue",
            "boolValue",
            "arrayValue",
            "kvlistValue",
            "bytesValue",
        ]
    ),
    where=st.sampled_from(
        ["traceId", "spanId", "startTimeUnixNano", "status", "events", "kind", "name"]
    ),
)
@settings(max_examples=300, deadline=None)
def test_no_value_anywhere_makes_the_format_fail_rather_than_refuse(
    value: Any, key: str, where: str
) -> None:
    """Whatever a producer puts in an attribute or a span field, the line is read or refused
    with a reason; the format never raises (ingest would record a format failure)."""
    for body in (
        chat("00f067aa0ba902b7", attr("gen_ai.input.messages", {key: value})),
        chat("00f067aa0ba902b7", **{where: value}),
    ):
        found = OTLP.parse_line(line(body))
        assert isinstance(found, (list, LineReject))
