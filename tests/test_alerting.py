"""Triggers wired to ingest: alerts raised once per rule and key, updated while open."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.helpers import FAST, event_line
from thirdbook.config import Settings, SourceConfig
from thirdbook.domain.rules import DriftRule, TriggerSettings
from thirdbook.services.factory import Services, build_services
from thirdbook.store import Store

T0 = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)
RULES = TriggerSettings(
    drift=[DriftRule(name="acc", model="credit-scorer", metric="accuracy", low=0.85, consecutive=3)]
)
SETTINGS = Settings(ingest=FAST)


def window(n: int, value: float) -> bytes:
    end = T0 + timedelta(seconds=10 * n)
    return (
        json.dumps(
            {
                "v": 1,
                "kind": "metric",
                "ts": end.isoformat(),
                "window_end": end.isoformat(),
                "model": {"name": "credit-scorer", "version": "v7"},
                "metric": "accuracy",
                "value": value,
            }
        ).encode()
        + b"\n"
    )


async def ingest(store: Store, log: Path) -> Services:
    """One console process ingesting `log` to its end, with the drift rule."""
    console = build_services(
        store,
        SETTINGS,
        sources=[SourceConfig(name="t", paths=[str(log)])],
        triggers=RULES,
        ingest=True,
    )
    await console.ingest.run(asyncio.Event(), once=True)
    await console.ingest.ingester.release()
    return console


async def test_an_open_alert_is_updated_not_duplicated(store: Store, tmp_path: Path) -> None:
    log = tmp_path / "metrics.jsonl"
    log.write_bytes(b"".join(window(n, 0.7) for n in range(1, 6)) + event_line(1))
    console = await ingest(store, log)
    [alert] = (await console.queries.alerts()).items
    assert (alert.kind, alert.key, alert.status) == ("drift", "credit-scorer v7", "open")
    assert alert.fired == 3  # windows 3, 4 and 5 each completed a run of three
    ids = await store.fetchall("SELECT id FROM events WHERE kind = 'metric' ORDER BY id")
    assert alert.event_ids == tuple(row[0] for row in ids)


async def test_trigger_state_survives_a_restart(store: Store, tmp_path: Path) -> None:
    log = tmp_path / "metrics.jsonl"
    log.write_bytes(window(1, 0.7) + window(2, 0.7))
    first = await ingest(store, log)
    assert (await first.queries.alerts()).items == []
    with log.open("ab") as writer:
        writer.write(window(3, 0.7))
    second = await ingest(store, log)  # a new process: it relearns windows 1 and 2
    [alert] = (await second.queries.alerts()).items
    assert alert.fired == 1 and len(alert.event_ids) == 3


async def test_inquiry_about_an_unknown_request_raises_an_alert(
    store: Store, tmp_path: Path
) -> None:
    log = tmp_path / "signals.jsonl"
    inquiry = {
        "v": 1,
        "kind": "inquiry",
        "ts": T0.isoformat(),
        "inquiry_id": "INQ-9",
        "source": "regulator",
        "request_id": "req-missing",
    }
    log.write_bytes(event_line(1) + json.dumps(inquiry).encode() + b"\n")
    console = await ingest(store, log)
    [alert] = (await console.queries.alerts()).items
    assert alert.kind == "unexplainable"
    assert "no decision record for req-missing" in alert.summary


def _inquiry(request_id: str) -> bytes:
    record = {
        "v": 1,
        "kind": "inquiry",
        "ts": T0.isoformat(),
        "inquiry_id": "INQ-7",
        "source": "regulator",
        "request_id": request_id,
    }
    return json.dumps(record).encode() + b"\n"


async def test_an_inquiry_read_before_its_decision_is_judged_again_when_it_arrives(
    store: Store, tmp_path: Path
) -> None:
    """A backlog's files are read one after another: the inquiry's file first here."""
    (tmp_path / "a-signals.jsonl").write_bytes(_inquiry("req-00000001"))
    (tmp_path / "b-serving.jsonl").write_bytes(event_line(1))  # no prompt, no action
    console = await ingest(store, tmp_path / "*.jsonl")
    [alert] = (await console.queries.alerts()).items
    assert alert.kind == "unexplainable" and alert.key == "req-00000001"
    assert alert.summary == (
        "regulator inquiry INQ-7: the record of req-00000001 lacks the prompt as sent, "
        "downstream action"
    )
    rows = await store.fetchall("SELECT id, kind FROM events ORDER BY id")
    assert [kind for _, kind in rows] == ["inquiry", "inference"]
    assert alert.event_ids == tuple(row[0] for row in rows)


async def test_an_inquiry_judges_an_otlp_decision_with_its_content_event_joined(
    store: Store, tmp_path: Path
) -> None:
    """openai-v2 can put a call's content in a log record beside its span: the decision's
    response is there, and the inquiry does not call it missing."""
    fixture = Path(__file__).parent / "fixtures" / "otlp" / "openai_v2_events.jsonl"
    asked = tmp_path / "signals.jsonl"
    asked.write_bytes(_inquiry("chatcmpl-Bq7fXthirdbookfixture0001"))
    console = build_services(
        store,
        SETTINGS,
        sources=[
            SourceConfig(name="otel", paths=[str(fixture)], format="otlp-json"),
            SourceConfig(name="t", paths=[str(asked)]),
        ],
        triggers=RULES,
        ingest=True,
    )
    await console.ingest.run(asyncio.Event(), once=True)
    await console.ingest.ingester.release()
    stored = (await console.queries.events(limit=1000)).items
    [decision] = [
        e
        for e in stored
        if e.kind == "inference" and e.request_id == "chatcmpl-Bq7fXthirdbookfixture0001"
    ]
    assert b'"response"' not in decision.raw  # on the span: no content; in its log record
    [alert] = (await console.queries.alerts()).items
    assert alert.summary == (
        "regulator inquiry INQ-7: the record of chatcmpl-Bq7fXthirdbookfixture0001 lacks the "
        "downstream action"
    )
