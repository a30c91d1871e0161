"""The banner: the active incident in one line (with its clock), and the open action items
of every incident in another."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from thirdbook.tui.panels.panel import Change, Panel, incident_moved
from thirdbook.tui.safe_text import safe
from thirdbook.tui.widgets.one_line import show_line

READING = "Reading the store for the active incident…"

if TYPE_CHECKING:
    from thirdbook.domain.incidents import Incident
    from thirdbook.domain.regulatory import SeriousMark
    from thirdbook.services.factory import Services


class Banner(Panel):
    """Reads the open action items when a timeline changes; the clock ticks on its own."""

    DEFAULT_CSS = """
    Banner { height: auto; }
    """

    def __init__(self) -> None:
        super().__init__(id="banner", classes="")
        self.incident: Incident | None = None
        self.serious: SeriousMark | None = None
        """The active incident's Article 73 clock, when it is marked serious."""
        self.now: datetime | None = None
        """The time of the last tick: what the Incident panel's clock shows too."""
        self.loaded = False
        """Whether the store has said which incident is active (until then the banner says
        so, rather than "No active incident" over an incident it has not read yet)."""

    def compose(self) -> ComposeResult:
        yield Static(Text(READING), id="incident", classes="quiet")
        yield Static(id="actions-line")

    def wants(self, shown: Change, change: Change) -> bool:
        return incident_moved(shown, change)

    async def load(self, svc: Services, shown: Change | None, change: Change) -> None:
        self.incident = change.incident
        self.loaded = True
        incident = change.incident
        self.serious = None if incident is None else await svc.serious.clock(incident.id)
        self.tick(self.now or datetime.now(UTC))
        items = [i for i in await svc.triage.action_items() if i.status == "open"]
        today = datetime.now(UTC).date()
        overdue = [i for i in items if i.overdue(today)]
        text = Text(f"Action items: {len(items)} open")
        if overdue:
            text.append(f" · {len(overdue)} OVERDUE", style="bold reverse")
        if items:
            first = (overdue or items)[0]
            text.append(f" · next #{first.id} due {first.due} ")
            text.append_text(safe(f"{first.owner}: {first.title}", 80))
        show_line(self.query_one("#actions-line", Static), text)

    def tick(self, now: datetime) -> None:
        """The incident line, its clock as of `now` (stopped at the close, if closed)."""
        self.now = now
        banner = self.query_one("#incident", Static)
        incident = self.incident
        if incident is None:
            show_line(banner, Text("No active incident" if self.loaded else READING))
            banner.add_class("quiet")
            return
        from thirdbook.domain.incidents import elapsed_clock

        text = Text(
            f"INCIDENT #{incident.id} {incident.severity} · {incident.phase} · "
            f"{elapsed_clock(incident, now)} · "
        )
        if self.serious is not None:
            late = self.serious.left(now).total_seconds() <= 0
            text.append(self.serious.due_text(now), style="bold reverse" if late else "bold")
            text.append(" · ")
        text.append_text(safe(f"{incident.commander} · {incident.title}", 200))
        show_line(banner, text)
        banner.set_class(incident.phase == "closed", "quiet")
