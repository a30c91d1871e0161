"""The demo played twice from the same seed and start, once writing thirdbook JSON lines and
once OpenTelemetry GenAI spans (`--otlp`): ingested each into its own store, the two raise
the same alerts, explain the same decisions the same way, baseline and diff the same chain,
take the same snapshot findings and replay to the same verdicts.

In OTLP an inference's retrieved documents and tool outputs are separate spans of its trace;
everything that reads a decision's prompt must see them joined, or the replayed prompt, the
chain's documents and tool shapes, and the replay's verdicts would differ. What genuinely
cannot be the same is said where it is left out: the stored lines themselves (OTLP adds the
`span` events of each trace, and the inference's event id, trace and span ids, and where in
which file it was read), and the latency (OTLP carries start and end times in nanoseconds,
so a latency comes back as their difference, within a microsecond of the logged figure).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import FAST, ingest_once
from thirdbook.config import (
    ContainmentConfig,
    IngestConfig,
    ReplayConfig,
    ReplayEndpointConfig,
    Settings,
)
from thirdbook.demo.estate import MODEL, STALE_POLICY_AT
from thirdbook.demo.model_server import ModelServer
from thirdbook.demo.runner import DemoServingLayer
from thirdbook.domain.events import InferenceEvent, InquiryEvent, parse_stored_line
from thirdbook.domain.explanation import Explanation
from thirdbook.domain.records import EventFilter, to_us
from thirdbook.services.factory import Context, Services, open_services
from thirdbook.store import Store

START = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)
SECONDS = STALE_POLICY_AT + 40
"""Every situation of the script: the deploy's drift and wrong declines, the agent out of its
lane, the regulator's inquiry, and the superseded policy served by the retrieval."""
STEP = 2.0
RATE = 2.0
"""Requests a demo second: fewer than the live demo's, for a replay of fewer inputs."""
WINDOW_BEFORE_S = 0.5
"""The incident's window starts this long before its first alert (ten demo seconds at the
demo's speed): v7's decisions from the inquiry on, under the current policy and then under
the superseded one."""
"""Demo seconds a write covers (the live demo's tick at speed 20): an OTLP line is a batch."""


@dataclass
class Played:
    """One run of the demo, ingested: its layer and the services over its own store."""

    layer: DemoServingLayer
    services: Services


async def _play(root: Path, *, otlp: bool, server: ModelServer) -> Played:
    endpoints = {v: ReplayEndpointConfig(url=server.base_url(v)) for v in ("v6", "v7")}
    settings = Settings(
        ingest=FAST,
        replay=ReplayConfig(endpoints=endpoints),
        containment=ContainmentConfig(window_before_s=WINDOW_BEFORE_S),
    )
    context = Context(settings, root / "data", root / "thirdbook.toml", demo=True)
    layer = DemoServingLayer(context.demo_dir, start=START, otlp=otlp, requests_per_second=RATE)
    layer.reset()
    at = 0.0
    while at < SECONDS:
        at = min(at + STEP, SECONDS)
        layer.advance_to(at)
    layer.close()
    services = await open_services(context, ingest=True, sources=layer.sources())
    assert services.ingest is not None
    await services.ingest.run(asyncio.Event(), once=True)
    return Played(layer, services)


@pytest.fixture
async def both(tmp_path: Path) -> AsyncIterator[tuple[Played, Played]]:
    """The same estate as thirdbook JSON lines and as OTLP, and the demo's model server."""
    server = ModelServer().start()
    jsonl = otlp = None
    try:
        jsonl = await _play(tmp_path / "jsonl", otlp=False, server=server)
        otlp = await _play(tmp_path / "otlp", otlp=True, server=server)
        yield jsonl, otlp
    finally:
        for played in (jsonl, otlp):
            if played is not None:
                await played.services.close()
        server.stop()


async def _all(services: Services, where: EventFilter) -> list[Any]:
    found: list[Any] = []
    before: int | None = None
    while True:
        page = await services.queries.events(where, before_id=before, limit=1000)
        found += [parse_stored_line(e.raw) for e in page.items]
        if page.next_key is None:
            return list(reversed(found))
        before = page.next_key


def _alerts(services: Services) -> Any:
    async def read() -> list[tuple[str, str]]:
        return sorted((a.kind, a.key) for a in (await services.queries.alerts(limit=1000)).items)

    return read()


