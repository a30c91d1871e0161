"""What real instrumentation emits maps onto thirdbook's events: the committed fixtures
(made by `tests/otlp_fixtures/generate.py` with the OpenAI client instrumented by
opentelemetry-instrumentation-openai-v2 and by OpenLLMetry), and, where the pinned
instrumentation can run (CI), a fresh run of it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import ingest_once
from tests.test_otlp_fixtures_fresh import generate_fresh
from thirdbook.config import SourceConfig
from thirdbook.domain.explanation import Explanation
from thirdbook.services.factory import build_services
from thirdbook.store import Store

FIXTURES = Path(__file__).parent / "fixtures" / "otlp"
PLAIN, AGENT_ANSWER = "chatcmpl-Bq7fXthirdbookfixture0001", "chatcmpl-Bq7fXthirdbookfixture0008"
WEIGHTS = "sha256:5f0c1e9a7b3d2c4e8f6a1b0d9c7e5a3f2b1d4c6e8a0f9b7d5c3e1a2b4d6f8e0c"


async def explained(store: Store, path: Path, *request_ids: str) -> list[Explanation]:
    await ingest_once(store, [SourceConfig(name="otel", paths=[str(path)], format="otlp-json")])
    assert await store.events.reject_count() == 0, "a line of real instrumentation was refused"
    services = build_services(store)
    return [await services.explain.explain(request_id=r) for r in request_ids]


def check_plain_chat(e: Explanation) -> None:
    assert e.model.model is not None
    assert (e.model.model.name, e.model.model.version) == ("gpt-4o-mini", "gpt-4o-mini-2024-07-18")
    assert e.model.model.weights_hash == WEIGHTS  # one thirdbook.* attribute, on every span
    assert e.model.model.alias == "support-assistant@prod"
    assert e.subject == "customer-4711"  # set once on the application's own request span
    assert e.prompt is not None and e.prompt.template_id == "support-answer"
    assert e.prompt.system and e.prompt.system.startswith("You are the support assistant")
    assert e.prompt.user == "Where is my refund for order 8812?"
    assert e.response is not None and e.response.text is not None
    assert e.response.text.startswith("Your refund of 42.00 EUR was approved")


def check_agent_answer(e: Explanation, *, spans: bool) -> None:
    assert e.subject == "incident-INC-1042"
    assert (
        e.prompt is not None and e.prompt.system == "You are the on-call assistant. Use the tools."
    )
    assert [t.tool for t in e.prompt.tool_outputs] == ["get_incident"]
    assert e.response is not None and e.response.text is not None
    assert e.response.text.startswith("INC-1042 is a SEV2")
    assert e.trace is not None
    if spans:  # the retrieval and the tool span, flushed in an earlier line, are joined
        joined = {p.operation for p in e.trace.parts if p.joined}
        assert joined == {"retrieval", "execute_tool"}
        assert [d.id for d in e.prompt.retrieved] == [
            "runbook/refund-bot#rollback",
            "runbook/refund-bot#limits",
        ]
        assert e.trace.missing == []
        assert [(r.kind, r.summary.split()[:2]) for r in e.related] == [
            ("agent_action", ["triage-agent", "get_incident"])
        ]
    else:  # OpenLLMetry alone emits no tool span: explain says it never arrived
        assert e.trace.missing == [
            "the execute_tool span of tool call call_Zk3thirdbook0006 (get_incident) has not "
            "arrived; the prompt's copy of its output is shown"
        ]


async def test_openai_v2_spans_map(store: Store) -> None:
    plain, agent = await explained(store, FIXTURES / "openai_v2.jsonl", PLAIN, AGENT_ANSWER)
    check_plain_chat(plain)
    check_agent_answer(agent, spans=True)


async def test_openai_v2_content_as_log_events_joins_its_spans(store: Store) -> None:
    plain, agent = await explained(store, FIXTURES / "openai_v2_events.jsonl", PLAIN, AGENT_ANSWER)
    check_plain_chat(plain)
    assert plain.trace is not None
    assert [(p.operation, p.joined) for p in plain.trace.parts] == [("inference_details", True)]
    assert agent.response is not None and agent.response.text is not None
    assert agent.response.text.startswith("INC-1042 is a SEV2")


async def test_openllmetry_spans_map(store: Store) -> None:
    plain, agent = await explained(store, FIXTURES / "openllmetry.jsonl", PLAIN, AGENT_ANSWER)
    check_plain_chat(plain)
    check_agent_answer(agent, spans=False)


async def test_a_failed_call_is_a_decision_without_a_response(store: Store) -> None:
    await ingest_once(
        store,
        [SourceConfig(name="otel", paths=[str(FIXTURES / "openai_v2.jsonl")], format="otlp-json")],
    )
    rows = await store.fetchall("SELECT request_id FROM events WHERE kind = 'inference'")
    failed = [r[0] for r in rows if "/" in r[0]]  # no response id: trace/span id
    assert len(failed) == 1
    (e,) = [await build_services(store).explain.explain(request_id=failed[0])]
    assert e.response is None and "response" in e.missing()


@pytest.mark.otel_fixtures
async def test_what_the_pinned_instrumentation_emits_today_still_maps(
    store: Store, tmp_path: Path
) -> None:
    fresh = {p.name: p for p in generate_fresh(tmp_path / "fresh")}
    plain, agent = await explained(store, fresh["openai_v2.jsonl"], PLAIN, AGENT_ANSWER)
    check_plain_chat(plain)
    check_agent_answer(agent, spans=True)
