"""A free-text note on the active incident's timeline. Keyboard only; esc cancels."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from thirdbook.tui.dialogs.triage import DIALOG_CSS


class NoteDialog(ModalScreen[str | None]):
    """Ask for the note; returns its text, or None on esc."""

    DEFAULT_CSS = DIALOG_CSS.format(name="NoteDialog")
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="cancel")]

    def __init__(self, incident_id: int) -> None:
        super().__init__()
        self.incident_id = incident_id

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(f"Note on incident #{self.incident_id}", style="bold"))
            yield Static(Text("It goes on the timeline and in the audit chain with who and when."))
            yield Input(placeholder="what you saw, decided or tried (enter to note)", id="note")

    @on(Input.Submitted, "#note")
    def _submitted(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.dismiss(event.value)
