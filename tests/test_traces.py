"""Decisions read with their traces joined, many at once (as replay and baselines read them):
each gets its own trace's documents and tool outputs, however many traces are asked for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.helpers import event_line, ingest_once
from thirdbook.config import SourceConfig
from thirdbook.domain.events import InferenceEvent, parse_stored_line
from thirdbook.domain.otlp_writer import otlp_lines
from thirdbook.domain.records import EventFilter
from thirdbook.store import Store

T0 = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
COUNT = 450
"""More decisions than one query asks traces for."""


def record(n: int) -> dict[str, Any]:
    return {
        "v": 1,
        "kind": "inference",
        "ts": (T0 + timedelta(seconds=n)).isoformat(),
        "request_id": f"req-{n:04d}",
        "model": {"name": "credit-scorer", "version": "v7", "weights_hash": "sha256:b7"},
        "prompt": {
            "system": "score the applicant",
            "user": f"applicant {n}",
            "retrieved": [{"id": f"policy-{n % 7}", "content_hash": f"sha256:{n}"}],
            "tool_outputs": [{"tool": "bureau_lookup", "output": f"score={300 + n}"}],
        },
        "response": {"decision": "decline", "text": "no"},
        "action": {"type": "send_letter"},
        "latency_ms": 50.0,
    }


async def decisions(store: Store) -> list[InferenceEvent]:
    page = await store.events.page(EventFilter(kind="inference"), limit=10_000)
    found = [parse_stored_line(e.raw) for e in reversed(page.items)]
    return [e for e in found if isinstance(e, InferenceEvent)]


async def test_hundreds_of_decisions_each_get_their_own_trace(store: Store, tmp_path: Path) -> None:
    records = [record(n) for n in range(COUNT)]
    log = tmp_path / "serving.otlp.json"
    log.write_bytes(
        b"".join(line for i in range(0, COUNT, 50) for line in otlp_lines(records[i : i + 50]))
    )
    await ingest_once(store, [SourceConfig(name="otel", paths=[str(log)], format="otlp-json")])
    logged = await decisions(store)
    assert len(logged) == COUNT and not any(e.prompt and e.prompt.retrieved for e in logged)
    joined = await store.traces.joined(logged)
    assert [e.request_id for e in joined] == [r["request_id"] for r in records]
    for event, written in zip(joined, records, strict=True):
        assert event.prompt is not None
        assert (
            event.prompt.model_dump(exclude_none=True, exclude_defaults=True) == written["prompt"]
        )


async def test_decisions_without_a_trace_are_read_as_they_are(store: Store, tmp_path: Path) -> None:
    log = tmp_path / "serving.jsonl"
    log.write_bytes(b"".join(event_line(n) for n in range(5)))
    await ingest_once(store, [SourceConfig(name="t", paths=[str(log)])])
    logged = await decisions(store)
    joined = await store.traces.joined(logged)
    assert len(joined) == 5 and all(a is b for a, b in zip(joined, logged, strict=True))
    assert await store.traces.join(logged[0]) == (logged[0].prompt, logged[0].response, None)
