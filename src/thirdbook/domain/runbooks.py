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
`any` marks the general runbook used when no other one applies.

`match` (optional) narrows a runbook to some alerts of those kinds: a list of `field=pattern`
conditions on the alert's `rule` (the rule's name) or `key` (what it fired for: a model and
version, a feedback target and category, an agent, a subject), each a glob (`*`, `?`, `[...]`,
case-sensitive)::

    ---
    title: Upstream change
    triggers: [feedback, drift]
    match: [key=credit-decision *]
    ---

Conditions on one field are alternatives; conditions on different fields must all hold. A
runbook with `match` is offered only to the alerts it matches (with `triggers: [any]`, of any
kind). For each alert the most specific runbook wins: one whose `match` holds, more fields
first, then longer patterns; else one naming its kind (kind only, as before); else the
general one. Ties go to the runbook whose name sorts first.

A step is known by a hash of its text, so editing other lines keeps an incident's checks;
rewording a step starts it unchecked.

A step the console performs is checked by that action when it succeeds (recorded as done by
it). The step says which with a trailing marker, not part of its text or its key::

    - [ ] Snapshot the evidence before anything changes (`s`). {action: snapshot}
    - [ ] Flip the kill switch, or roll back. {action: kill-switch, rollback}

The actions are those in `STEP_ACTIONS` (snapshot, kill-switch, rollback, quarantine, export,
replay, explain); `{action: none}` says no action checks the step. Without a marker, a step
whose first words (after an optional `Label:`) name an action ("Snapshot ...", "Roll back
...", "Flip the kill switch ...") is checked by it.
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
from collections.abc import Sequence
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

KNOWN_TRIGGERS = frozenset({"drift", "feedback", "unexplainable", "agent_lane", "any"})
MATCH_FIELDS = ("rule", "key")
"""The alert fields a runbook's `match` may test."""
STEP_LINE = re.compile(r"^(?P<bullet>\s*[-*+]\s+)\[[ xX]\]\s+(?P<text>\S.*)$")
"""A task-list line: a step (its bullet, then its box, then its text)."""
_ACTION_MARK = re.compile(r"\s*\{\s*action\s*:\s*(?P<names>[^{}]*)\}\s*$", re.IGNORECASE)
STEP_ACTIONS: dict[str, str] = {
    "snapshot": "the snapshot",
    "kill-switch": "the kill switch",
    "rollback": "the rollback",
    "quarantine": "the quarantine",
    "export": "the evidence export",
    "replay": "the replay",
    "explain": "the answered explanation",
}
"""The actions that check the steps naming them, and how the timeline says which did."""
_ACTION_WORDS = (
    ("snapshot", r"(?:take an? |keep an? )?snapshot"),
    ("kill-switch", r"(?:flip |set |turn on )?the kill switch|kill switch"),
    ("rollback", r"roll(?:ing)? (?:it |the model |the version )?back|rollback"),
    ("quarantine", r"quarantine"),
    ("export", r"export"),
    ("replay", r"replay"),
    ("explain", r"explain"),
)
_ACTION_START = re.compile(
    r"^(?:[^:`]{1,40}:\s+)?(?:"
    + "|".join(f"(?P<{n.replace('-', '_')}>{w})" for n, w in _ACTION_WORDS)
    + r")\b",
    re.IGNORECASE,
)
_HEADING = re.compile(r"^\s{0,3}(?P<marks>#{1,6})\s+(?P<text>.*)$")


class RunbookError(ValueError):
    """A runbook file cannot be used; the message names the file and the reason."""


class RunbookLine(BaseModel):
    """One line as the console shows it: a heading, a checkable step, or prose."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["heading", "step", "text"]
    text: str
    step_key: str | None = None
    actions: tuple[str, ...] = Field(
        default=(), description="A step's actions that check it when they succeed."
    )


class AlertFacts(Protocol):
    """What a runbook is matched on: an `Alert` or a `Firing` has these."""

    @property
    def kind(self) -> str:
        """The trigger kind."""
        ...

    @property
    def rule(self) -> str:
        """The name of the rule that fired."""
        ...

    @property
    def key(self) -> str:
        """What it fired for."""
        ...


class KindOnly(BaseModel):
    """An alert known only by its kind (no rule or key: no `match` holds for it)."""

    model_config = ConfigDict(frozen=True)

    kind: str
    rule: str = ""
    key: str = ""


class MatchCondition(BaseModel):
    """One `field=pattern` of a runbook's `match`."""

    model_config = ConfigDict(frozen=True)

    field: Literal["rule", "key"]
    pattern: str = Field(min_length=1)

    def holds(self, alert: AlertFacts) -> bool:
        """Whether the alert's field fits the glob."""
        return fnmatch.fnmatchcase(getattr(alert, self.field), self.pattern)

    def __str__(self) -> str:
        return f"{self.field}={self.pattern}"


Specificity = tuple[int, int]
"""How closely a runbook fits an alert: (fields matched, literal characters of the patterns
that matched); (0, 0) is by kind only. Larger is more specific."""


class Runbook(BaseModel):
    """A parsed runbook."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(description="The file name without `.md`; incidents refer to it.")
    title: str
    triggers: tuple[str, ...]
    match: tuple[MatchCondition, ...] = Field(
        default=(), description="Empty: every alert of its kinds."
    )
    lines: tuple[RunbookLine, ...]
    body: str = Field(default="", description="The Markdown after the front matter, as written.")

    @property
    def steps(self) -> tuple[RunbookLine, ...]:
        """The checkable steps, in order."""
        return tuple(line for line in self.lines if line.kind == "step")

    def applies_to(self, kind: str) -> bool:
        """Whether the runbook names this trigger kind."""
        return kind in self.triggers

    @property
    def general(self) -> bool:
        """Whether this is a general runbook: `any` kind and no `match`."""
        return "any" in self.triggers and not self.match

    def fits(self, alert: AlertFacts) -> Specificity | None:
        """How specifically the runbook fits an alert; None when it does not apply (the
        general runbook is not said to fit: it is the fallback)."""
        if not self.match:
            return (0, 0) if self.applies_to(alert.kind) else None
        if not (self.applies_to(alert.kind) or "any" in self.triggers):
            return None
        fields, literal = 0, 0
        for name in {c.field for c in self.match}:
            held = [c for c in self.match if c.field == name and c.holds(alert)]
            if not held:
                return None
            fields += 1
            literal += max(len(c.pattern.replace("*", "").replace("?", "")) for c in held)
        return (fields, literal)

    def matched(self, alert: AlertFacts) -> list[str]:
        """The `match` conditions that hold for an alert, as written (`key=...`)."""
        return [str(c) for c in self.match if c.holds(alert)]


def step_key(text: str) -> str:
    """A step's identity: a hash of its whitespace-normalised text."""
    return hashlib.sha1(" ".join(text.split()).encode()).hexdigest()[:16]


def step_actions(text: str, origin: str = "runbook") -> tuple[str, tuple[str, ...]]:
    """A step's text without its `{action: ...}` marker, and the actions that check it:
    the marker's, else the action its first words name (see the module's docstring)."""
    mark = _ACTION_MARK.search(text)
    if mark is None:
        start = _ACTION_START.match(text.strip())
        if start is None or start.lastgroup is None:
            return text.strip(), ()
        return text.strip(), (start.lastgroup.replace("_", "-"),)
    names = tuple(n.strip().lower() for n in mark["names"].split(",") if n.strip())
    bare = text[: mark.start()].strip()
    if names == ("none",):
        return bare, ()
    unknown = [n for n in names if n not in STEP_ACTIONS]
    if unknown or not names:
        raise RunbookError(
            f"{origin}: {{action: {mark['names'].strip()}}} names no action the console "
            f"performs (known: {', '.join(STEP_ACTIONS)}, or none)"
        )
    return bare, names


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


def _match(value: str | list[str] | None, origin: str) -> tuple[MatchCondition, ...]:
    items = [value] if isinstance(value, str) else value or []
    conditions = []
    for item in items:
        field, equals, pattern = item.partition("=")
        field, pattern = field.strip(), pattern.strip()
        if not equals or field not in MATCH_FIELDS or not pattern:
            raise RunbookError(
                f"{origin}: match conditions are 'field=pattern' with field one of "
                f"{', '.join(MATCH_FIELDS)} (not {item!r})"
            )
        conditions.append(MatchCondition.model_validate({"field": field, "pattern": pattern}))
    return tuple(conditions)


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
    for number, line in enumerate(lines[body_start:], start=body_start + 1):
        if (step := STEP_LINE.match(line)) is not None:
            text, actions = step_actions(step["text"], f"{origin}:{number}")
            body.append(
                RunbookLine(kind="step", text=text, step_key=step_key(text), actions=actions)
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
    return Runbook(
        name=name,
        title=title,
        triggers=tuple(triggers),
        match=_match(fields.get("match"), origin),
        lines=tuple(body),
        body="\n".join(lines[body_start:]),
    )


class RunbookChoice(BaseModel):
    """The runbook chosen for some alerts, and why."""

    model_config = ConfigDict(frozen=True)

    runbook: Runbook
    how: Literal["match", "kind", "general"]
    alert: int | None = Field(description="Which alert (by position) it was chosen for.")
    matched: tuple[str, ...] = Field(default=(), description="The conditions that held.")


def choose_for(
    runbooks: Sequence[Runbook], alerts: Sequence[AlertFacts | str]
) -> RunbookChoice | None:
    """The runbook for an incident with these alerts (a bare string is an alert known only
    by its kind): the first alert that has a runbook decides, taking its most specific one
    (see the module's docstring); ties go to the earlier runbook. Else the first general
    runbook; else None."""
    for position, given in enumerate(alerts):
        alert: AlertFacts = KindOnly(kind=given) if isinstance(given, str) else given
        best: tuple[Specificity, Runbook] | None = None
        for runbook in runbooks:
            fit = runbook.fits(alert)
            if fit is not None and (best is None or fit > best[0]):
                best = (fit, runbook)
        if best is not None:
            fit, runbook = best
            if fit == (0, 0):
                return RunbookChoice(runbook=runbook, how="kind", alert=position)
            matched = tuple(runbook.matched(alert))
            return RunbookChoice(runbook=runbook, how="match", alert=position, matched=matched)
    general = next((r for r in runbooks if r.general), None)
    return None if general is None else RunbookChoice(runbook=general, how="general", alert=None)


def choose_runbook(
    runbooks: Sequence[Runbook], alerts: Sequence[AlertFacts | str]
) -> Runbook | None:
    """The runbook `choose_for` chooses, without the why."""
    choice = choose_for(runbooks, alerts)
    return None if choice is None else choice.runbook


class StepCheck(BaseModel):
    """A step checked (or unchecked again) on an incident's runbook."""

    model_config = ConfigDict(frozen=True)

    step_key: str
    checked: bool
    by: str
    by_action: str | None = Field(
        default=None, description="The action that checked it (a key of STEP_ACTIONS)."
    )
