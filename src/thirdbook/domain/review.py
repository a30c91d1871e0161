"""The blameless review: findings of five kinds, the nudge that asks for a mechanism rather
than a person, and the review's completion (a runbook edit, or the reason none was needed)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

FindingKind = Literal["finding", "factor", "went-well", "went-wrong", "lucky"]
FINDING_KINDS: dict[str, str] = {
    "finding": "Finding",
    "factor": "Contributing factor",
    "went-well": "What went well",
    "went-wrong": "What went wrong",
    "lucky": "Where we got lucky",
}
"""Each kind of finding and its heading, in the order the review shows them."""

ActionKind = Literal["detect", "prevent", "correct"]
ACTION_KINDS: tuple[str, ...] = ("detect", "prevent", "correct")
"""What an action item does: detect it sooner, prevent it, or correct what it did."""

MECHANISM_EXAMPLE = (
    "not 'the on-call missed the alert' but 'severity-2 drift alarms were routed to a "
    "channel nobody owned overnight'"
)

_ALWAYS_PERSONAL = r"forgot|forgets|neglected|overlooked|ignored|was careless|didn't bother"
_PERSONAL_IF_SUBJECT = r"missed|misses|failed to|fails to|didn't|did not|should have|never"
_PERSON_WORDS = (
    "on-call|oncall|on call|engineer|operator|responder|commander|developer|analyst|sre|"
    "admin|reviewer|someone|somebody|he|she|they|we|i|you|staff|team|human|person|user"
)
_WORD = r"[\w'-]+"
_NOT_NAMES = frozenset(
    {
        "the",
        "this",
        "that",
        "it",
        "its",
        "a",
        "an",
        "our",
        "their",
        "alerting",
        "alert",
        "alarm",
        "monitoring",
        "paging",
        "page",
        "rule",
        "model",
        "system",
        "pipeline",
        "deploy",
        "deployment",
        "check",
        "test",
        "job",
        "service",
        "cron",
    }
)


class Finding(BaseModel):
    """One thing the review found, with who wrote it and the nudge it got (if any)."""

    model_config = ConfigDict(frozen=True)

    id: int
    incident_id: int
    kind: FindingKind
    text: str
    by: str
    at: datetime
    nudge: str | None = None


class ReviewCompletion(BaseModel):
    """A completed review: when, by whom, and why no runbook edit was needed (if none was)."""

    model_config = ConfigDict(frozen=True)

    at: datetime
    by: str
    no_edit_reason: str | None = None


def blame_nudge(text: str, names: Iterable[str]) -> str | None:
    """Advice when a finding names a person or says someone "missed / forgot / failed to";
    None when it reads as a mechanism. It is advice, never a refusal."""
    lowered = text.lower()
    named = sorted(
        {
            n
            for n in names
            if len(n.strip()) >= 2
            and re.search(rf"(?<![\w-]){re.escape(n.strip().lower())}(?![\w-])", lowered)
        }
    )
    if named:
        return (
            f"this names a person ({', '.join(named)}): name the mechanism instead, "
            f"{MECHANISM_EXAMPLE}"
        )
    people = "|".join(re.escape(n.strip().lower()) for n in names if len(n.strip()) >= 2)
    subject = _PERSON_WORDS + (f"|{people}" if people else "")
    personal = re.search(rf"\b({_ALWAYS_PERSONAL})\b", lowered) or re.search(
        rf"\b({subject})\b(\s+{_WORD}){{0,2}}\s+({_PERSONAL_IF_SUBJECT})\b", lowered
    )
    if personal:
        return (
            f"'{personal.group(0)}' blames a person: say what let it happen instead, "
            f"{MECHANISM_EXAMPLE}"
        )
    # "Priya failed to page": a capitalised word that is not a determiner, then the verb.
    for match in re.finditer(
        rf"\b([A-Z][a-z]+)\s+({_PERSONAL_IF_SUBJECT})\b", text, flags=re.IGNORECASE
    ):
        word = match.group(1)
        if word[0].isupper() and word.lower() not in _NOT_NAMES:
            return (
                f"'{match.group(0)}' reads as naming a person: say what let it happen "
                f"instead, {MECHANISM_EXAMPLE}"
            )
    return None
