"""One replayed input side by side: the request as sent, each version's answer as received
(read back from the evidence objects), the expected outcome and the verdict."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from thirdbook.domain.replay import ReplayRun, StoredAnswer
from thirdbook.evidence.objects import ObjectStore
from thirdbook.forensics.replay_endpoints import EndpointError, parse_chat_answer
from thirdbook.forensics.replay_verdict import Verdict, judge

MAX_SHOWN_BYTES = 64 * 1024
"""An object longer than this is shown cut (the object itself is kept whole)."""


@dataclass(frozen=True)
class VersionAnswer:
    """What one version answered to the input: its text, the tool calls it asked for (shown,
    never executed), the decision read from it, or why there is none."""

    version: str
    endpoint: str | None = None
    text: str | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    decision: str | None = None
    error: str | None = None
    answer_sha256: str | None = None


@dataclass(frozen=True)
class ReplayDetail:
    """One input of a run, as the side-by-side view shows it."""

    request_id: str
    messages: list[dict[str, str]]
    request_sha256: str | None
    known_good: VersionAnswer
    suspect: VersionAnswer
    expected: str | None
    expected_source: str | None
    verdict: Verdict


def _read(objects: ObjectStore, sha256: str | None) -> bytes | None:
    if sha256 is None or not objects.has(sha256):
        return None
    with objects.path_of(sha256).open("rb") as f:
        return f.read(MAX_SHOWN_BYTES)


def _messages(raw: bytes | None) -> list[dict[str, str]]:
    try:
        doc = json.loads(raw or b"")
    except ValueError:
        return []
    found = doc.get("messages") if isinstance(doc, dict) else None
    if not isinstance(found, list):
        return []
    return [
        {"role": str(m.get("role", "")), "content": str(m.get("content", ""))}
        for m in found
        if isinstance(m, dict)
    ]


def answer_text(raw: bytes) -> tuple[str, list[dict[str, Any]]]:
    """An answer body's text and tool calls: a chat-completions answer, a command's
    `{"content": …}`, else the body itself as text."""
    try:
        return parse_chat_answer(raw, "the answer")
    except EndpointError:
        pass
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        doc = None
    if isinstance(doc, dict) and isinstance(doc.get("content"), str):
        return doc["content"], []
    return raw.decode("utf-8", "replace"), []


def _version(objects: ObjectStore, version: str, stored: StoredAnswer | None) -> VersionAnswer:
    if stored is None:
        return VersionAnswer(version, error="not answered yet")
    raw = _read(objects, stored.answer_sha256)
    text, calls = (None, []) if raw is None else answer_text(raw)
    return VersionAnswer(
        version=version,
        endpoint=stored.endpoint,
        text=text,
        tool_calls=calls,
        decision=stored.decision,
        error=stored.error,
        answer_sha256=stored.answer_sha256,
    )


async def load_detail(
    objects: ObjectStore, run: ReplayRun, answers: list[StoredAnswer], request_id: str
) -> ReplayDetail | None:
    """The input `request_id` of `run` side by side; None when the run has no answer for it."""
    mine = {a.version: a for a in answers if a.request_id == request_id}
    if not mine:
        return None
    good, bad = mine.get(run.known_good), mine.get(run.suspect)
    either = good or bad
    assert either is not None
    raw_request = await asyncio.to_thread(_read, objects, either.request_sha256)
    known_good = await asyncio.to_thread(_version, objects, run.known_good, good)
    suspect = await asyncio.to_thread(_version, objects, run.suspect, bad)
    return ReplayDetail(
        request_id=request_id,
        messages=_messages(raw_request),
        request_sha256=either.request_sha256,
        known_good=known_good,
        suspect=suspect,
        expected=either.expected,
        expected_source=either.expected_source,
        verdict=judge(either.expected, known_good.decision, suspect.decision),
    )
