"""Answering an inquiry: one optional note, asked once. Keyboard only; esc cancels."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from thirdbook.tui.dialogs.triage import DIALOG_CSS
from thirdbook.tui.safe_text import safe


class AnswerNoteDialog(ModalScreen[str | None]):
    """Ask for an optional note to the answer; returns it ("" for none), or None on esc."""

    DEFAULT_CSS = DIALOG_CSS.format(name="AnswerNoteDialog")
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="cancel")]

    def __init__(self, inquiry_id: str, request_id: str) -> None:
        super().__init__()
        self.inquiry_id, self.request_id = inquiry_id, request_id

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text("Answer inquiry ", style="bold") + safe(self.inquiry_id, 80))
            yield Static(
                Text("The explanation of ")
                + safe(self.request_id, 80)
                + Text(
                    " is kept as evidence, put on the incident's timeline and in the audit "
                    "chain with who answered and how long after the inquiry arrived."
                )
            )
            yield Input(placeholder="A note to the answer (optional; enter to answer)", id="note")

    @on(Input.Submitted, "#note")
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip())
