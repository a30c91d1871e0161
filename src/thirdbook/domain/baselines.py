"""Baselines of known-good and the chain diff against them (pure: no I/O).

A baseline records what a model version's chain looked like over a window: the system text
per prompt template, the retrieved documents per template, each tool's output shape, the
weights hash, the flag file, the registry alias and the decision mix. The chain diff names
each link unchanged, changed, new or gone, and when a change first appears in the logs.
"""

from __future__ import annotations

import difflib
import json
import re
from collections import Counter
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from thirdbook.domain.events import InferenceEvent

LinkKind = Literal[
    "template", "documents", "tool_shape", "weights", "flag_file", "registry_alias", "decision_mix"
]
LinkStatus = Literal["unchanged", "changed", "new", "gone"]
LINK_KINDS: tuple[str, ...] = (
    "template",
    "documents",
    "tool_shape",
    "weights",
    "flag_file",
    "registry_alias",
    "decision_mix",
)
_PAIR = re.compile(r"([A-Za-z_][\w.-]*)=(\S*)")


class Chain(BaseModel):
    """A model version's chain as observed over a window."""

    model_config = ConfigDict(frozen=True)

    templates: dict[str, str | None] = Field(
        default_factory=dict, description="template id@version → system text"
    )
    documents: dict[str, list[str]] = Field(
        default_factory=dict, description="template id@version → sorted 'id content_hash'"
    )
    tool_shapes: dict[str, str] = Field(default_factory=dict, description="tool → signature")
    weights_hash: str | None = None
    flag_sha256: str | None = None
    flag_route: str | None = None
    registry_alias: str | None = None
    decision_mix: dict[str, float] = Field(default_factory=dict)
    decisions: int = 0


class Baseline(BaseModel):
    """Evidence of what known-good looked like for a model version over a window."""

    model_config = ConfigDict(frozen=True)

    model: str
    version: str
    since: datetime
    until: datetime
    taken: datetime
    by: str
    chain: Chain


class Link(BaseModel):
    """One link of the chain diff."""

    model_config = ConfigDict(frozen=True)

    key: str
    kind: LinkKind
    status: LinkStatus
    before: str | None = None
    after: str | None = None
    first_seen: datetime | None = None
    first_request: str | None = None

    @property
    def label(self) -> str:
        """How the link is named to a person: kind and key."""
        return self.kind if self.key == self.kind else f"{self.kind} {self.key}"


def type_signature(value: Any) -> str:
    """The inferred JSON type signature of a value, e.g. `{score: int, delinquencies: int}`."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if value is None:
        return "null"
    if isinstance(value, list):
        inner = sorted({type_signature(v) for v in value})
        return f"[{' | '.join(inner)}]"
    if isinstance(value, dict):
        fields = ", ".join(f"{k}: {type_signature(v)}" for k, v in sorted(value.items()))
        return "{" + fields + "}"
    return "str"


def _scalar(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def output_signature(output: str | None) -> str:
    """The shape of a tool's output: JSON, `key=value` text (each value typed), or text."""
    if output is None:
        return "null"
    try:
        return type_signature(json.loads(output))
    except ValueError:
        pass
    pairs = _PAIR.findall(output)
    if pairs and not _PAIR.sub("", output).strip():
        return type_signature({k: _scalar(v) for k, v in pairs})
    return "text"


def template_key(event: InferenceEvent) -> str:
    """The template an event's prompt came from, as `id@version`."""
    prompt = event.prompt
    if prompt is None:
        return "none@none"
    return f"{prompt.template_id or 'none'}@{prompt.template_version or 'none'}"


def _documents(event: InferenceEvent) -> list[str]:
    docs = [] if event.prompt is None else event.prompt.retrieved
    return sorted({f"{d.id} {d.content_hash or 'unhashed'}" for d in docs})


