"""Containment dialogs: they name the model and the effect, and ask once, clearly."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from thirdbook.tui.dialogs.snapshot_wait import SnapshotWait, WaitsForSnapshot
from thirdbook.tui.dialogs.triage import DIALOG_CSS
from thirdbook.tui.safe_text import safe

MODES = (
    ("human", "route every request to a human reviewer"),
    ("fallback", "route every request to the deterministic fallback"),
    ("refuse", "refuse every request"),
    ("model", "route back to the model (recovery, e.g. after a rollback)"),
)


@dataclass(frozen=True)
class KillChoice:
    """What the commander chose."""

    mode: str
    override: str | None


class KillSwitchDialog(WaitsForSnapshot[KillChoice | None]):
    """Choose where the traffic goes; without a complete snapshot, a reason is required.
    Opened while a snapshot runs, it waits for it (see `WaitsForSnapshot`)."""

    DEFAULT_CSS = (
        DIALOG_CSS.format(name="KillSwitchDialog")
        + """
    KillSwitchDialog OptionList { height: auto; margin-bottom: 1; }
    KillSwitchDialog .hidden { display: none; }
    """
    )
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="cancel")]

    def __init__(
        self,
        model: str,
        serving: str | None,
        snapshot_complete: bool,
        wait: SnapshotWait | None = None,
    ) -> None:
        super().__init__(snapshot_complete, wait)
        self.model, self.serving = model, serving

    def compose(self) -> ComposeResult:
        with Vertical():
            title = Text("KILL SWITCH for ", style="bold")
            serving = "version not known" if self.serving is None else f"serving {self.serving}"
            title.append_text(safe(f"{self.model} ({serving})", 80))
            yield Label(title)
            yield Static(
                "The flag stays ENABLED and its default variant routes the model's "
                "traffic away from it. Choose, then enter:"
            )
            yield OptionList(
                *[Option(f"{mode}: {what}", id=mode) for mode, what in MODES],
                id="modes",
                disabled=self.waiting,
            )
            yield self.waiting_note()
            if not self.snapshot_complete and not self.waiting:
                yield Static(
                    Text(
                        "No complete evidence snapshot yet: snapshot first (esc, then "
                        "s). To act anyway, give the reason; it is recorded as a "
                        "deviation.",
                        style="bold",
                    )
                )
                yield Input(placeholder="Override reason (enter to flip)", id="override")
            yield Static("", classes="error", id="error")

    def apply_kept(self, key: events.Key) -> bool:
        """j/k and the arrows move among the modes; enter chooses (a snapshot is complete)."""
        modes = self.query_one("#modes", OptionList)
        if key.key in ("down", "j"):
            modes.action_cursor_down()
        elif key.key in ("up", "k"):
            modes.action_cursor_up()
        elif key.key == "enter":
            mode = modes.get_option_at_index(modes.highlighted or 0).id
            self.dismiss(KillChoice(mode=str(mode), override=None))
            return True
        return False

    @on(OptionList.OptionSelected, "#modes")
    def _mode(self, event: OptionList.OptionSelected) -> None:
        if self.snapshot_complete:
            self.dismiss(KillChoice(mode=str(event.option.id), override=None))
        else:
            self.query_one("#override", Input).focus()

    @on(Input.Submitted, "#override")
    def _override(self, event: Input.Submitted) -> None:
        modes = self.query_one("#modes", OptionList)
        if not event.value.strip():
            self.query_one("#error", Static).update("Refused: an override needs a reason.")
            return
        if modes.highlighted is None:
            self.query_one("#error", Static).update("Choose where the traffic goes first.")
            return
        mode = str(modes.get_option_at_index(modes.highlighted).id)
        self.dismiss(KillChoice(mode=mode, override=event.value.strip()))


@dataclass(frozen=True)
class Confirmation:
    """The commander confirmed; with the override reason when no snapshot was complete."""

    override: str | None


class ConfirmDialog(WaitsForSnapshot[Confirmation | None]):
    """Asks once, clearly: enter confirms; without a complete snapshot a reason is required.
    Opened while a snapshot runs, it waits for it (see `WaitsForSnapshot`)."""

    DEFAULT_CSS = (
        DIALOG_CSS.format(name="ConfirmDialog") + "ConfirmDialog .hidden { display: none; }"
    )
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="cancel")]

    def __init__(
        self,
        heading: Text,
        body: Text,
        snapshot_complete: bool,
        wait: SnapshotWait | None = None,
    ) -> None:
        super().__init__(snapshot_complete, wait)
        self.heading, self.body = heading, body

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.heading)
            yield Static(self.body)
            hint = (
                "enter to confirm, esc to cancel"
                if self.snapshot_complete
                else (
                    "No complete evidence snapshot yet: snapshot first (esc, then s). To act "
                    "anyway, give the reason; it is recorded as a deviation."
                )
            )
            yield self.waiting_note()
            if self.waiting:
                yield Static("", classes="error", id="error")
                return
            yield Static(Text(hint, style="bold"))
            yield Input(
                placeholder="Override reason (enter to act)"
                if not self.snapshot_complete
                else "enter to confirm",
                id="override",
            )
            yield Static("", classes="error", id="error")

    def apply_kept(self, key: events.Key) -> bool:
        """Typed text goes into the field; enter confirms (a snapshot is complete)."""
        field = self.query_one("#override", Input)
        if key.key == "enter":
            self.dismiss(Confirmation(override=field.value.strip() or None))
            return True
        if key.key == "backspace":
            field.action_delete_left()
        elif key.is_printable and key.character:
            field.insert_text_at_cursor(key.character)
        return False

    @on(Input.Submitted, "#override")
    def _confirm(self, event: Input.Submitted) -> None:
        reason = event.value.strip()
        if not self.snapshot_complete and not reason:
            self.query_one("#error", Static).update("Refused: an override needs a reason.")
            return
        self.dismiss(Confirmation(override=reason or None))
