"""The report's regulatory section: NIST AI 600-1 (GV-4.3-002) incident fields, the AI
Incident Database / CSET fields, and the EU AI Act Article 73 clock. Filled from the store
where it can be, from `[report]` in thirdbook.toml for what only the organisation knows, and
marked "to complete" where neither says."""

from __future__ import annotations

from typing import TYPE_CHECKING

from thirdbook.domain.regulatory import ARTICLE_73_DAYS, ARTICLE_73_WHY, report_due
from thirdbook.services.report_markdown import TO_COMPLETE, fields, heading, md, or_complete, when

if TYPE_CHECKING:
    from thirdbook.services.report_data import ReportData


def _models(data: ReportData) -> str:
    seen = sorted({f"{i.model} {i.version}" for i in data.impacts if i.model and i.version})
    return md(", ".join(seen[:10])) + " (as the store names them)" if seen else TO_COMPLETE


def _impacts(data: ReportData) -> str:
    requests = sum(i.requests for i in data.impacts)
    money = "; ".join(f"{m.total:,.2f} {m.currency or ''} by {m.agent}".strip() for m in data.money)
    text = f"{requests:,} requests from {data.subjects:,} subjects in the window"
    return md(text + (f"; agents moved {money}" if money else ""))


def _description(data: ReportData) -> str:
    parts = [data.incident.title, *(a.summary for a in data.alerts[:5])]
    return md(". ".join(p.rstrip(".") for p in parts), 1000)


def _source(data: ReportData) -> str:
    if not data.alerts:
        return "declared by hand in thirdbook (no alert)"
    rules = sorted({f"{a.rule} ({a.kind})" for a in data.alerts})
    return "thirdbook alert rules: " + md(", ".join(rules))


def nist(data: ReportData) -> list[str]:
    """NIST AI 600-1, GV-4.3-002: the incident fields."""
    config, incident = data.config, data.incident
    first = min((a.first_at for a in data.alerts), default=incident.declared_at)
    reporter = md(incident.commander) + " (incident commander)"
    if config.organisation:
        reporter += ", " + md(config.organisation)
    return heading(3, "NIST AI 600-1 (GV-4.3-002) incident fields") + fields(
        [
            ("System id", md(config.system_id) if config.system_id else _models(data)),
            ("Title", md(incident.title)),
            ("Reporter", reporter),
            ("Source", _source(data)),
            ("Date reported", when(incident.declared_at) + " (declared)"),
            ("Date of incident", when(first) + " (first signal)"),
            ("Description", _description(data)),
            ("Impacts", _impacts(data)),
            ("Stakeholders impacted", _stakeholders(data)),
        ]
    )


def _stakeholders(data: ReportData) -> str:
    if data.config.stakeholders:
        return md(data.config.stakeholders)
    if data.subjects:
        return f"{data.subjects:,} subjects served in the window; others {TO_COMPLETE}"
    return TO_COMPLETE


def cset(data: ReportData) -> list[str]:
    """The AI Incident Database's CSET taxonomy fields."""
    config = data.config
    moved = [m for m in data.money if m.total]
    tangible = (
        md("yes: " + "; ".join(f"{m.total:,.2f} {m.currency or ''}".strip() for m in moved))
        + " moved by agents in the window"
        if moved
        else TO_COMPLETE
    )
    level = "AI tangible harm event (marked serious)" if data.serious else TO_COMPLETE
    return heading(3, "AI Incident Database / CSET fields") + fields(
        [
            ("Harm domain", or_complete(config.harm_domain)),
            ("Tangible harm", tangible),
            ("AI harm level", level),
            ("Sector of deployment", or_complete(config.sector)),
            ("Autonomy level", or_complete(config.autonomy_level)),
            ("Alleged deployer", or_complete(config.deployer or config.organisation)),
            ("Alleged developer", or_complete(config.developer)),
            ("Harmed parties", _stakeholders(data)),
        ]
    )


def article_73(data: ReportData) -> list[str]:
    """The EU AI Act Article 73 clock."""
    lines = heading(3, "EU AI Act Article 73")
    mark = data.serious
    if mark is None:
        return [
            *lines,
            "Not marked serious: no Article 73 clock runs. `thirdbook serious INCIDENT "
            "--category ...` (or `A` in the console) starts it.",
            "",
        ]
    return lines + fields(
        [
            ("Became aware", when(mark.aware_at)),
            ("Marked serious", f"{when(mark.marked_at)} by {md(mark.by or '')}"),
            ("Category", ARTICLE_73_WHY[mark.category]),
            ("Period", f"{ARTICLE_73_DAYS[mark.category]} days from awareness"),
            ("Deadline", when(mark.deadline)),
            ("As of this report", mark.due_text(data.generated_at)),
            ("Due", report_due(mark, data.incident.phase)),
            ("Authority", TO_COMPLETE),
        ]
    )


def regulatory(data: ReportData) -> list[str]:
    """The regulatory section, in three parts."""
    return heading(2, "Regulatory") + nist(data) + cset(data) + article_73(data)