def observe(
    events: list[InferenceEvent],
    *,
    flag_sha256: str | None = None,
    flag_route: str | None = None,
    registry_alias: str | None = None,
) -> Chain:
    """The chain a version's decisions show (given oldest first): per template its newest
    system text, the union of its retrieved documents, each tool's newest output shape, the
    newest weights hash, and the mix over them all."""
    templates: dict[str, str | None] = {}
    documents: dict[str, set[str]] = {}
    shapes: dict[str, str] = {}
    weights: str | None = None
    mix: Counter[str] = Counter()
    for event in events:
        key = template_key(event)
        if event.prompt is not None:
            templates[key] = event.prompt.system
            documents.setdefault(key, set()).update(_documents(event))
            for tool in event.prompt.tool_outputs:
                shapes[tool.tool] = output_signature(tool.output)
        if event.model is not None and event.model.weights_hash is not None:
            weights = event.model.weights_hash
        decision = None if event.response is None else event.response.decision
        mix[f"decision {decision or 'none'}"] += 1
        mix[f"route {event.route}"] += 1
    count = len(events)
    return Chain(
        templates=templates,
        documents={k: sorted(v) for k, v in documents.items()},
        tool_shapes=shapes,
        weights_hash=weights,
        flag_sha256=flag_sha256,
        flag_route=flag_route,
        registry_alias=registry_alias,
        decision_mix={k: round(v / count, 4) for k, v in sorted(mix.items())} if count else {},
        decisions=count,
    )


def _mix_text(mix: dict[str, float]) -> str:
    return "\n".join(f"{k}: {v:.1%}" for k, v in sorted(mix.items()))


def _mix_changed(before: dict[str, float], after: dict[str, float], tolerance: float) -> bool:
    keys = set(before) | set(after)
    return any(abs(before.get(k, 0.0) - after.get(k, 0.0)) > tolerance for k in keys)


def _pairs(base: Chain, now: Chain) -> list[tuple[LinkKind, str, str | None, str | None]]:
    rows: list[tuple[LinkKind, str, str | None, str | None]] = []
    for key in sorted(set(base.templates) | set(now.templates)):
        rows.append(
            ("template", key, base.templates.get(key, _GONE), now.templates.get(key, _GONE))
        )
    for key in sorted(set(base.documents) | set(now.documents)):
        b, n = base.documents.get(key), now.documents.get(key)
        rows.append(
            (
                "documents",
                key,
                _GONE if b is None else "\n".join(b),
                _GONE if n is None else "\n".join(n),
            )
        )
    for key in sorted(set(base.tool_shapes) | set(now.tool_shapes)):
        rows.append(
            ("tool_shape", key, base.tool_shapes.get(key, _GONE), now.tool_shapes.get(key, _GONE))
        )
    rows.append(("weights", "weights", base.weights_hash, now.weights_hash))
    flag = f"sha256:{base.flag_sha256} route={base.flag_route}"
    rows.append(
        ("flag_file", "flag_file", flag, f"sha256:{now.flag_sha256} route={now.flag_route}")
    )
    rows.append(("registry_alias", "registry_alias", base.registry_alias, now.registry_alias))
    return rows


_GONE = "\x00absent"


def chain_diff(
    baseline: Chain,
    current: Chain,
    events: list[InferenceEvent],
    *,
    mix_tolerance: float = 0.1,
) -> list[Link]:
    """Every link of `current` against `baseline`, with the first event (of `events`, oldest
    first) where each changed or new link appears."""
    links: list[Link] = []
    for kind, key, before, after in _pairs(baseline, current):
        if before == _GONE:
            status: LinkStatus = "new"
        elif after == _GONE:
            status = "gone"
        else:
            status = "unchanged" if before == after else "changed"
        b = None if before == _GONE else before
        a = None if after == _GONE else after
        seen = _first_seen(kind, key, b, events) if status in ("changed", "new") else None
        links.append(
            Link(
                key=key,
                kind=kind,
                status=status,
                before=b,
                after=a,
                first_seen=None if seen is None else seen.ts,
                first_request=None if seen is None else seen.request_id,
            )
        )
    changed = _mix_changed(baseline.decision_mix, current.decision_mix, mix_tolerance)
    links.append(
        Link(
            key="decision_mix",
            kind="decision_mix",
            status="changed" if changed else "unchanged",
            before=_mix_text(baseline.decision_mix),
            after=_mix_text(current.decision_mix),
        )
    )
    return links


