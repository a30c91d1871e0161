"""The committed OTLP fixtures are what the pinned instrumentation really emits today.

`generate_fresh` reruns tests/otlp_fixtures/generate.py in its own environment (.venv-otel);
the fresh files must have the committed files' shape: the same lines of the same spans (scope,
name, kind, status, parent, `gen_ai.operation.name`), the same attribute keys with the same
OTLP value types, the same event names and resource keys. Ids, times and the port may differ.
Without .venv-otel the test is skipped, except in CI (CI set), where the environment is made
(`make otlp-fixtures-venv`) and a failure fails.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
OTEL_PYTHON = ROOT / ".venv-otel" / "bin" / "python"
GENERATOR = ROOT / "tests" / "otlp_fixtures" / "generate.py"
COMMITTED = ROOT / "tests" / "fixtures" / "otlp"
FIXTURES = ("openai_v2.jsonl", "openai_v2_events.jsonl", "openllmetry.jsonl")


def generate_fresh(out_dir: Path) -> list[Path]:
    """The fixtures generated anew into `out_dir` by the pinned instrumentation, in the order
    of FIXTURES. In CI the environment is made (or brought up to its pins) first; elsewhere
    a missing .venv-otel skips the calling test, saying how to make it."""
    if os.environ.get("CI"):
        subprocess.run(["make", "otlp-fixtures-venv"], cwd=ROOT, check=True, timeout=900)
    elif not OTEL_PYTHON.exists():
        pytest.skip("no .venv-otel: `make otlp-fixtures-venv` makes it (CI=1 does it itself)")
    done = subprocess.run(
        [str(OTEL_PYTHON), str(GENERATOR), "--out", str(out_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"the generator failed:\n{done.stdout}\n{done.stderr}"
    return [out_dir / name for name in FIXTURES]


def _value_type(value: dict[str, Any]) -> str:
    """`stringValue`, `kvlistValue` …; an empty AnyValue (a log body left unset) is ''."""
    return next(iter(value), "")


def _keys(attributes: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return sorted((a["key"], _value_type(a["value"])) for a in attributes)


def _operation(span: dict[str, Any]) -> str | None:
    for a in span.get("attributes", []):
        if a["key"] == "gen_ai.operation.name":
            return str(a["value"]["stringValue"])
    return None


def _span_shape(span: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    parent = span.get("parentSpanId", "")
    return {
        "name": span["name"],
        "kind": span["kind"],
        "status": span.get("status", {}).get("code"),
        "parent": names.get(parent, parent),
        "operation": _operation(span),
        "attributes": _keys(span.get("attributes", [])),
        "events": sorted({e["name"] for e in span.get("events", [])}),
    }


def _record_shape(record: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    return {
        "name": record.get("eventName"),
        "span": names.get(record.get("spanId", ""), record.get("spanId")),
        "operation": _operation(record),
        "attributes": _keys(record.get("attributes", [])),
        "body": _value_type(record.get("body", {})),
    }


def shape(path: Path) -> list[dict[str, Any]]:
    """What of a fixture file must not change: per line, its signal, resources, scopes and
    spans or log records (a span named by its name, not its id)."""
    lines = [json.loads(text) for text in path.read_text(encoding="utf-8").splitlines()]
    names = {
        span["spanId"]: span["name"]
        for line in lines
        for rs in line.get("resourceSpans", [])
        for ss in rs["scopeSpans"]
        for span in ss["spans"]
    }
    out = []
    for line in lines:
        signal = "resourceSpans" if "resourceSpans" in line else "resourceLogs"
        resources = []
        for rs in line[signal]:
            scopes = []
            for ss in rs.get("scopeSpans", rs.get("scopeLogs", [])):
                items = [_span_shape(span, names) for span in ss.get("spans", [])]
                items += [_record_shape(r, names) for r in ss.get("logRecords", [])]
                items.sort(key=lambda s: (str(s["name"]), json.dumps(s["attributes"])))
                scopes.append({"scope": ss["scope"].get("name"), "items": items})
            scopes.sort(key=lambda s: str(s["scope"]))
            resources.append({"resource": _keys(rs["resource"]["attributes"]), "scopes": scopes})
        out.append({"signal": signal, "resources": resources})
    return out


def _items(path: Path) -> list[dict[str, Any]]:
    return [
        item
        for line in shape(path)
        for rs in line["resources"]
        for ss in rs["scopes"]
        for item in ss["items"]
    ]


def operations(path: Path) -> set[str | None]:
    return {item["operation"] for item in _items(path)}


def attribute_keys(path: Path) -> set[str]:
    return {key for item in _items(path) for key, _type in item["attributes"]}


def test_the_committed_fixtures_carry_what_the_mapping_needs() -> None:
    v2, v2_events, llmetry = (COMMITTED / name for name in FIXTURES)
    assert operations(v2) == {"chat", "retrieval", "execute_tool", "invoke_agent", None}
    assert operations(llmetry) == {"chat", None}
    content = {"gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.response.id"}
    custom = {"thirdbook.model.weights_hash", "thirdbook.subject"}
    assert content | custom <= attribute_keys(v2)
    assert content | custom <= attribute_keys(llmetry)
    assert {"gen_ai.tool.call.arguments", "gen_ai.retrieval.documents"} <= attribute_keys(v2)
    assert {"gen_ai.conversation.id", "gen_ai.agent.name"} <= attribute_keys(v2)
    records = [item for item in _items(v2_events) if "span" in item]
    assert {r["name"] for r in records} == {"gen_ai.client.inference.operation.details"}
    assert all(r["span"] and r["span"].startswith("chat ") for r in records)
    assert all(("gen_ai.input.messages", "arrayValue") in r["attributes"] for r in records)


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return generate_fresh(tmp_path_factory.mktemp("otlp"))


@pytest.mark.otel_fixtures
@pytest.mark.parametrize("name", FIXTURES)
def test_a_fresh_run_has_the_committed_shape(fresh: list[Path], name: str) -> None:
    (path,) = (p for p in fresh if p.name == name)
    assert shape(path) == shape(COMMITTED / name), (
        f"{name}: the instrumentation now emits another shape; if that is intended, "
        "`make otlp-fixtures` and commit the new files"
    )
