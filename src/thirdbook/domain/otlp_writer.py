"""thirdbook events written as OpenTelemetry GenAI telemetry, the way an instrumented
application would emit them: the inverse of `thirdbook.domain.otlp_genai`, for the demo's
`--otlp` serving logs and for tests.

An inference is a `chat` span (its retrieved documents a `retrieval` span and its tool
outputs `execute_tool` spans before it, in the same trace); an agent action an
`execute_tool` span under an `invoke_agent` span; a metric a `gen_ai.evaluation.result` log
record. Ids are derived from the event, so the same events give the same line.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import orjson

WRITABLE_KINDS = frozenset({"inference", "agent_action", "metric"})
_SCOPE = {"name": "thirdbook.demo", "version": "1"}


def _value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, (list, tuple)):
        return {"arrayValue": {"values": [_value(v) for v in value]}}
    if isinstance(value, Mapping):
        return {"kvlistValue": {"values": _attrs(value)}}
    return {"stringValue": str(value)}


def _attrs(values: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{"key": k, "value": _value(v)} for k, v in values.items() if v is not None]


def _nanos(ts: str | datetime) -> str:
    at = ts if isinstance(ts, datetime) else datetime.fromisoformat(ts)
    return str(int(at.timestamp()) * 1_000_000_000 + at.microsecond * 1000)


def _ids(seed: str) -> tuple[str, str]:
    digest = hashlib.sha256(seed.encode()).hexdigest()
    return digest[:32], digest[32:48]


def _span_id(trace_id: str, n: int) -> str:
    return hashlib.sha256(f"{trace_id}/{n}".encode()).hexdigest()[:16]


def _span(
    trace_id: str,
    span_id: str,
    parent: str | None,
    name: str,
    start: datetime,
    end: datetime,
    attrs: Mapping[str, Any],
) -> dict[str, Any]:
    span: dict[str, Any] = {
        "traceId": trace_id,
        "spanId": span_id,
        "name": name,
        "kind": 3 if name.startswith("chat") else 1,
        "startTimeUnixNano": _nanos(start),
        "endTimeUnixNano": _nanos(end),
        "attributes": _attrs(attrs),
        "status": {},
    }
    if parent:
        span["parentSpanId"] = parent
    return span


def _inference_spans(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    trace_id, span_id = _ids(f"inference/{record['request_id']}")
    end = datetime.fromisoformat(record["ts"])
    start = end - timedelta(milliseconds=float(record.get("latency_ms") or 0))
    model = record.get("model") or {}
    prompt = record.get("prompt") or {}
    response = record.get("response")
    action = record.get("action") or {}
    spans = []
    before = start - timedelta(milliseconds=2)
    if prompt.get("retrieved"):
        docs = [
            {k: v for k, v in (("id", d["id"]), ("content", d.get("text"))) if v is not None}
            | ({"content_hash": d["content_hash"]} if d.get("content_hash") else {})
            for d in prompt["retrieved"]
        ]
        spans.append(
            _span(
                trace_id,
                _span_id(trace_id, 1),
                None,
                "retrieval",
                before,
                before,
                {
                    "gen_ai.operation.name": "retrieval",
                    "gen_ai.retrieval.documents": orjson.dumps(docs).decode(),
                },
            )
        )
    for n, tool in enumerate(prompt.get("tool_outputs") or (), start=2):
        spans.append(
            _span(
                trace_id,
                _span_id(trace_id, n),
                None,
                f"execute_tool {tool['tool']}",
                before,
                before,
                {
                    "gen_ai.operation.name": "execute_tool",
                    "gen_ai.tool.name": tool["tool"],
                    "gen_ai.tool.call.result": tool.get("output"),
                },
            )
        )
    inputs = []
    if prompt.get("user") is not None:
        inputs.append({"role": "user", "parts": [{"type": "text", "content": prompt["user"]}]})
    system = None
    if prompt.get("system") is not None:
        system = orjson.dumps([{"type": "text", "content": prompt["system"]}]).decode()
    outputs = None
    if response is not None:
        parts = [{"type": "text", "content": response["text"]}] if response.get("text") else []
        outputs = orjson.dumps([{"role": "assistant", "parts": parts, "finish_reason": "stop"}])
    attrs = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "thirdbook.demo",
        "gen_ai.request.model": model.get("name"),
        "gen_ai.response.model": model.get("version"),
        "gen_ai.response.id": record["request_id"],
        "thirdbook.model.version": model.get("version"),
        "thirdbook.model.weights_hash": model.get("weights_hash"),
        "thirdbook.subject": record.get("subject"),
        "thirdbook.route": record.get("route"),
        "thirdbook.routed_from": record.get("routed_from"),
        "thirdbook.prompt.template_id": prompt.get("template_id"),
        "thirdbook.prompt.template_version": prompt.get("template_version"),
        "gen_ai.system_instructions": system,
        "gen_ai.input.messages": orjson.dumps(inputs).decode() if prompt else None,
        "gen_ai.output.messages": outputs.decode() if outputs is not None else None,
        "thirdbook.response.decision": (response or {}).get("decision"),
        "thirdbook.response.score": (response or {}).get("score"),
        "thirdbook.action.type": action.get("type"),
        "thirdbook.action.target": action.get("target"),
        "thirdbook.action.detail": action.get("detail"),
    }
    name = f"chat {model['name']}" if model.get("name") else "chat"
    spans.append(_span(trace_id, span_id, None, name, start, end, attrs))
    return spans


def _agent_spans(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    seed = f"agent/{record.get('event_id') or ''}/{record['ts']}/{record['tool']}"
    trace_id, agent_id = _ids(seed)
    at = datetime.fromisoformat(record["ts"])
    tool = _span(
        trace_id,
        _span_id(trace_id, 1),
        agent_id,
        f"execute_tool {record['tool']}",
        at,
        at,
        {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": record["tool"],
            "thirdbook.request_id": record.get("request_id"),
            "thirdbook.subject": record.get("subject"),
            "thirdbook.action.target": record.get("target"),
            "thirdbook.action.amount": record.get("amount"),
            "thirdbook.action.currency": record.get("currency"),
            "thirdbook.action.outcome": record.get("outcome"),
        },
    )
    agent = _span(
        trace_id,
        agent_id,
        None,
        f"invoke_agent {record['agent']}",
        at,
        at,
        {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": record["agent"]},
    )
    return [tool, agent]


def _evaluation(record: Mapping[str, Any]) -> dict[str, Any]:
    model = record["model"]
    attrs = {
        "gen_ai.evaluation.name": record["metric"],
        "gen_ai.evaluation.score.value": float(record["value"]),
        "gen_ai.request.model": model["name"],
        "thirdbook.model.version": model["version"],
        "thirdbook.model.weights_hash": model.get("weights_hash"),
        "thirdbook.window.start": record.get("window_start"),
        "thirdbook.window.end": record.get("window_end"),
    }
    return {
        "timeUnixNano": _nanos(record["ts"]),
        "eventName": "gen_ai.evaluation.result",
        "attributes": _attrs(attrs),
    }


def otlp_lines(records: Iterable[Mapping[str, Any]], service: str = "demo") -> list[bytes]:
    """The records an OTLP JSON file exporter would write for these events: one traces line
    (every span of the batch) and one logs line (the evaluations), each only when needed.
    Records of other kinds have no OpenTelemetry form and are not written here."""
    spans: list[dict[str, Any]] = []
    logs: list[dict[str, Any]] = []
    for record in records:
        kind = record.get("kind")
        if kind == "inference":
            spans.extend(_inference_spans(record))
        elif kind == "agent_action":
            spans.extend(_agent_spans(record))
        elif kind == "metric":
            logs.append(_evaluation(record))
    resource = {"attributes": _attrs({"service.name": service})}
    out = []
    if spans:
        body = {
            "resourceSpans": [
                {"resource": resource, "scopeSpans": [{"scope": _SCOPE, "spans": spans}]}
            ]
        }
        out.append(orjson.dumps(body) + b"\n")
    if logs:
        body = {
            "resourceLogs": [
                {"resource": resource, "scopeLogs": [{"scope": _SCOPE, "logRecords": logs}]}
            ]
        }
        out.append(orjson.dumps(body) + b"\n")
    return out
