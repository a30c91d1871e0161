"""Moving an incident to another phase: pick it (the list does not wrap around); moving it
back asks once, and closing asks once, listing what is still open."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from thirdbook.domain.incidents import PHASES, Incident
from thirdbook.services.closing import IncidentReads, StillOpen, still_open
from thirdbook.tui.dialogs.choices import ChoiceDialog
from thirdbook.tui.dialogs.triage import DIALOG_CSS
from thirdbook.tui.safe_text import safe


class AskOnceDialog(ModalScreen[bool]):
    """A yes-or-no question asked once: enter does it, esc does not."""

    DEFAULT_CSS = DIALOG_CSS.format(name="AskOnceDialog") + (
        "AskOnceDialog #hint { margin-top: 1; }\n"
        "AskOnceDialog Label { text-wrap: nowrap; text-overflow: ellipsis; }"
    )
    BINDINGS = [
        Binding("enter", "dismiss(True)", "Do it", id="confirm"),
        Binding("escape", "dismiss(False)", "Cancel", id="cancel"),
    ]

    def __init__(self, heading: Text, body: RenderableType, hint: str) -> None:
        super().__init__()
        self.heading, self.body, self.hint = heading, body, hint

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.heading)
            yield Static(self.body, id="body")
            yield Static(Text(self.hint, style="bold"), id="hint")


def phase_options(current: str) -> list[tuple[str, Text]]:
    """Each phase, the current one marked, the earlier ones marked as a move back."""
    now = PHASES.index(current) if current in PHASES else 0
    options = []
    for n, phase in enumerate(PHASES):
        text = Text(phase)
        if n == now:
            text.append("  (now)", style="bold")
        elif n < now:
            text.append("  (back)", style="dim")
        options.append((phase, text))
    return options


def close_question(incident: Incident, left: StillOpen) -> AskOnceDialog:
    """Close the incident? Names what is still open (or that nothing is), a line each."""
    heading = Text(f"CLOSE incident #{incident.id}? ", style="bold", no_wrap=True)
    heading.append_text(safe(incident.title, 120))
    heading.overflow = "ellipsis"
    if left.nothing:
        lines = [
            Text("Nothing is left open: every runbook step is checked, no action item is open"),
            Text("and no alert waits in Live triggers."),
        ]
    else:
        lines = [Text("Still open:", style="bold")]
        lines += [Text("- ").append_text(safe(line, 300)) for line in left.lines()]
    for line in lines:
        line.no_wrap, line.overflow = True, "ellipsis"
    lines.append(Text("A closed incident stays closed; its clock stops."))
    return AskOnceDialog(heading, Group(*lines), "enter to close it, esc to keep it open")


def back_question(incident: Incident, to: str) -> AskOnceDialog:
    """Move the incident back to an earlier phase?"""
    heading = Text(f"Move incident #{incident.id} BACK from {incident.phase} to {to}?")
    heading.stylize("bold")
    body = Text("The move goes on the timeline, as every phase change does.")
    return AskOnceDialog(heading, body, f"enter to move it back to {to}, esc to keep it")


async def ask_phase(app: App[object], reads: IncidentReads, incident: Incident) -> str | None:
    """The phase the commander moves `incident` to, or None if they did not (esc, or no to
    the one question a move back or a close asks). Call from a worker."""
    chosen = await app.push_screen_wait(
        ChoiceDialog(
            f"Phase of incident #{incident.id}", phase_options(incident.phase), incident.phase
        )
    )
    if chosen is None or chosen == incident.phase or incident.phase not in PHASES:
        return chosen
    if chosen == "closed":
        question = close_question(incident, await still_open(reads, incident))
    elif PHASES.index(chosen) < PHASES.index(incident.phase):
        question = back_question(incident, chosen)
    else:
        return chosen
    return chosen if await app.push_screen_wait(question) else None
