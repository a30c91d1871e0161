"""A new action item: title, exactly one owner and a due date, all required."""

from __future__ import annotations

import re
from datetime import date, timedelta

from rich.text import Text
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


class ActionItemDialog(ModalScreen[tuple[str, str, date] | None]):
    """Returns (title, owner, due), or None on esc; refuses to close while one is missing.

    Typed at full speed (title, tab, owner, tab, due, enter), every key lands in the field it
    was typed for: the first field has focus once the dialog is mounted (the key that opens
    it waits for that), tab and enter move focus in the key's own turn (priority bindings,
    run before the next key is handed on), and enter on the last field adds the item only
    after each field has taken in the keys typed before it.
    """

    DEFAULT_CSS = DIALOG_CSS.format(name="ActionItemDialog")
    BINDINGS = [
        Binding("escape", "dismiss(None)", "Cancel", id="cancel"),
        Binding("tab", "next_field", "Next field", show=False, priority=True),
        Binding("shift+tab", "previous_field", "Previous field", show=False, priority=True),
        Binding("enter", "enter", "Next field / add", show=False, priority=True),
    ]
    FIELDS = ("item-title", "owner", "due")

    def __init__(self, incident_id: int, today: date) -> None:
        super().__init__()
        self.incident_id = incident_id
        self.today = today
        self._adding = False  # an enter on the last field is on its way

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(f"New action item for incident #{self.incident_id}", style="bold"))
            yield Input(placeholder="What must change", id="item-title")
            yield Input(placeholder="Owner: exactly one person", id="owner")
            yield Input(placeholder="Due: YYYY-MM-DD or +7d (enter to add)", id="due")
            yield Static("", classes="error", id="error")

    def on_mount(self) -> None:
        # Now, not on the screen's resume: keys typed after the one that opened the dialog
        # go to whatever has focus when they are handed on.
        self.set_focus(self.query_one("#item-title", Input))

    def _fields(self) -> list[Input]:
        return [self.query_one(f"#{name}", Input) for name in self.FIELDS]

    def _move(self, by: int) -> None:
        fields = self._fields()
        at = fields.index(self.focused) if self.focused in fields else -1
        self.set_focus(fields[(at + by) % len(fields)])

    def action_next_field(self) -> None:
        """Tab: the next field."""
        self._move(1)

    def action_previous_field(self) -> None:
        """Shift+tab: the previous field."""
        self._move(-1)

    def action_enter(self) -> None:
        """Enter: the next field; on the last, add the item once every field has taken in
        the keys typed before this enter (each field reads its keys in order)."""
        fields = self._fields()
        if self.focused is not fields[-1]:
            self._move(1)
            return
        if self._adding:
            return
        self._adding = True

        def after(index: int) -> None:
            if index < len(fields):
                fields[index].call_later(after, index + 1)
            else:
                self._add()

        after(0)

    def _add(self) -> None:
        title = self.query_one("#item-title", Input).value.strip()
        owner = self.query_one("#owner", Input).value.strip()
        due_text = self.query_one("#due", Input).value
        due = parse_due(due_text, self.today)
        missing = [name for name, value in (("a title", title), ("an owner", owner)) if not value]
        error = self.query_one("#error", Static)
        self._adding = False
        if missing:
            error.update(f"Refused: an action item needs {' and '.join(missing)}.")
        elif not due_text.strip():
            error.update("Refused: an action item needs a due date.")
        elif due is None:
            error.update(f"Refused: {due_text.strip()!r} is not a date (YYYY-MM-DD or +7d).")
        else:
            self.dismiss((title, owner, due))
