"""Runbooks: Markdown with front matter, whose task-list items are the checkable steps.

A runbook file looks like this::

    ---
    title: Model drift
    triggers: [drift]
    ---
    # Model drift
    Some prose.
    - [ ] Open the drift chart of the model behind the alert.

Front matter is a small `key: value` block (lists in square brackets). `triggers` names the
trigger kinds the runbook applies to (`drift`, `feedback`, `unexplainable`, `agent_lane`);
`any` marks the general runbook used when no other one applies. A step is known by a hash of
its text, so editing other lines keeps an incident's checks; rewording a step starts it
unchecked.
"""

from __future__ import annotations

import hashlib
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

KNOWN_TRIGGERS = frozenset({"drift", "feedback", "unexplainable", "agent_lane", "any"})
_STEP = re.compile(r"^\s*[-*+]\s+\[[ xX]\]\s+(?P<text>\S.*)$")
_HEADING = re.compile(r"^\s{0,3}(?P<marks>#{1,6})\s+(?P<text>.*)$")


class RunbookError(ValueError):
    """A runbook file cannot be used; the message names the file and the reason."""


class RunbookLine(BaseModel):
    """One line as the console shows it: a heading, a checkable step, or prose."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["heading", "step", "text"]
    text: str
    step_key: str | None = None


class Runbook(BaseModel):
    """A parsed runbook."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(description="The file name without `.md`; incidents refer to it.")
    title: str
    triggers: tuple[str, ...]
    lines: tuple[RunbookLine, ...]

    @property
    def steps(self) -> tuple[RunbookLine, ...]:
        """The checkable steps, in order."""
        return tuple(line for line in self.lines if line.kind == "step")

    def applies_to(self, kind: str) -> bool:
        """Whether the runbook names this trigger kind."""
        return kind in self.triggers


def step_key(text: str) -> str:
    """A step's identity: a hash of its whitespace-normalised text."""
    return hashlib.sha1(" ".join(text.split()).encode()).hexdigest()[:16]


def _front_matter(lines: list[str], origin: str) -> tuple[dict[str, str | list[str]], int]:
    if not lines or lines[0].strip() != "---":
        raise RunbookError(f"{origin}: no front matter (the file must start with a '---' line)")
    fields: dict[str, str | list[str]] = {}
    for number, line in enumerate(lines[1:], start=2):
        if line.strip() == "---":
            return fields, number
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, colon, value = line.partition(":")
        if not colon or not key.strip():
            raise RunbookError(f"{origin}:{number}: front matter lines are 'key: value'")
        value = value.strip()
        if value.startswith("[") and value.endswith("]"):
            fields[key.strip()] = [
                v.strip().strip("'\"") for v in value[1:-1].split(",") if v.strip()
            ]
        else:
            fields[key.strip()] = value.strip("'\"")
    raise RunbookError(f"{origin}: the front matter is never closed with a '---' line")


def parse_runbook(text: str, name: str, origin: str | None = None) -> Runbook:
    """A runbook from its file text; raises `RunbookError` saying what is wrong and where."""
    origin = origin or f"{name}.md"
    lines = text.lstrip("\ufeff").splitlines()
    fields, body_start = _front_matter(lines, origin)
    triggers = fields.get("triggers")
    if isinstance(triggers, str):
        triggers = [triggers]
    if not triggers:
        raise RunbookError(f"{origin}: front matter needs 'triggers: [kind, ...]'")
    unknown = sorted(set(triggers) - KNOWN_TRIGGERS)
    if unknown:
        known = ", ".join(sorted(KNOWN_TRIGGERS))
        raise RunbookError(
            f"{origin}: unknown trigger kind(s) {', '.join(unknown)} (known: {known})"
        )
    body: list[RunbookLine] = []  # prose lines are joined into paragraphs
    for line in lines[body_start:]:
        if (step := _STEP.match(line)) is not None:
            body.append(
                RunbookLine(kind="step", text=step["text"].strip(), step_key=step_key(step["text"]))
            )
        elif (heading := _HEADING.match(line)) is not None:
            body.append(RunbookLine(kind="heading", text=heading["text"].strip()))
        elif not line.strip():
            body.append(RunbookLine(kind="text", text=""))  # a paragraph ends here
        elif body and body[-1].kind == "text" and body[-1].text:
            body[-1] = RunbookLine(kind="text", text=f"{body[-1].text} {line.strip()}")
        else:
            body.append(RunbookLine(kind="text", text=line.strip()))
    body = [b for b in body if b.kind != "text" or b.text]
    title = fields.get("title")
    if not isinstance(title, str) or not title:
        headings = [b.text for b in body if b.kind == "heading"]
        title = headings[0] if headings else name
    if not any(b.kind == "step" for b in body):
        raise RunbookError(f"{origin}: no steps (a step is a task-list line: '- [ ] ...')")
    return Runbook(name=name, title=title, triggers=tuple(triggers), lines=tuple(body))


def choose_runbook(runbooks: list[Runbook], kinds: list[str]) -> Runbook | None:
    """The runbook for an incident whose alerts have these kinds: the first runbook naming
    the first kind that has one, else the general (`any`) runbook."""
    for kind in kinds:
        for runbook in runbooks:
            if runbook.applies_to(kind):
                return runbook
    return next((r for r in runbooks if r.applies_to("any")), None)


class StepCheck(BaseModel):
    """A step checked (or unchecked again) on an incident's runbook."""

    model_config = ConfigDict(frozen=True)

    step_key: str
    checked: bool
    by: str
