"""The headless commands a script (or a bastion service) runs."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from tests.helpers import event_line
from thirdbook.cli import main
from thirdbook.config import ConfigError, parse_settings


def run(*args: str, width: int = 200) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env={"COLUMNS": str(width)})
    return result.exit_code, result.output


def test_example_config_is_valid_and_commented() -> None:
    code, text = run("config", "--example")
    assert code == 0 and text.count("#") > 10
    settings = parse_settings(text)
    assert settings.sources[0].name == "serving"
    tomllib.loads(text)


def test_bad_config_names_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        parse_settings("[ingest]\nbatch_lines = 0\nbogus = 1\n", "t.toml")
    message = str(err.value)
    assert "ingest.batch_lines" in message and "ingest.bogus" in message
    (tmp_path / "thirdbook.toml").write_text("[[sources]]\nname = 'a b'\npaths = []\n")
    code, text = run("status")
    assert code == 1
    assert "sources[0].name" in text and "sources[0].paths" in text


def test_schema_covers_the_seven_kinds() -> None:
    code, text = run("schema")
    assert code == 0
    schema = json.loads(text)
    kinds = {
        item["properties"]["kind"]["const"]
        for item in schema["$defs"].values()
        if "kind" in item.get("properties", {})
    }
    assert kinds == {"inference", "metric", "feedback", "agent_action", "change", "inquiry", "span"}
    assert schema["$schema"].endswith("2020-12/schema")


def test_ingest_once_then_events_filters_and_json(tmp_path: Path) -> None:
    log = tmp_path / "serving.jsonl"
    log.write_bytes(
        b"".join(event_line(i) for i in range(30)) + event_line(99, kind="metric") + b"bad\n"
    )
    code, text = run("ingest", "--once", str(log))
    assert code == 0 and "31 events, 1 rejects" in text
    code, text = run("events", "--request-id", "req-00000007", "--json")
    [line] = text.splitlines()
    found = json.loads(line)
    assert found["event"]["request_id"] == "req-00000007"
    assert found["path"] == str(log) and found["offset"] == 7 * len(event_line(0))
    code, text = run("events", "--kind", "metric", "--json")
    assert [json.loads(x)["event"]["kind"] for x in text.splitlines()] == ["metric"]
    code, text = run("events", "--since", "2026-11-27T10:00:25+00:00", "--json")
    assert len(text.splitlines()) == 6  # requests 25..29 and the metric (10:01:39)
    code, text = run("rejects")
    assert "bad" in text and "invalid JSON" in text


def test_events_table_makes_control_characters_visible(tmp_path: Path) -> None:
    log = tmp_path / "hostile.jsonl"
    hostile = event_line(1).replace(b"applicant-1", b"\\u001b]52;c;aGk=\\u0007[bold]x[/]")
    log.write_bytes(hostile)
    assert run("ingest", "--once", str(log))[0] == 0
    code, text = run("events")
    assert "\x1b" not in text and "\x07" not in text
    assert "\\e]52" in text and "[bold]x[/]" in text
    code, text = run("events", "--json")
    assert code == 0 and "\x1b" not in text and "\\u001b" in text


def test_demo_otlp_serves_as_opentelemetry_and_every_trigger_still_fires(
    tmp_path: Path,
) -> None:
    code, text = run("demo", "--headless", "--otlp", "--duration", "4", "--speed", "60")
    assert code == 0, text
    summary = json.loads(text)
    logs = Path(summary["logs"])
    assert summary["otlp"] and sorted(p.name for p in logs.glob("*.otlp.json")) == [
        "agent.otlp.json",
        "serving.otlp.json",
        "signals.otlp.json",
    ]
    # Many spans a line: fewer lines than events; each span part stored beside its event.
    assert summary["lines_written"] < summary["events_written"] < summary["events"]
    assert summary["rejects"] == 0
    assert summary["by_kind"]["span"] > summary["by_kind"]["inference"] > 500
    assert set(summary["alerts"]) == {"drift", "feedback", "unexplainable", "agent_lane"}
    first = orjson.loads((logs / "serving.otlp.json").read_bytes().splitlines()[0])
    span = first["resourceSpans"][0]["scopeSpans"][0]["spans"][-1]
    request_id = next(
        a["value"]["stringValue"] for a in span["attributes"] if a["key"] == "gen_ai.response.id"
    )
    code, text = run("--demo", "explain", request_id, "--json")
    assert code == 0, text
    explained = json.loads(text)
    assert explained["trace"]["trace_id"] == span["traceId"]
    # The retrieval and tool spans before the chat span are joined into its prompt.
    assert explained["prompt"]["retrieved"] and explained["prompt"]["tool_outputs"]
    assert all(p["joined"] for p in explained["trace"]["parts"])
    code, text = run("--demo", "events", "--kind", "span", "--limit", "3", "--json")
    assert code == 0, text
    spans = [json.loads(line) for line in text.splitlines()]
    assert len(spans) == 3 and {s["event"]["kind"] for s in spans} == {"span"}


def test_since_rejects_nonsense() -> None:
    code, text = run("events", "--since", "yesterday-ish")
    assert code == 2 and "neither a duration" in text


def test_demo_headless_leaves_store_and_logs(tmp_path: Path) -> None:
    code, text = run("demo", "--headless", "--duration", "4", "--speed", "60")
    assert code == 0, text
    summary = json.loads(text)
    assert summary["events"] == summary["lines_written"] > 500
    assert all(summary["by_kind"][k] > 0 for k in summary["by_kind"] if k != "span")
    assert summary["by_kind"]["span"] == 0  # spans come from OpenTelemetry only
    assert summary["rejects"] == 0
    # The demo's shipped rules see all four trigger situations.
    assert set(summary["alerts"]) == {"drift", "feedback", "unexplainable", "agent_lane"}
    assert Path(summary["store"]).exists() and Path(summary["logs"]).is_dir()
    code, text = run("--demo", "events", "--kind", "inquiry", "--json")
    assert json.loads(text)["event"]["source"] == "regulator"
    code, text = run("--demo", "status")
    assert "events" in text and "nobody holds the ingest lease" in text
    code, text = run("--demo", "alerts")
    assert "unexplainable" in text and "lacks the model version and weights hash" in text


def test_ingest_refuses_while_another_process_ingests(tmp_path: Path) -> None:
    import asyncio

    from thirdbook.store import Store

    async def hold() -> None:
        store = await Store.open(tmp_path / "data" / "thirdbook.db")
        await store.leases.try_acquire("someone-else", user="alice", ttl_s=60)
        async with store.write() as conn:  # a live holder on another host
            await conn.execute("UPDATE leases SET host = 'bastion-2', pid = 1")
        await store.close()

    asyncio.run(hold())
    log = tmp_path / "a.jsonl"
    log.write_bytes(event_line(1))
    code, text = run("ingest", "--once", str(log))
    assert code == 1
    assert "another process is ingesting this store: alice on bastion-2" in text
