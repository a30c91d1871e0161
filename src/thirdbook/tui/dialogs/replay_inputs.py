"""Choosing what a replay sends: the incident's window (empty), an alert's decisions, an
explorer filter or a file of request ids. Keyboard only; esc cancels."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from thirdbook.tui.dialogs.triage import DIALOG_CSS


class ReplayInputsDialog(ModalScreen[str | None]):
    """Ask for the inputs spec; returns it ("" for the incident's window), or None on esc."""

    DEFAULT_CSS = DIALOG_CSS.format(name="ReplayInputsDialog")
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="cancel")]

    def __init__(self, current: str | None) -> None:
        super().__init__()
        self.current = current or ""

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text("Replay which inputs?", style="bold"))
            yield Static(
                Text(
                    "Empty: the suspect's decisions in the incident's window, feedback-named "
                    "first. Or alert:ID (its decisions), filter:'version:v7 since:2h' (the "
                    "explorer's filter), file:PATH (request ids, one a line)."
                )
            )
            yield Input(value=self.current, placeholder="enter to replay", id="inputs")

    @on(Input.Submitted, "#inputs")
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip())