def _on_tape(e: Explanation) -> dict[str, Any]:
    """The four things on tape and why the decision was routed as it was; the citations by
    what they say (alert and incident numbers follow the order lines were read in)."""
    return {
        "request_id": e.request_id,
        "subject": e.subject,
        "ts": e.ts,
        "model": e.model.model_dump(),
        "prompt": None if e.prompt is None else e.prompt.model_dump(),
        "response": None if e.response is None else e.response.model_dump(),
        "action": None if e.action is None else e.action.model_dump(),
        "missing": e.missing(),
        "route": e.route.model_dump(),
        "related": sorted((r.kind, r.ts, r.summary) for r in e.related),
        "citations": sorted((c.kind, c.summary) for c in e.citations),
    }


async def test_the_estate_as_otlp_is_ingested_into_the_same_decisions_and_alerts(
    both: tuple[Played, Played],
) -> None:
    jsonl, otlp = both
    assert sorted(p.name for p in otlp.layer.logs.glob("*.otlp.json")) == [
        "agent.otlp.json",
        "serving.otlp.json",
        "signals.otlp.json",
    ]
    assert (await otlp.services.health.read()).rejects_total == 0
    decided = await _all(jsonl.services, EventFilter(kind="inference"))
    traced = await _all(otlp.services, EventFilter(kind="inference"))
    assert len(decided) > 400 and [d.request_id for d in decided] == [t.request_id for t in traced]
    assert all(t.trace_id and not d.trace_id for d, t in zip(decided, traced, strict=True))
    # The retrieval and tool spans are not on the stored OTLP decision: they are joined.
    assert not any(t.prompt and t.prompt.retrieved for t in traced)
    assert len(await _all(otlp.services, EventFilter(kind="span"))) > 2 * len(traced)
    for kind in ("metric", "agent_action", "feedback", "inquiry", "change"):
        plain = await _all(jsonl.services, EventFilter(kind=kind))
        spans = await _all(otlp.services, EventFilter(kind=kind))
        assert len(plain) == len(spans) > 0, kind
    alerts = await _alerts(jsonl.services)
    assert {kind for kind, _ in alerts} == {"drift", "feedback", "agent_lane", "unexplainable"}
    assert await _alerts(otlp.services) == alerts
    # The report's impact section counts the same requests by route and version.
    span = (to_us(jsonl.layer.clock.at(0)), to_us(jsonl.layer.clock.at(SECONDS)) + 1)
    assert await otlp.services.store.report.impact(*span) == (
        await jsonl.services.store.report.impact(*span)
    )


async def test_a_long_step_is_written_as_many_otlp_lines_each_under_the_line_limit(
    tmp_path: Path, store: Store
) -> None:
    """A stalled loop catches up in one step: its spans are batches, never one line so long
    that ingest refuses it (a lost minute of decisions)."""
    plain = DemoServingLayer(tmp_path / "plain", start=START)
    plain.reset()
    plain.advance_to(SECONDS)
    plain.close()
    layer = DemoServingLayer(tmp_path / "otlp", start=START, otlp=True)
    layer.reset()
    layer.advance_to(SECONDS)
    layer.close()
    lines = (layer.logs / "serving.otlp.json").read_bytes().splitlines()
    assert len(lines) > 10 and max(map(len, lines)) < IngestConfig().max_line_bytes // 4
    await ingest_once(store, layer.sources())
    assert await store.events.reject_count() == 0
    logged = (plain.logs / "serving.jsonl").read_bytes().count(b'"kind":"inference"')
    inferences = await store.fetchall("SELECT count(*) FROM events WHERE kind = 'inference'")
    assert inferences[0][0] == logged > 800


