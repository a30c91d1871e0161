"""Triage dialogs: dismiss with a reason, declare an incident. Keyboard only; esc cancels."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from thirdbook.domain.alerts import Alert
from thirdbook.domain.incidents import SEVERITIES
from thirdbook.tui.safe_text import safe

DIALOG_CSS = """
{name} {{ align: center middle; }}
{name} > Vertical {{
    width: 76; max-width: 100%; height: auto; padding: 1 2;
    border: thick $accent; background: $surface;
}}
{name} .error {{ color: $error; height: auto; }}
{name} Input, {name} Select {{ margin-bottom: 1; }}
"""


class PromptDialog(ModalScreen[str | None]):
    """Ask for one required line of text; returns it, or None on esc."""

    DEFAULT_CSS = DIALOG_CSS.format(name="PromptDialog")
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="cancel")]

    def __init__(self, heading: str, context: Text, placeholder: str, needed: str) -> None:
        super().__init__()
        self.heading, self.context, self.placeholder, self.needed = (
            heading,
            context,
            placeholder,
            needed,
        )

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(self.heading, style="bold"))
            yield Static(self.context)
            yield Input(placeholder=self.placeholder, id="reason")
            yield Static("", classes="error", id="error")

    @on(Input.Submitted, "#reason")
    def _submitted(self, event: Input.Submitted) -> None:
        if not event.value.strip():
            self.query_one("#error", Static).update(self.needed)
            return
        self.dismiss(event.value.strip())


def dismiss_dialog(alert: Alert) -> PromptDialog:
    """Ask why an alert is not an incident."""
    return PromptDialog(
        f"Dismiss alert #{alert.id}?",
        safe(alert.summary, 300),
        "Why is this not an incident? (enter to dismiss)",
        "A reason is needed: it is the evidence for calibrating this rule.",
    )


@dataclass(frozen=True)
class Declaration:
    """What the commander chose in the declare dialog."""

    title: str
    severity: str
    blast_radius: str


class DeclareDialog(ModalScreen[Declaration | None]):
    """Declare an incident from an alert: title, severity, blast radius."""

    DEFAULT_CSS = DIALOG_CSS.format(name="DeclareDialog")
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="cancel")]

    def __init__(self, alert: Alert) -> None:
        super().__init__()
        self.alert = alert

    def compose(self) -> ComposeResult:
        high = self.alert.kind == "agent_lane"
        with Vertical():
            yield Label(Text(f"Declare an incident from alert #{self.alert.id}", style="bold"))
            yield Input(value=self.alert.summary[:120], placeholder="Title", id="title")
            yield Select(
                [(s, s) for s in SEVERITIES],
                value="SEV1" if high else "SEV2",
                allow_blank=False,
                id="severity",
            )
            yield Select(
                [
                    ("high: money moved, data leaked, irreversible → kill switch", "high"),
                    ("medium: reversible → rollback", "medium"),
                ],
                value="high" if high else "medium",
                allow_blank=False,
                id="blast",
            )
            yield Button("Declare", variant="error", id="declare")
            yield Static("", classes="error", id="error")

    @on(Input.Submitted, "#title")
    @on(Button.Pressed, "#declare")
    def _declare(self) -> None:
        title = self.query_one("#title", Input).value.strip()
        if not title:
            self.query_one("#error", Static).update("An incident needs a title.")
            return
        self.dismiss(
            Declaration(
                title=title,
                severity=str(self.query_one("#severity", Select).value),
                blast_radius=str(self.query_one("#blast", Select).value),
            )
        )
