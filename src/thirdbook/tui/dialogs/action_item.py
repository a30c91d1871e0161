"""A new action item: title, exactly one owner and a due date, all required."""

from __future__ import annotations

import re
from datetime import date, timedelta

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from thirdbook.tui.dialogs.triage import DIALOG_CSS

_RELATIVE = re.compile(r"^\+(\d{1,3})d$")


def parse_due(text: str, today: date) -> date | None:
    """A due date from `YYYY-MM-DD` or `+Nd` (N days from today); None if neither."""
    text = text.strip()
    if (relative := _RELATIVE.match(text)) is not None:
        return today + timedelta(days=int(relative[1]))
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


class _Field(Input):
    """An input whose enter moves to the next field at once, in the key's own handler, so
    a fast typist's next keys land in the next field (not in this one)."""

    async def action_submit(self) -> None:
        if self.id == "due":
            await super().action_submit()
        else:
            self.screen.focus_next()


class ActionItemDialog(ModalScreen[tuple[str, str, date] | None]):
    """Returns (title, owner, due), or None on esc; refuses to close while one is missing."""

    DEFAULT_CSS = DIALOG_CSS.format(name="ActionItemDialog")
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="cancel")]

    def __init__(self, incident_id: int, today: date) -> None:
        super().__init__()
        self.incident_id = incident_id
        self.today = today

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(f"New action item for incident #{self.incident_id}", style="bold"))
            yield _Field(placeholder="What must change", id="item-title")
            yield _Field(placeholder="Owner: exactly one person", id="owner")
            yield _Field(placeholder="Due: YYYY-MM-DD or +7d (enter to add)", id="due")
            yield Static("", classes="error", id="error")

    @on(Input.Submitted, "#due")
    def _add(self) -> None:
        title = self.query_one("#item-title", Input).value.strip()
        owner = self.query_one("#owner", Input).value.strip()
        due_text = self.query_one("#due", Input).value
        due = parse_due(due_text, self.today)
        missing = [name for name, value in (("a title", title), ("an owner", owner)) if not value]
        error = self.query_one("#error", Static)
        if missing:
            error.update(f"Refused: an action item needs {' and '.join(missing)}.")
        elif not due_text.strip():
            error.update("Refused: an action item needs a due date.")
        elif due is None:
            error.update(f"Refused: {due_text.strip()!r} is not a date (YYYY-MM-DD or +7d).")
        else:
            self.dismiss((title, owner, due))
