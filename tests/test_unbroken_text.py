"""No token is broken across lines: not a hash, not `(+0.1 s)`, not `[0.85, +inf]`. Read off
the lines the incident panel and the alert detail draw at 80x24."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from rich.text import Text
from textual.app import App, ComposeResult
from textual.content import Content
from textual.geometry import Region
from textual.widget import Widget

from thirdbook.domain.alerts import Alert
from thirdbook.domain.evidence import ContainmentState
from thirdbook.domain.incidents import Incident, RulePrecision
from thirdbook.tui.unbroken import lay_out
from thirdbook.tui.widgets.alert_detail import AlertDetail
from thirdbook.tui.widgets.incident_panel import IncidentPanel

HASH = "sha256:" + "c0181e92b4ce603c" * 4
AT = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
_GROUP = re.compile(r"\([^()]{0,24}\)|\[[^\[\]]{0,24}\]")


def rendered_lines(widget: Widget) -> list[str]:
    """The lines a widget draws, as the terminal shows them."""
    size = widget.outer_size
    strips = widget.render_lines(Region(0, 0, size.width, size.height))
    return [strip.text.rstrip() for strip in strips]


def assert_unbroken(source: str, lines: list[str]) -> None:
    """Every token of `source` (a word, or a short bracketed group) is on one line whole,
    or cut with an ellipsis on a line of its own: never continued on the next line."""
    shown = " ".join(line.strip() for line in lines)
    groups = _GROUP.findall(source)
    tokens = [t for t in _GROUP.sub(" ", source).split() if t] + groups
    for token in tokens:
        whole = any(token in line for line in lines)
        cut = any(
            line.strip().endswith("…") and token.startswith(line.strip()[:-1]) for line in lines
        )
        assert whole or cut, f"{token!r} is broken across lines:\n" + "\n".join(lines)
    assert "(+0.1\n" not in "\n".join(lines) and not any(line.strip() == "s)" for line in lines)
    assert shown  # something was drawn


class Panels(App[None]):
    """The incident panel and the alert detail as the 80-column console lays them out."""

    CSS = "IncidentPanel { width: 80; } AlertDetail { width: 80; }"

    def compose(self) -> ComposeResult:
        yield IncidentPanel(id="panel")
        yield AlertDetail(id="alert-detail")


def _incident() -> Incident:
    return Incident(
        id=1,
        title=f"credit-scorer v7 weights {HASH} accuracy outside [0.85, +inf] (latest 0.675)",
        severity="SEV2",
        blast_radius="medium",
        phase="contained",
        commander="root",
        declared_at=AT,
        alert_ids=(2,),
        runbook="drift",
    )


RULES = [
    RulePrecision(rule=rule, fired=fired, declared=declared, dismissed=0, open=fired - declared)
    for rule, fired, declared in (
        ("credit-scorer accuracy", 1, 1),
        ("support-agent lane", 1, 0),
        ("unexplainable decision", 1, 0),
        ("wrong declines", 1, 0),
    )
]
STATES = [
    ContainmentState(
        action="kill switch",
        model="credit-scorer",
        value="human",
        written=AT,
        observed=AT + timedelta(seconds=0.1),
    ),
    ContainmentState(
        action="rollback", model="credit-scorer", value=f"v6 {HASH}", written=AT, observed=None
    ),
]


async def test_the_incident_panel_breaks_no_token_at_80_columns() -> None:
    app = Panels()
    async with app.run_test(size=(80, 24)) as pilot:
        panel = app.query_one(IncidentPanel)
        panel.show(_incident(), RULES, None, None, STATES, now=AT + timedelta(minutes=3))
        await pilot.pause()
        for part in ("#incident-facts", "#containment-state", "#precision"):
            widget = panel.query_one(part)
            lines = rendered_lines(widget)
            assert len(lines) > 1, (part, lines)  # long enough to wrap at 80 columns
            assert_unbroken(str(widget.render()), lines)
        facts = "\n".join(rendered_lines(panel.query_one("#incident-facts")))
        assert "[0.85, +inf]" in facts and "(latest 0.675)" in facts
        assert any(line.strip().startswith(HASH[:40]) for line in facts.splitlines()), facts


async def test_the_alert_detail_breaks_no_token_at_80_columns() -> None:
    alert = Alert(
        id=4,
        rule="unexplainable decision",
        kind="unexplainable",
        key="req-0000301-3a2cb393",
        status="open",
        summary=(
            "regulator inquiry INQ-2026-0419: the record of req-0000301-3a2cb393 lacks the model "
            f"version and weights hash {HASH} (asked 10:00 UTC), prompt as sent"
        ),
        fired=1,
        event_ids=(690, 339),
        first_at=AT,
        last_at=AT,
    )
    app = Panels()
    async with app.run_test(size=(80, 24)) as pilot:
        detail = app.query_one(AlertDetail)
        detail.show_alert(alert)
        await pilot.pause()
        lines = rendered_lines(detail)
        assert_unbroken(str(detail.render()), lines)
        assert "(asked 10:00 UTC)" in "\n".join(lines)


def test_a_token_longer_than_the_line_is_cut_on_its_own_line_never_continued() -> None:
    content = Content.from_rich_text(Text(f"manifest {HASH} written (+0.1 s) done"))
    for width in (20, 40, 60, 78):
        lines = [line.plain for line in lay_out(content, width)]
        assert all(len(line) <= width for line in lines), lines
        assert_unbroken(content.plain, lines)
        tails = [line for line in lines if HASH.endswith(line.split(" ")[0]) and line != HASH]
        assert not [t for t in tails if not t.startswith("sha256:")], lines  # no tail alone
    assert [line.plain for line in lay_out(content, 40)] == [
        "manifest",
        HASH[:39] + "…",
        "written (+0.1 s) done",
    ]
