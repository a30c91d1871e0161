"""The demo serving layer: deterministic, all four trigger situations, obeys its control files."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from thirdbook.config import Settings
from thirdbook.demo import credit
from thirdbook.demo.agent import AGENT
from thirdbook.demo.control_files import FLAG_FILE, REGISTRY_FILE, write_json_atomically
from thirdbook.demo.estate import CLOSE_AT, DEPLOY_AT, MODEL, REFUND_AT, STALE_POLICY_AT
from thirdbook.demo.runner import DemoServingLayer
from thirdbook.domain.control import FlagdFile, Registry, route_for, routing_flags
from thirdbook.domain.events import EVENT_ADAPTER, ChangeEvent, MetricEvent
from thirdbook.domain.records import EventFilter
from thirdbook.services.demo import DemoSession
from thirdbook.services.factory import Context, Services
from thirdbook.tui.clock_text import hms
from thirdbook.tui.widgets.drift_chart import chart_text
from thirdbook.tui.widgets.event_table import event_line

START = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)


def play(tmp_path: Path, seconds: float, seed: int = 7) -> DemoServingLayer:
    layer = DemoServingLayer(tmp_path / "demo", seed=seed, start=START)
    layer.reset()
    layer.advance_to(seconds)
    layer.close()
    return layer


def records(layer: DemoServingLayer) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for path in sorted(layer.logs.glob("*.jsonl")):
        for line in path.read_bytes().splitlines():
            EVENT_ADAPTER.validate_json(line)  # every line is valid v1
            out.append(json.loads(line))
    return out


def test_same_seed_same_logs(tmp_path: Path) -> None:
    first = play(tmp_path / "a", 200)
    second = play(tmp_path / "b", 200)
    for name in ("serving", "signals", "agent", "changes"):
        assert (first.logs / f"{name}.jsonl").read_bytes() == (
            second.logs / f"{name}.jsonl"
        ).read_bytes()


def test_all_four_trigger_situations_happen_within_three_minutes(tmp_path: Path) -> None:
    events = records(play(tmp_path, 180))
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        by_kind.setdefault(event["kind"], []).append(event)
    # 1. Drift: v7's accuracy falls well below v6's.
    accuracy = {
        version: [
            e["value"]
            for e in by_kind["metric"]
            if e["metric"] == "accuracy" and e["model"]["version"] == version
        ]
        for version in ("v6", "v7")
    }
    assert min(accuracy["v6"]) > 0.85
    assert sum(v < 0.85 for v in accuracy["v7"]) >= 5
    # 2. A pattern of wrong-decline reports against the model.
    reports = [e for e in by_kind["feedback"] if e["category"] == "wrong_decline"]
    assert len(reports) >= 10 and {e["target"] for e in reports} == {MODEL}
    # 3. The regulator asks about a decision whose record is missing its prompt and hash.
    [inquiry] = by_kind["inquiry"]
    [asked] = [e for e in by_kind["inference"] if e["request_id"] == inquiry["request_id"]]
    assert "prompt" not in asked and "weights_hash" not in asked["model"]
    assert asked["response"]["decision"] == "decline"
    # 4. The support agent acts outside its lane.
    refunds = [e for e in by_kind["agent_action"] if e["tool"] == "issue_refund"]
    assert max(e["amount"] for e in refunds) == 2500.0
    assert any(e["tool"] == "close_account" for e in by_kind["agent_action"])
    # And the deploy that started it.
    [deploy] = by_kind["change"]
    assert deploy["model"]["version"] == "v7"


def test_serving_layer_obeys_kill_switch_and_registry(tmp_path: Path) -> None:
    layer = DemoServingLayer(tmp_path / "demo", seed=3, start=START)
    layer.reset()
    layer.advance_to(DEPLOY_AT + 20)
    control = layer.control_dir
    registry = json.loads((control / REGISTRY_FILE).read_text())
    assert registry["models"][MODEL]["aliases"]["serving"] == "v7"  # the deploy moved it
    write_json_atomically(
        control / FLAG_FILE, routing_flags(MODEL, "human").model_dump(by_alias=True)
    )
    layer.advance_to(DEPLOY_AT + 40)
    registry["models"][MODEL]["aliases"]["serving"] = "v6"
    write_json_atomically(control / REGISTRY_FILE, registry)
    write_json_atomically(control / FLAG_FILE, routing_flags(MODEL).model_dump(by_alias=True))
    layer.advance_to(DEPLOY_AT + 60)
    layer.close()
    served = [
        (e["ts"], e["route"], e.get("model", {}).get("version"))
        for e in records(layer)
        if e["kind"] == "inference"
    ]
    routed_away = [e for e in records(layer) if e["kind"] == "inference" and e["route"] != "model"]
    # Each names whose traffic it was, so the console can tell which kill switch it shows.
    assert routed_away and all(e["routed_from"] == MODEL for e in routed_away)

    def seconds(ts: str) -> float:  # events are stamped on the demo clock
        return layer.clock.demo_seconds(datetime.fromisoformat(ts))

    window = [(r, v) for t, r, v in served if DEPLOY_AT + 21 <= seconds(t) <= DEPLOY_AT + 39]
    assert window and all(route == "human" and version is None for route, version in window)
    after = [(r, v) for t, r, v in served if seconds(t) > DEPLOY_AT + 41]
    assert after and all(route == "model" and version == "v6" for route, version in after)


def test_invalid_flag_file_keeps_the_last_good_one(tmp_path: Path) -> None:
    layer = DemoServingLayer(tmp_path / "demo", seed=3, start=START)
    layer.reset()
    write_json_atomically(
        layer.control_dir / FLAG_FILE, routing_flags(MODEL, "refused").model_dump(by_alias=True)
    )
    assert layer.control.serving().route == "refused"
    (layer.control_dir / FLAG_FILE).write_text("{ not json")
    assert layer.control.serving().route == "refused"
    assert layer.control.flags.problem is not None


def test_disabled_flag_means_absent_not_killed() -> None:
    flags = FlagdFile.model_validate(
        {
            "flags": {
                f"{MODEL}-route": {
                    "state": "DISABLED",
                    "defaultVariant": "human",
                    "variants": {"model": "model", "human": "human"},
                }
            }
        }
    )
    assert route_for(flags, MODEL) == "model"
    assert route_for(routing_flags(MODEL, "fallback"), MODEL) == "fallback"


def test_registry_rejects_an_alias_to_an_unknown_version() -> None:
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="unknown version"):
        Registry.model_validate(
            {
                "models": {
                    MODEL: {
                        "versions": {"v6": {"weights_hash": "sha256:1"}},
                        "aliases": {"serving": "v9"},
                    }
                }
            }
        )


T = TypeVar("T")


async def _until(what: Callable[[], Awaitable[T | None]], ceiling_s: float = 90.0) -> T:
    """`what`'s first answer that is not None, asked every 0.1 s (a generous ceiling: the
    machine may be busy)."""
    deadline = time.monotonic() + ceiling_s
    while (found := await what()) is None:
        assert time.monotonic() < deadline, f"nothing after {ceiling_s:g} s"
        await asyncio.sleep(0.1)
    return found


def _session(tmp_path: Path, speed: float) -> DemoSession:
    context = Context(Settings(), tmp_path / "data", tmp_path / "thirdbook.toml", demo=True)
    return DemoSession(context, speed=speed)


async def _events(console: Services, where: EventFilter) -> list[Any]:
    page = await console.queries.events(where, limit=10_000)
    return [EVENT_ADAPTER.validate_json(e.raw) for e in reversed(page.items)]


async def test_one_clock_the_deploy_first_bad_window_incident_and_registry_agree(
    tmp_path: Path,
) -> None:
    """Played in real time, the demo's events share the console's clock: the deploy's change
    event and the registry's move are the same instant, the first window out of band comes
    after it, the alert and the incident after that, and nothing is stamped in the future.
    The screen shows both times the drift runbook compares."""
    session = _session(tmp_path, speed=20)
    console = await session.open_services(ingest=True)
    await console.registry.observe()  # v6, first seen before the estate starts
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(session.layer.run(stop)),
        asyncio.create_task(console.ingest.run(stop)),
    ]

    async def drift_alert() -> Any:
        return next((a for a in (await console.queries.alerts()).items if a.kind == "drift"), None)

    try:
        alert = await _until(drift_alert)
        incident = await console.triage.declare(
            [alert.id], title="credit-scorer drift", severity="SEV2", blast_radius="medium"
        )
    finally:
        stop.set()
        await asyncio.gather(*tasks)
    now = datetime.now(UTC)
    try:
        [deploy] = await _events(console, EventFilter(kind="change"))
        assert isinstance(deploy, ChangeEvent)
        [move] = [m for m in await console.registry.moves(MODEL) if m.to_version == "v7"]
        assert (move.how, move.at) == ("observed", deploy.ts)  # one instant, one clock
        windows = await _events(console, EventFilter(kind="metric", model_version="v7"))
        bad = [
            w
            for w in windows
            if isinstance(w, MetricEvent) and w.metric == "accuracy" and w.value < 0.85
        ]
        first_bad = min(bad, key=lambda w: w.window_end)
        assert deploy.ts <= first_bad.window_start < first_bad.window_end <= alert.first_at
        assert alert.first_at <= incident.declared_at <= now
        timeline = await console.triage.timeline(incident.id)
        assert timeline and all(incident.declared_at <= e.at <= now for e in timeline)
        newest = (await console.queries.events(limit=1)).items[0]
        assert newest.ts <= now  # no event from the future
        # On screen: the deploy's line in the event explorer and the chart's first bad window.
        change = (await console.queries.events(EventFilter(kind="change"), limit=1)).items[0]
        assert hms(deploy.ts) in event_line(change)
        series = await console.queries.drift_series(alert)
        assert series is not None and series.first_outside() is not None
        assert series.first_outside().at == first_bad.window_end  # type: ignore[union-attr]
        chart = chart_text(series, 78, rows=2).plain
        assert f"first outside {hms(first_bad.window_end)}" in chart, chart
    finally:
        await console.close()


async def test_the_support_agent_obeys_its_kill_switch_and_the_console_observes_it(
    tmp_path: Path,
) -> None:
    """After the lane alert's kill switch the agent takes no further action: each chat goes
    to a person, logged on the human route, which is how the console observes the switch;
    the scripted account closure never happens, and routing back lets the agent act again."""
    session = _session(tmp_path, speed=20)
    layer = session.layer
    console = await session.open_services(ingest=True)
    try:
        layer.advance_to(REFUND_AT + 1)  # the 2,500 GBP refund is logged
        await console.ingest.run(asyncio.Event(), once=True)
        [lane] = [a for a in (await console.queries.alerts()).items if a.kind == "agent_lane"]
        incident = await console.triage.declare(
            [lane.id], title="agent out of lane", severity="SEV1", blast_radius="high"
        )
        await console.containment.snapshot(incident.id)
        await console.containment.kill_switch(incident.id, "human")
        [state] = await console.containment.containment_states(incident.id)
        assert (state.model, state.value, state.observed) == (AGENT, "human", None)

        layer.advance_to(CLOSE_AT + 20)
        await console.ingest.run(asyncio.Event(), once=True)
        [state] = await console.containment.containment_states(incident.id)
        assert state.observed is not None and state.observed >= state.written
        after = [
            json.loads(line)
            for line in (layer.logs / "agent.jsonl").read_bytes().splitlines()
            if layer.clock.demo_seconds(datetime.fromisoformat(json.loads(line)["ts"]))
            > REFUND_AT + 1
        ]
        assert len(after) >= 5
        handed_off = {(e["kind"], e["route"], e.get("routed_from")) for e in after}
        assert handed_off == {("inference", "human", AGENT)}
        assert {
            "type": "handoff",
            "target": "acct-77102",
            "detail": f"{AGENT} did not run close_account",
        } in [e["action"] for e in after]
        [lane] = [a for a in (await console.queries.alerts()).items if a.kind == "agent_lane"]
        assert lane.fired == 1  # the closure it would have made never fired the lane rule

        await console.containment.kill_switch(
            incident.id, "model"
        )  # route back: the agent acts again
        written_at = layer.demo_seconds
        layer.advance_to(written_at + 20)
        acted = [
            e
            for e in map(json.loads, (layer.logs / "agent.jsonl").read_bytes().splitlines())
            if layer.clock.demo_seconds(datetime.fromisoformat(e["ts"])) > written_at
        ]
        assert acted and all(e["kind"] == "agent_action" for e in acted)
    finally:
        layer.close()
        await console.close()


async def test_the_upstream_alert_offers_the_upstream_runbook_and_v7_drift_the_drift_one(
    tmp_path: Path,
) -> None:
    """The outdated policy's wrong-decline reports come from the same rule, and are of the
    same kind, as v7's; only their key (the decision service, not the model) tells them
    apart. Declared, the upstream alert's incident follows the upstream-change runbook, while
    v7's drift and v7's reports keep theirs."""
    session = _session(tmp_path, speed=20)
    layer = session.layer
    console = await session.open_services(ingest=True)
    assert console.ingest is not None
    try:
        upstream = None
        while upstream is None:  # the reports take a while to make a pattern
            assert layer.demo_seconds < STALE_POLICY_AT + 300, "no alert for the outdated policy"
            layer.advance_to(layer.demo_seconds + 10)
            await console.ingest.run(asyncio.Event(), once=True)
            alerts = (await console.queries.alerts()).items
            upstream = next(
                (a for a in alerts if a.kind == "feedback" and a.key.startswith(credit.SERVICE)),
                None,
            )
        [drift] = [a for a in alerts if a.kind == "drift"]
        [reports] = [a for a in alerts if a.kind == "feedback" and a.key.startswith(MODEL)]
        assert drift.key == f"{MODEL} v7" and reports.rule == upstream.rule

        offered = {}
        for alert in (upstream, drift, reports):
            choice = await console.triage.runbook_for_alert(alert.id)
            assert choice is not None
            offered[alert.id] = (choice.runbook.name, choice.how)
        assert offered == {
            upstream.id: ("upstream", "match"),
            drift.id: ("drift", "kind"),
            reports.id: ("feedback", "kind"),
        }
        declared = {}
        for alert in (upstream, drift):
            incident = await console.triage.declare(
                [alert.id], title=alert.summary, severity="SEV2", blast_radius="medium"
            )
            declared[alert.id] = incident.runbook
            book = console.triage.runbook_of(incident)
            assert book is not None and book.name == incident.runbook
        assert declared == {upstream.id: "upstream", drift.id: "drift"}
    finally:
        layer.close()
        await console.close()
