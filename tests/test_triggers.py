"""The four triggers, each at its edges: thresholds, window boundaries, late events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from thirdbook.demo.runner import DemoServingLayer
from thirdbook.domain.events import (
    EVENT_ADAPTER,
    AgentActionEvent,
    FeedbackEvent,
    InferenceEvent,
    InquiryEvent,
    MetricEvent,
)
from thirdbook.domain.rules import (
    DEMO_TRIGGERS,
    AgentLane,
    DriftRule,
    FeedbackRule,
    TriggerSettings,
)
from thirdbook.triggers.engine import TriggerEngine

T0 = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)


def metric(window: int, value: float, version: str = "v7") -> MetricEvent:
    end = T0 + timedelta(seconds=10 * window)
    return MetricEvent(
        kind="metric",
        ts=end,
        model={"name": "credit-scorer", "version": version},
        metric="accuracy",
        value=value,
        window_start=end - timedelta(seconds=10),
        window_end=end,
    )  # type: ignore[arg-type]


def report(seconds: float, category: str = "wrong_decline") -> FeedbackEvent:
    return FeedbackEvent(
        kind="feedback",
        ts=T0 + timedelta(seconds=seconds),
        target="credit-scorer",
        category=category,
    )


DRIFT = TriggerSettings(
    drift=[DriftRule(name="acc", model="credit-scorer", metric="accuracy", low=0.85, consecutive=3)]
)


def test_drift_fires_at_exactly_n_consecutive_windows() -> None:
    engine = TriggerEngine(DRIFT)
    assert engine.observe(metric(1, 0.80), 1) == []
    assert engine.observe(metric(2, 0.79), 2) == []
    [firing] = engine.observe(metric(3, 0.78), 3)
    assert firing.kind == "drift" and firing.key == "credit-scorer v7"
    assert firing.event_ids == (1, 2, 3)
    assert "3 consecutive windows" in firing.summary


def test_drift_band_edge_is_inside_and_a_good_window_breaks_the_run() -> None:
    engine = TriggerEngine(DRIFT)
    for n, value in enumerate([0.80, 0.80, 0.85, 0.80, 0.80], start=1):  # 0.85 is in band
        assert engine.observe(metric(n, value), n) == []


def test_drift_counts_windows_in_window_order_when_they_arrive_late() -> None:
    engine = TriggerEngine(DRIFT)
    assert engine.observe(metric(1, 0.80), 1) == []
    assert engine.observe(metric(3, 0.80), 3) == []  # window 2 not in yet
    [firing] = engine.observe(metric(2, 0.80), 2)  # arrives late, completes the run
    assert firing.event_ids == (1, 2, 3)


def test_drift_is_per_version_and_per_metric() -> None:
    engine = TriggerEngine(DRIFT)
    for n in range(1, 4):
        assert engine.observe(metric(n, 0.80, version=f"v{n}"), n) == []
    other = metric(5, 0.1).model_copy(update={"metric": "approval_rate"})
    assert engine.observe(other, 5) == []


def test_drift_rule_needs_a_band() -> None:
    with pytest.raises(ValidationError, match="needs low, high or both"):
        DriftRule(name="x", model="m", metric="acc")


FEEDBACK = TriggerSettings(
    feedback=[FeedbackRule(name="declines", category="wrong_decline", count=3, window_s=60)]
)


def test_feedback_fires_at_exactly_k_reports_within_w() -> None:
    engine = TriggerEngine(FEEDBACK)
    assert engine.observe(report(0), 1) == []
    assert engine.observe(report(30), 2) == []
    [firing] = engine.observe(report(60), 3)  # exactly W after the first: still within
    assert firing.event_ids == (1, 2, 3)
    assert firing.key == "credit-scorer wrong_decline"


def test_feedback_just_past_the_window_does_not_fire() -> None:
    engine = TriggerEngine(FEEDBACK)
    assert engine.observe(report(0), 1) == []
    assert engine.observe(report(30), 2) == []
    assert engine.observe(report(60.001), 3) == []  # the first has left the window
    [firing] = engine.observe(report(61), 4)
    assert firing.event_ids == (2, 3, 4)


def test_feedback_late_report_completes_a_pattern_in_the_past() -> None:
    engine = TriggerEngine(FEEDBACK)
    assert engine.observe(report(0), 1) == []
    assert engine.observe(report(50), 2) == []
    assert engine.observe(report(500), 3) == []
    [firing] = engine.observe(report(20), 4)  # late, out of order
    assert firing.event_ids == (1, 4, 2)


def test_one_complaint_of_another_category_is_noise() -> None:
    engine = TriggerEngine(FEEDBACK)
    for n in range(5):
        assert engine.observe(report(n, category="slow_answer"), n) == []


LANES = TriggerSettings(
    lanes=[
        AgentLane(
            agent="support-agent",
            tools=["issue_refund", "send_email"],
            targets=["acct-*"],
            max_amount=100,
        )
    ]
)


def action(**kwargs: Any) -> AgentActionEvent:
    base: dict[str, Any] = {
        "kind": "agent_action",
        "ts": T0,
        "agent": "support-agent",
        "tool": "issue_refund",
        "target": "acct-1",
        "amount": 50.0,
    }
    return AgentActionEvent.model_validate({**base, **kwargs})


def test_agent_inside_its_lane_is_quiet_at_the_limit() -> None:
    engine = TriggerEngine(LANES)
    assert engine.observe(action(amount=100.0), 1) == []  # exactly the limit
    assert engine.observe(action(tool="send_email", amount=None), 2) == []
    assert engine.observe(action(agent="other-agent", tool="rm_rf"), 3) == []  # no lane


def test_agent_outside_its_lane_fires_on_the_first_occurrence() -> None:
    engine = TriggerEngine(LANES)
    [over] = engine.observe(action(amount=100.01, currency="GBP"), 1)
    assert over.kind == "agent_lane" and "over its limit of 100" in over.summary
    [tool] = engine.observe(action(tool="close_account", amount=None), 2)
    assert "tool close_account is not in its lane" in tool.summary
    [target] = engine.observe(action(target="payroll-7"), 3)
    assert "target payroll-7" in target.summary


def decision(**drop: bool) -> InferenceEvent:
    record: dict[str, Any] = {
        "kind": "inference",
        "ts": T0,
        "request_id": "req-1",
        "subject": "applicant-1",
        "model": {"name": "credit-scorer", "version": "v7", "weights_hash": "sha256:ab"},
        "prompt": {"system": "policy", "user": "income 1"},
        "response": {"decision": "decline"},
        "action": {"type": "letter"},
    }
    for key in drop:
        if key == "weights_hash":
            del record["model"]["weights_hash"]
        else:
            del record[key]
    return InferenceEvent.model_validate(record)


INQUIRY = InquiryEvent(
    kind="inquiry", ts=T0, inquiry_id="INQ-1", source="regulator", request_id="req-1"
)


def test_inquiry_about_a_complete_record_is_quiet() -> None:
    assert TriggerEngine(TriggerSettings()).judge_inquiry(INQUIRY, 9, decision(), 1) is None


@pytest.mark.parametrize(
    ("dropped", "named"),
    [
        ("weights_hash", "model version and weights hash"),
        ("prompt", "prompt as sent"),
        ("response", "response"),
        ("action", "downstream action"),
    ],
)
def test_inquiry_names_what_is_missing_from_the_tape(dropped: str, named: str) -> None:
    firing = TriggerEngine(TriggerSettings()).judge_inquiry(
        INQUIRY, 9, decision(**{dropped: True}), 1
    )
    assert firing is not None and firing.kind == "unexplainable"
    assert firing.summary.endswith(f"lacks the {named}")
    assert firing.event_ids == (9, 1)


def test_inquiry_about_a_missing_record_fires() -> None:
    firing = TriggerEngine(TriggerSettings()).judge_inquiry(INQUIRY, 9, None, None)
    assert firing is not None and "no decision record for req-1" in firing.summary


def test_demo_estate_trips_drift_feedback_and_lane_rules(tmp_path: Path) -> None:
    layer = DemoServingLayer(tmp_path / "demo", seed=7, start=T0)
    layer.reset()
    layer.advance_to(180)
    layer.close()
    engine = TriggerEngine(DEMO_TRIGGERS)
    kinds: set[str] = set()
    event_id = 0
    for path in sorted(layer.logs.glob("*.jsonl")):
        for line in path.read_bytes().splitlines():
            event_id += 1
            kinds.update(
                f.kind for f in engine.observe(EVENT_ADAPTER.validate_json(line), event_id)
            )
    assert kinds == {"drift", "feedback", "agent_lane"}
