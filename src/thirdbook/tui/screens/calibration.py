"""Calibration across incidents: each rule's figures and suggestion (what `thirdbook
calibration` prints) above the near-miss register (`thirdbook near-misses`)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from thirdbook.domain.calibration import NearMiss, RuleCalibration, minutes
from thirdbook.services.factory import Services
from thirdbook.tui import keys
from thirdbook.tui.safe_text import safe, safe_prose

SUGGESTION_STYLE = {"tighten": "bold red", "loosen": "bold yellow", "keep": "dim"}


def rule_cells(row: RuleCalibration) -> tuple[Text, ...]:
    """One rule's row."""
    return (
        safe(row.rule, 40),
        Text(str(row.fired), justify="right"),
        Text(str(row.declared), justify="right"),
        Text(str(row.dismissed), justify="right"),
        Text(str(row.open), justify="right"),
        Text(str(row.near_misses), justify="right", style="bold" if row.near_misses else ""),
        Text(row.median_triage, justify="right"),
        Text(row.suggestion, style=SUGGESTION_STYLE[row.suggestion]),
    )


def rule_detail(row: RuleCalibration) -> Text:
    """The highlighted rule's suggestion, why, and its dismissal reasons counted."""
    text = Text()
    text.append(f"{row.suggestion}: ", style=SUGGESTION_STYLE[row.suggestion])
    text.append_text(safe_prose(row.why, 600))
    reasons = "; ".join(f"{r.count}× {r.reason}" for r in row.reasons)
    text.append("\nDismissed as: ", style="dim")
    text.append_text(safe_prose(reasons or "(none)", 600))
    return text


def miss_cells(miss: NearMiss) -> tuple[Text, ...]:
    """One near miss's row."""
    return (
        Text(f"#{miss.alert_id}"),
        Text("dismissed" if miss.kind == "dismissed-then-declared" else "late attach"),
        safe(miss.rule, 30),
        safe(miss.by, 20),
        Text(f"#{miss.incident_id}"),
        Text(minutes(miss.delay), justify="right"),
        safe(miss.reason or "", 60),
    )


class CalibrationScreen(Screen[None]):
    """Each rule's calibration and the near misses across incidents; esc goes back."""

    BINDINGS: ClassVar[list[BindingType]] = [*keys.CALIBRATION]
    DEFAULT_CSS = """
    CalibrationScreen #calibration-rules { height: 1fr; }
    CalibrationScreen #calibration-misses { height: 1fr; }
    CalibrationScreen #calibration-detail { height: auto; max-height: 4; padding: 0 1; }
    CalibrationScreen .title { padding: 0 1; text-style: bold; }
    """

    def __init__(self, service: Services) -> None:
        super().__init__()
        self.service = service
        self.rules: list[RuleCalibration] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="calibration-title", classes="title")
        yield DataTable[Text](id="calibration-rules", cursor_type="row", zebra_stripes=False)
        yield Static(id="calibration-detail")
        yield Static(id="near-miss-title", classes="title")
        yield DataTable[Text](id="calibration-misses", cursor_type="row", zebra_stripes=False)
        yield Footer()

    async def on_mount(self) -> None:
        rules = self.query_one("#calibration-rules", DataTable)
        rules.add_columns(
            "rule", "fired", "declared", "dismissed", "open", "near", "triage", "suggest"
        )
        misses = self.query_one("#calibration-misses", DataTable)
        misses.add_columns("alert", "kind", "rule", "by", "incident", "delay", "reason")
        await self.action_refresh()
        rules.focus()

    async def action_refresh(self) -> None:
        """Read every alert's facts again and show the figures."""
        self.rules, found = await self.service.calibration.both()
        rules = self.query_one("#calibration-rules", DataTable)
        rules.clear()
        for row in self.rules:
            rules.add_row(*rule_cells(row), key=row.rule)
        misses = self.query_one("#calibration-misses", DataTable)
        misses.clear()
        for miss in found:
            misses.add_row(*miss_cells(miss))
        self.query_one("#calibration-title", Static).update(
            Text(
                f"Calibration — {len(self.rules)} rules (start strict, loosen with evidence; "
                "g: look again)"
                if self.rules
                else "Calibration — no rule has fired yet"
            )
        )
        self.query_one("#near-miss-title", Static).update(
            Text(f"Near misses — {len(found)}" if found else "Near misses — none")
        )
        self._show_detail(rules.cursor_row)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        """The highlighted rule's why and reasons under the table."""
        if event.data_table.id == "calibration-rules":
            self._show_detail(event.cursor_row)

    def _show_detail(self, row: int) -> None:
        detail = self.query_one("#calibration-detail", Static)
        if 0 <= row < len(self.rules):
            detail.update(rule_detail(self.rules[row]))
        else:
            detail.update(Text(""))

    def action_cursor_down(self) -> None:
        """Down in the focused table."""
        if isinstance(self.focused, DataTable):
            self.focused.action_cursor_down()

    def action_cursor_up(self) -> None:
        """Up in the focused table."""
        if isinstance(self.focused, DataTable):
            self.focused.action_cursor_up()
