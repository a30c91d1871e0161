"""An explanation as plain text (one fact a line, terminal-safe, secrets masked), as JSON
and as Markdown: the model's (`domain.explanation`) or one made without pydantic
(`domain.plain_explanation`), alike; importing this imports neither."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, cast

from thirdbook.domain.marks import FROM_LOG
from thirdbook.domain.secrets import mask_secrets
from thirdbook.domain.text import terminal_json, visible

if TYPE_CHECKING:
    from thirdbook.domain import explanation, plain_explanation

    Explanation = explanation.Explanation | plain_explanation.Explanation

MISSING = "MISSING (not logged)"
UNTIL_INGESTED = "not available until ingested"


def facts(e: Explanation) -> list[tuple[str, str, str]]:
    """(section, label, value) for every fact, in reading order; values are raw text."""
    out: list[tuple[str, str, str]] = []
    head = "decision"
    out += [
        (head, "request", e.request_id),
        (head, "subject", e.subject or "-"),
        (head, "time", e.ts.isoformat()),
        (head, "event", _where(e)),
        (head, "missing", ", ".join(e.missing()) or "nothing: all four on tape"),
    ]
    m = e.model
    sec = "1 model"
    if m.model is None:
        out.append((sec, "model", MISSING))
    else:
        out += [
            (sec, "model name", m.model.name),
            (sec, "model version", m.model.version),
            (sec, "weights hash", m.model.weights_hash or MISSING),
        ]
        if m.model.alias:
            out.append((sec, "registry alias", m.model.alias))
    flag = "!!! WEIGHTS MISMATCH: " if m.check == "MISMATCH" else ""
    out.append((sec, "registry check", f"{flag}{m.check} {m.check_note}".strip()))
    if m.registry_hash:
        out.append((sec, "registry hash", m.registry_hash))
    sec = "2 prompt"
    p = e.prompt
    if p is None:
        out.append((sec, "prompt", MISSING))
    else:
        out += [
            (sec, "template", f"{p.template_id or '-'} version {p.template_version or '-'}"),
            (sec, "system", p.system if p.system is not None else MISSING),
            (sec, "user", p.user if p.user is not None else MISSING),
        ]
        for d in p.retrieved:
            out.append((sec, f"retrieved {d.id}", f"content_hash={d.content_hash or '-'}"))
            out.append((sec, f"retrieved {d.id} text", d.text if d.text is not None else "-"))
        for t in p.tool_outputs:
            out.append((sec, f"tool {t.tool}", t.output if t.output is not None else "-"))
    sec = "3 response"
    r = e.response
    if r is None:
        out.append((sec, "response", MISSING))
    else:
        out += [
            (sec, "decision", r.decision or "-"),
            (sec, "score", "-" if r.score is None else f"{r.score:g}"),
            (sec, "text", r.text if r.text is not None else "-"),
        ]
        for call in r.tool_calls:
            out.append((sec, f"tool call {call.id or '-'}", f"{call.name} {call.arguments or ''}"))
    sec = "4 action"
    a = e.action
    if a is None:
        out.append((sec, "action", MISSING))
    else:
        out.append((sec, "action", f"{a.type} target={a.target or '-'} {a.detail or ''}".strip()))
    sec = "route"
    w = e.route
    out.append((sec, "route", w.route + (f" (from {w.routed_from})" if w.routed_from else "")))
    if w.serving_version:
        since = w.serving_since.isoformat() if w.serving_since else "?"
        out.append((sec, "registry serving", f"{w.serving_version} since {since}"))
    else:
        out.append((sec, "registry serving", "no registry history at that time"))
    out.append((sec, "containment in force", w.containment or "none"))
    if e.inquiry:
        for key in ("inquiry_id", "source", "question", "ts"):
            if e.inquiry.get(key) is not None:
                out.append(("inquiry", key, str(e.inquiry[key])))
    if e.trace is not None:
        tr = e.trace
        out.append(("trace", "trace", f"{tr.trace_id} span {tr.span_id or '-'}"))
        for part in tr.parts:
            joined = "joined" if part.joined else "in the trace"
            out.append(("trace", f"{part.operation} #{part.event_id}", f"{joined}: {part.summary}"))
        for gap in tr.missing:
            out.append(("trace", "missing", gap))
    for rel in e.related:
        if rel.event_id is None:
            label, value = f"{rel.kind} ({FROM_LOG})", f"{rel.where} {rel.ts.isoformat()}"
        else:
            label, value = f"{rel.kind} #{rel.event_id}", rel.ts.isoformat()
        out.append(("related", label, f"{value} {rel.summary}"))
    for c in e.citations:
        out.append(("cited by", f"{c.kind} #{c.id}", c.summary))
    if e.provisional:
        out.append(("cited by", "alerts citing the event", UNTIL_INGESTED))
    for s in e.snapshots:
        out.append(
            (
                "snapshot",
                f"snapshot #{s.snapshot_id}",
                f"incident #{s.incident_id} events object {s.events_sha256 or '-'} "
                f"manifest {s.manifest_sha256 or '-'}",
            )
        )
    if e.provisional:
        out.append(("snapshot", "snapshot", f"{UNTIL_INGESTED} (a snapshot holds stored events)"))
    elif not e.snapshots:
        out.append(("snapshot", "snapshot", "none holds it"))
    return out


def _where(e: Explanation) -> str:
    if e.provisional or e.event_id is None:
        return f"{FROM_LOG}: {e.source} {e.path}@{e.byte_offset}"
    return f"#{e.event_id} {e.source} {e.path}@{e.byte_offset}"


def as_text(e: Explanation, *, width: int = 2000) -> str:
    """One fact a line: `section: label: value`, every value made visible."""
    return "\n".join(
        f"{visible(sec)}: {visible(label)}: {visible(value, width)}"
        for sec, label, value in facts(e)
    )


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return mask_secrets(value)
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return value


def as_dict(e: Explanation) -> dict[str, Any]:
    """The explanation as JSON-ready data, secrets masked."""
    data = _masked(e.model_dump(mode="json"))
    data["missing"] = e.missing()
    return dict(data)


def as_json(e: Explanation, *, indent: int | None = 2) -> str:
    """The explanation as terminal-safe JSON."""
    return terminal_json(as_dict(e), indent=indent)


def _md(text: str) -> str:
    return visible(text).replace("|", "\\|")


def as_markdown(e: Explanation) -> str:
    """The explanation as Markdown (a section per part; long text in fenced blocks)."""
    title = f"# Decision {_md(e.request_id)}" + (f" ({FROM_LOG})" if e.provisional else "")
    lines = [title, ""]
    section = ""
    for sec, label, value in facts(e):
        if sec != section:
            lines += ["", f"## {sec}", ""]
            section = sec
        shown = visible(value)
        if len(shown) > 80 or label in ("system", "user", "text"):
            lines += [f"- **{_md(label)}**:", "", "```text", shown.replace("```", "'''"), "```"]
        else:
            lines.append(f"- **{_md(label)}**: {_md(value)}")
    return "\n".join(lines).strip() + "\n"


class _Feedback(Protocol):
    category: str
    reporter: str | None
    text: str | None


class _AgentAction(Protocol):
    agent: str
    tool: str
    target: str | None
    outcome: str | None


class _Inquiry(Protocol):
    inquiry_id: str
    source: str
    question: str | None


def summary_of(event: object) -> str:
    """A related event (as the models or `domain.plain_events` read it; None for a line
    that no longer reads) in one line."""
    kind = getattr(event, "kind", None)
    if kind == "feedback":
        f = cast("_Feedback", event)
        return f"feedback {f.category} from {f.reporter or '-'}: {f.text or ''}"
    if kind == "agent_action":
        a = cast("_AgentAction", event)
        return f"{a.agent} {a.tool} {a.target or ''} {a.outcome or ''}".strip()
    if kind == "inquiry":
        i = cast("_Inquiry", event)
        return f"inquiry {i.inquiry_id} ({i.source}): {i.question or ''}"
    return "unreadable line"