def _value(kind: LinkKind, key: str, event: InferenceEvent) -> object:
    """The link's value in one event, or `_SKIP` when the event does not carry the link."""
    prompt = event.prompt
    if kind == "weights":
        return _SKIP if event.model is None else event.model.weights_hash
    if prompt is None:
        return _SKIP
    if kind == "template":
        return prompt.system if template_key(event) == key else _SKIP
    if kind == "documents":
        return "\n".join(_documents(event)) if template_key(event) == key else _SKIP
    if kind == "tool_shape":
        for tool in prompt.tool_outputs:
            if tool.tool == key:
                return output_signature(tool.output)
    return _SKIP


_SKIP = object()


def _first_seen(
    kind: LinkKind, key: str, before: str | None, events: list[InferenceEvent]
) -> InferenceEvent | None:
    if kind in ("flag_file", "registry_alias", "decision_mix"):
        return None
    for event in events:
        value = _value(kind, key, event)
        if value is _SKIP:
            continue
        if kind == "documents" and before is not None and value is not None:
            # A set diff: the first event whose documents are not all in the baseline's set.
            if set(str(value).split("\n")) - set(before.split("\n")):
                return event
        elif value != before:
            return event
    return None


def link_diff(link: Link) -> list[str]:
    """The diff of one link as lines: unified for text, set diff for documents, field diff
    for shapes, a table for the decision mix."""
    before, after = link.before or "", link.after or ""
    if link.kind == "documents":
        b, a = set(before.splitlines()), set(after.splitlines())
        return (
            [f"- {d}" for d in sorted(b - a)]
            + [f"+ {d}" for d in sorted(a - b)]
            + [f"  {d}" for d in sorted(a & b)]
        )
    if link.kind == "tool_shape":
        bf, af = _fields(before), _fields(after)
        out = []
        for name in sorted(set(bf) | set(af)):
            if name not in af:
                out.append(f"- {name}: {bf[name]}")
            elif name not in bf:
                out.append(f"+ {name}: {af[name]}")
            elif bf[name] != af[name]:
                out.append(f"~ {name}: {bf[name]} → {af[name]}")
            else:
                out.append(f"  {name}: {af[name]}")
        return out
    if link.kind == "decision_mix":
        bm, am = _mix_rows(before), _mix_rows(after)
        out = [f"{'share':<24}{'known-good':>12}{'now':>12}"]
        for name in sorted(set(bm) | set(am)):
            out.append(f"{name:<24}{bm.get(name, '0.0%'):>12}{am.get(name, '0.0%'):>12}")
        return out
    return list(
        difflib.unified_diff(
            before.splitlines(), after.splitlines(), "known-good", "now", lineterm=""
        )
    )


def _fields(signature: str) -> dict[str, str]:
    inner = signature.strip()
    if not (inner.startswith("{") and inner.endswith("}")):
        return {"(value)": inner} if inner else {}
    fields: dict[str, str] = {}
    depth, start = 0, 1
    for i, ch in enumerate(inner[1:-1], start=1):
        if ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
        elif ch == "," and depth == 0:
            _add_field(fields, inner[start:i])
            start = i + 1
    _add_field(fields, inner[start:-1])
    return fields


def _add_field(fields: dict[str, str], part: str) -> None:
    name, _, kind = part.strip().partition(": ")
    if name:
        fields[name] = kind


def _mix_rows(text: str) -> dict[str, str]:
    rows = {}
    for line in text.splitlines():
        name, _, share = line.rpartition(": ")
        rows[name] = share
    return rows