async def test_every_sampled_decision_is_explained_the_same_with_its_trace_joined(
    both: tuple[Played, Played],
) -> None:
    jsonl, otlp = both
    decided = await _all(jsonl.services, EventFilter(kind="inference"))
    reported = {f.request_id for f in await _all(jsonl.services, EventFilter(kind="feedback"))}
    sample = decided[::23] + [d for d in decided if d.request_id in reported][:10]
    sample += [d for d in decided if d.prompt is None]  # the logging fault, and refusals
    stale = [d for d in decided if jsonl.layer.clock.demo_seconds(d.ts) > STALE_POLICY_AT + 5]
    sample += stale[-3:]  # under the superseded policy
    assert len(sample) > 30
    for decision in sample:
        assert isinstance(decision, InferenceEvent)
        plain = await jsonl.services.explain.explain(request_id=decision.request_id)
        traced = await otlp.services.explain.explain(request_id=decision.request_id)
        assert _on_tape(traced) == _on_tape(plain), decision.request_id
        assert plain.trace is None
        if decision.prompt is not None and decision.prompt.retrieved:
            # What OTLP adds: the trace, every part of it joined, nothing missing.
            assert traced.trace is not None and traced.trace.missing == []
            assert {p.operation for p in traced.trace.parts} == {"retrieval", "execute_tool"}
            assert all(p.joined for p in traced.trace.parts)
    [inquiry] = await _all(jsonl.services, EventFilter(kind="inquiry"))
    assert isinstance(inquiry, InquiryEvent)
    plain = await jsonl.services.explain.explain(inquiry_id=inquiry.inquiry_id)
    traced = await otlp.services.explain.explain(inquiry_id=inquiry.inquiry_id)
    assert _on_tape(traced) == _on_tape(plain)
    assert "prompt" in plain.missing()


async def _investigate(played: Played) -> tuple[Any, dict[str, Any], Any, dict[Any, Any]]:
    """Declare an incident of the regulator's inquiry (about a decision of v7), baseline v6,
    diff the chain, snapshot, replay the window: the chain report, the snapshot's prompts and
    models, the replay and the messages it sent."""
    services = played.services
    alerts = (await services.queries.alerts(limit=1000)).items
    asked = next(a for a in alerts if a.kind == "unexplainable")
    incident = await services.triage.declare(
        [asked.id], title="the regulator's decision", severity="SEV2", blast_radius="medium"
    )
    await services.forensics.baseline(MODEL, "v6")
    chain = await services.forensics.chain(incident.id)
    snapshot = await services.containment.snapshot(incident.id)
    items = {i["kind"]: i for i in (snapshot.manifest or {}).get("items", [])}
    kept = {
        kind: json.loads(services.objects.path_of(items[kind]["sha256"]).read_bytes())
        for kind in ("prompts", "model")
    }
    outcome = await services.replay.run(incident.id)
    sent = {
        (a.request_id, a.version): json.loads(
            services.objects.path_of(a.request_sha256).read_bytes()
        )["messages"]
        for a in await services.store.replay_runs.answers(outcome.run.id)
    }
    return chain, kept, outcome, sent


async def test_the_chain_diff_the_snapshot_and_the_replay_agree(
    both: tuple[Played, Played],
) -> None:
    (
        (plain_chain, plain_kept, plain_run, plain_sent),
        (otlp_chain, otlp_kept, otlp_run, otlp_sent),
    ) = await asyncio.gather(*(_investigate(played) for played in both))
    # The chain: v7's templates, documents and tool shapes as v6's baseline has them, the
    # superseded policy's document and the weights changed, first seen at the same decision.
    assert plain_chain.decisions == otlp_chain.decisions > 0
    assert [link.model_dump() for link in otlp_chain.links] == [
        link.model_dump() for link in plain_chain.links
    ]
    changed = {link.kind for link in plain_chain.changed}
    assert {"documents", "weights"} <= changed and "tool_shape" not in changed
    assert otlp_kept == plain_kept
    # The replay of the incident's window: the same prompts sent (documents and the bureau's
    # output included), the same answers, expectations and verdicts.
    assert otlp_sent == plain_sent and len(plain_sent) == 2 * len(plain_run.lines) > 100
    plain, traced = plain_run.run, otlp_run.run
    assert (traced.known_good, traced.suspect) == (plain.known_good, plain.suspect) == ("v6", "v7")
    assert (traced.verdict, traced.counts, traced.skipped) == (
        plain.verdict,
        plain.counts,
        plain.skipped,
    )
    assert plain.counts["upstream"] > 0 and plain.counts["regression in the model change"] > 0
    assert sorted(otlp_run.lines, key=lambda line: line.request_id) == sorted(
        plain_run.lines, key=lambda line: line.request_id
    )
