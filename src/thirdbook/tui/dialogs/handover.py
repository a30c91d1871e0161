"""Hand over a role of the active incident: which role (up / down cycle it; the commander's
first) and who takes it. Keyboard only; esc cancels."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from thirdbook.domain.roles import ROLES, RoleHolder
from thirdbook.tui.dialogs.triage import DIALOG_CSS
from thirdbook.tui.safe_text import safe


def role_choice_text(role: str, held: dict[str, RoleHolder]) -> Text:
    """The three roles, the chosen one marked, each with who holds it now."""
    text = Text("Role (↑/↓): ")
    for n, name in enumerate(ROLES):
        text.append("   " if n else "")
        text.append(
            f"[{name}]" if name == role else name, style="bold reverse" if name == role else ""
        )
        holder = held.get(name)
        text.append(" (")
        text.append_text(safe(holder.user, 20) if holder is not None else Text("—"))
        text.append(")")
    return text


class HandoverDialog(ModalScreen[tuple[str, str] | None]):
    """Returns (role, user), or None on esc; refuses to close without a user."""

    DEFAULT_CSS = DIALOG_CSS.format(name="HandoverDialog")
    BINDINGS = [
        Binding("escape", "dismiss(None)", "Cancel", id="cancel"),
        Binding("up", "cycle(-1)", "Previous role", show=False, priority=True),
        Binding("down", "cycle(1)", "Next role", show=False, priority=True),
    ]

    def __init__(self, incident_id: int, held: dict[str, RoleHolder]) -> None:
        super().__init__()
        self.incident_id = incident_id
        self.held = held
        self.role = ROLES[0]
        """The role chosen: the commander's unless cycled."""

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(f"Hand over a role of incident #{self.incident_id}", style="bold"))
            yield Static(role_choice_text(self.role, self.held), id="role")
            yield Input(placeholder="who takes it: their user name (enter to hand over)", id="user")
            yield Static("", classes="error", id="error")

    def on_mount(self) -> None:
        # Now, so keys typed right after the one that opened the dialog land in the field.
        self.set_focus(self.query_one("#user", Input))

    def action_cycle(self, by: int) -> None:
        """Up / down: the previous / next role."""
        self.role = ROLES[(ROLES.index(self.role) + by) % len(ROLES)]
        self.query_one("#role", Static).update(role_choice_text(self.role, self.held))

    @on(Input.Submitted, "#user")
    def _submitted(self, event: Input.Submitted) -> None:
        if not event.value.strip():
            self.query_one("#error", Static).update(f"Refused: the {self.role} role needs someone.")
            return
        self.dismiss((self.role, event.value.strip()))
