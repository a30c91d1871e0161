"""Recovery dialogs: a short form for a decision, and the one clear question before writing."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from thirdbook.tui.dialogs.triage import DIALOG_CSS

Field = tuple[str, str, str]
"""(id, what it asks, its starting value)."""


class DecisionForm(ModalScreen[dict[str, str] | None]):
    """The fields of one decision, enter moving to the next and submitting on the last; a
    reason field is added (and required) when the incident is not contained. esc cancels."""

    # One line a field (its question above it), so a form fits a 24-line terminal.
    DEFAULT_CSS = DIALOG_CSS.format(name="DecisionForm") + (
        "DecisionForm Input { margin: 0; border: none; height: 1; padding: 0 1; "
        "background: $boost; } DecisionForm Input:focus { border: none; background: $accent 30%; }"
    )
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="cancel")]

    def __init__(self, heading: str, fields: list[Field], *, needs_reason: bool) -> None:
        super().__init__()
        self.heading = heading
        self.fields = list(fields)
        self.needs_reason = needs_reason
        if needs_reason:
            self.fields.append(("override", "Override reason (recorded as a deviation)", ""))

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(self.heading, style="bold"))
            if self.needs_reason:
                yield Static(
                    Text(
                        "Not contained yet: contain first (esc, then K, R or Q), or give the "
                        "reason to decide anyway.",
                        style="bold",
                    )
                )
            for key, asks, value in self.fields:
                yield Static(Text(asks, style="dim"))
                yield Input(value=value, id=f"field-{key}")
            yield Static("", classes="error", id="error")

    @on(Input.Submitted)
    def _next(self, event: Input.Submitted) -> None:
        ids = [f"field-{key}" for key, _, _ in self.fields]
        at = ids.index(event.input.id or "")
        if at + 1 < len(ids):
            self.query_one(f"#{ids[at + 1]}", Input).focus()
            return
        values = {key: self.query_one(f"#field-{key}", Input).value for key, _, _ in self.fields}
        if self.needs_reason and not values["override"].strip():
            self.query_one("#error", Static).update("Refused: an override needs a reason.")
            return
        self.dismiss(values)


class AskOnce(ModalScreen[bool]):
    """One clear question before a write: y goes ahead, n or esc does not (not enter: an
    enter meant for the form's last field never writes the file)."""

    DEFAULT_CSS = DIALOG_CSS.format(name="AskOnce")
    BINDINGS = [
        Binding("y", "dismiss(True)", "Yes, write it", id="ask-yes"),
        Binding("n,escape", "dismiss(False)", "No", id="ask-no"),
    ]

    def __init__(self, heading: Text, body: Text) -> None:
        super().__init__()
        self.heading, self.body = heading, body

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.heading)
            yield Static(self.body)
            yield Static(Text("y: write it · n / esc: cancel", style="bold"))
