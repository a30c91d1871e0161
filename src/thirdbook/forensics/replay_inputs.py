"""What a replay sends: the logged decisions it names, each as its captured prompt, and the
expected outcome of each (from feedback naming it, else the check command).

Inputs are named as `alert:ID` (the alert's decisions, or those a feedback alert's reports
name), `file:PATH` (request ids, one a line), `filter:'kind:… version:…'` (the explorer's
filter), or nothing: the suspect version's decisions in the incident's window, those named
by feedback first. A record without its prompt is skipped and counted with the reason.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from thirdbook.domain import clock
from thirdbook.domain.errors import TriageRefusedError
from thirdbook.domain.events import FeedbackEvent, InferenceEvent, parse_stored_line
from thirdbook.domain.queries import parse_event_query
from thirdbook.domain.records import EventFilter, StoredEvent
from thirdbook.domain.replay_payload import MissingPromptError, chat_messages
from thirdbook.forensics.replay_endpoints import EndpointError, run_json_command
from thirdbook.forensics.replay_runner import ReplayInput
from thirdbook.forensics.replay_verdict import EXPECTED_FROM_FEEDBACK
from thirdbook.store import Store

MAX_INPUTS = 1000
PAGE = 500


@dataclass
class Gathered:
    """The inputs to send, the records they came from, and what was skipped and why."""

    inputs: list[ReplayInput] = field(default_factory=list)
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    skipped: Counter[str] = field(default_factory=Counter)


async def gather_inputs(
    store: Store,
    spec: str | None,
    *,
    suspect: str,
    window: tuple[datetime, datetime],
    limit: int = MAX_INPUTS,
) -> Gathered:
    """The inputs `spec` names (None: the suspect's decisions in `window`, feedback first)."""
    gathered = Gathered()
    if spec is None:
        events = await _window_decisions(store, suspect, window, limit)
    elif spec.startswith("alert:"):
        events = await _alert_decisions(store, spec.removeprefix("alert:"))
    elif spec.startswith("file:"):
        events = await _file_decisions(store, Path(spec.removeprefix("file:")), gathered)
    elif spec.startswith("filter:"):
        events = await _filter_decisions(store, spec.removeprefix("filter:"), limit)
    else:
        raise TriageRefusedError(
            f"{spec!r}: name the inputs as alert:ID, file:PATH or filter:'key:value …'"
        )
    seen: set[str] = set()
    chosen: list[tuple[StoredEvent, InferenceEvent]] = []
    for stored in events[:limit]:
        event = parse_stored_line(stored.raw)
        if not isinstance(event, InferenceEvent):
            gathered.skipped["the record no longer reads as a decision"] += 1
        elif event.request_id not in seen:
            seen.add(event.request_id)
            chosen.append((stored, event))
    # Each as its trace tells it: the retrieval and tool spans of OTLP joined in.
    joined = await store.traces.joined([event for _, event in chosen])
    for (stored, logged), event in zip(chosen, joined, strict=True):
        _add(gathered, stored, logged, event)
    return gathered


def _add(
    gathered: Gathered, stored: StoredEvent, logged: InferenceEvent, event: InferenceEvent
) -> None:
    """One decision to replay (`event`: as its trace tells it; `logged`: as stored)."""
    try:
        messages = chat_messages(event.prompt)
    except MissingPromptError as exc:
        gathered.skipped[str(exc)] += 1
        return
    gathered.inputs.append(ReplayInput(event.request_id, messages))
    record = json.loads(stored.raw)
    if event is not logged:  # the check command sees the prompt that was sent
        for part in ("prompt", "response"):
            value = getattr(event, part)
            record[part] = (
                None if value is None else value.model_dump(mode="json", exclude_none=True)
            )
    gathered.records[event.request_id] = record


async def _pages(store: Store, where: EventFilter, limit: int) -> list[StoredEvent]:
    found: list[StoredEvent] = []
    before: int | None = None
    while len(found) < limit:
        page = await store.events.page(where, before_id=before, limit=min(PAGE, limit))
        found.extend(page.items)
        if page.next_key is None:
            break
        before = page.next_key
    return found[:limit]


async def decision_by_request(store: Store, request_id: str) -> StoredEvent | None:
    """The logged decision with this request id, if any."""
    page = await store.events.page(EventFilter(kind="inference", request_id=request_id), limit=1)
    return page.items[0] if page.items else None


async def _window_decisions(
    store: Store, suspect: str, window: tuple[datetime, datetime], limit: int
) -> list[StoredEvent]:
    since, until = window
    reported = await _pages(store, EventFilter(kind="feedback", since=since, until=until), limit)
    first: list[StoredEvent] = []
    for stored in reported:
        event = parse_stored_line(stored.raw)
        if isinstance(event, FeedbackEvent) and event.request_id:
            decision = await decision_by_request(store, event.request_id)
            if decision is not None and decision.model_version == suspect:
                first.append(decision)
    where = EventFilter(kind="inference", model_version=suspect, since=since, until=until)
    return first + await _pages(store, where, limit)


async def _alert_decisions(store: Store, text: str) -> list[StoredEvent]:
    if not text.isdigit():
        raise TriageRefusedError(f"alert:{text}: an alert is named by its number")
    alert = await store.alerts.get(int(text))
    if alert is None:
        raise TriageRefusedError(f"there is no alert #{text}")
    events: list[StoredEvent] = []
    for stored in await store.events.by_ids(alert.event_ids):
        if stored.kind == "inference":
            events.append(stored)
            continue
        # A feedback alert's events are its reports: the decisions they name are replayed.
        event = parse_stored_line(stored.raw)
        if isinstance(event, FeedbackEvent) and event.request_id:
            decision = await decision_by_request(store, event.request_id)
            if decision is not None:
                events.append(decision)
    if not events:
        raise TriageRefusedError(
            f"alert #{text}'s events are neither decisions nor reports naming one (a drift "
            "alert's are metric windows): replay the incident's window (no --inputs) or "
            "name a filter"
        )
    return events


async def _file_decisions(store: Store, path: Path, gathered: Gathered) -> list[StoredEvent]:
    try:
        text = await asyncio.to_thread(path.read_text, encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TriageRefusedError(f"cannot read the request ids in {path}: {exc}") from None
    found: list[StoredEvent] = []
    for line in text.splitlines():
        request_id = line.strip()
        if not request_id:
            continue
        stored = await decision_by_request(store, request_id)
        if stored is None:
            gathered.skipped["no decision has this request id"] += 1
        else:
            found.append(stored)
    return found


async def _filter_decisions(store: Store, text: str, limit: int) -> list[StoredEvent]:
    try:
        where = parse_event_query(text, clock.now())
    except ValueError as exc:
        raise TriageRefusedError(f"filter: {exc}") from None
    if where.kind not in (None, "inference"):
        raise TriageRefusedError(f"filter: kind:{where.kind} events are not decisions")
    return await _pages(store, where.model_copy(update={"kind": "inference"}), limit)


async def feedback_expected(store: Store, request_ids: list[str]) -> dict[str, str]:
    """The right decision by request id, where a feedback report names it (a wrong decline
    means approve was right)."""
    expected: dict[str, str] = {}
    for request_id in request_ids:
        where = EventFilter(kind="feedback", request_id=request_id)
        for stored in (await store.events.page(where, limit=20)).items:
            event = parse_stored_line(stored.raw)
            if isinstance(event, FeedbackEvent) and event.category in EXPECTED_FROM_FEEDBACK:
                expected[request_id] = EXPECTED_FROM_FEEDBACK[event.category]
                break
    return expected


async def check_expected(command: list[str], record: dict[str, Any]) -> str | None:
    """The check command's decision for a record (its JSON on stdin); None when it says
    nothing or fails."""
    try:
        out = await run_json_command(command, record, 30.0, 1 << 16, "the check command")
    except EndpointError:
        return None
    return out.decode("utf-8", "replace").strip() or None


async def expected_outcomes(
    store: Store, gathered: Gathered, check_command: list[str] | None
) -> dict[str, tuple[str, str]]:
    """request id -> (expected decision, source): feedback first, else the check command."""
    ids = [i.request_id for i in gathered.inputs]
    found = {rid: (d, "feedback") for rid, d in (await feedback_expected(store, ids)).items()}
    if check_command is not None:
        for rid in ids:
            if rid not in found:
                decision = await check_expected(check_command, gathered.records[rid])
                if decision is not None:
                    found[rid] = (decision, "check command")
    return found
