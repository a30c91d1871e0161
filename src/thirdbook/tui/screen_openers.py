"""The app's actions that open a screen or dialog on the active incident, and the table that
tells the command palette which keys each screen has.

Each screen and dialog is imported where it is first opened (and, once the first page of
events shows, in the background: see `tui.warm_imports`), so the console's first frame pays
only for the main screen."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.app import App
from textual.binding import Binding
from textual.screen import Screen

from thirdbook.domain import clock
from thirdbook.domain.errors import TriageRefusedError
from thirdbook.tui import keys
from thirdbook.tui.look import Look
from thirdbook.tui.screens.main import MainScreen
from thirdbook.tui.screens.refusals import refusal

if TYPE_CHECKING:
    from thirdbook.services.factory import Services

SCREEN_KEYS: tuple[tuple[str, str, list[Binding]], ...] = (
    ("thirdbook.tui.screens.main", "MainScreen", keys.MAIN),
    ("thirdbook.tui.screens.explorer", "ExplorerScreen", keys.EXPLORER),
    ("thirdbook.tui.screens.incidents", "IncidentListScreen", keys.INCIDENT_LIST),
    ("thirdbook.tui.screens.explain", "ExplainScreen", keys.EXPLAIN),
    ("thirdbook.tui.screens.forensics", "ForensicsScreen", keys.FORENSICS),
    ("thirdbook.tui.screens.forensics_diff", "LinkDiffScreen", keys.LINK_DIFF),
    ("thirdbook.tui.screens.replay", "ReplayScreen", keys.REPLAY),
    ("thirdbook.tui.screens.recover", "RecoverScreen", keys.RECOVER),
    ("thirdbook.tui.screens.review", "ReviewScreen", keys.REVIEW),
    ("thirdbook.tui.screens.calibration", "CalibrationScreen", keys.CALIBRATION),
)
"""Each screen (by module and class name) and the bindings the command palette lists for it."""


def screen_keys(screen: Screen[object]) -> list[Binding] | None:
    """The bindings the command palette lists for this screen (None: not one of the
    console's). A screen whose module was never imported cannot be showing."""
    for module, name, bindings in SCREEN_KEYS:
        kind = getattr(sys.modules.get(module), name, None)
        if isinstance(kind, type) and isinstance(screen, kind):
            return bindings
    return None


class ScreenOpeners(App[None]):
    """Opening screens and dialogs: mixed into the console app."""

    console_service: Services | None
    look: Look

    @property
    def main_screen(self) -> MainScreen:
        """The console's own screen, also while a dialog or another screen is over it."""
        screen = self.screen_stack[0]
        assert isinstance(screen, MainScreen)
        return screen

    def action_incidents(self) -> None:
        """The incident list; enter makes one the active incident."""
        from thirdbook.tui.screens.incidents import IncidentListScreen

        if self.console_service is None or isinstance(self.screen, IncidentListScreen):
            return

        def chosen(incident_id: int | None) -> None:
            if incident_id is not None:
                self.main_screen.show_incident(incident_id)

        self.push_screen(IncidentListScreen(self.console_service), chosen)

    def action_registry(self) -> None:
        """The registry's history: every alias move, newest first."""
        from thirdbook.tui.screens.registry import RegistryScreen

        if self.console_service is not None and isinstance(self.screen, MainScreen):
            self.push_screen(RegistryScreen(self.console_service))

    def action_calibration(self) -> None:
        """Each rule's calibration and the near misses, across incidents."""
        from thirdbook.tui.screens.calibration import CalibrationScreen

        if self.console_service is not None and isinstance(self.screen, MainScreen):
            self.push_screen(CalibrationScreen(self.console_service))

    def action_explore(self) -> None:
        """The event explorer, with its filter ready for typing."""
        from thirdbook.tui.screens.explorer import ExplorerScreen

        if self.console_service is not None and isinstance(self.screen, MainScreen):
            self.push_screen(ExplorerScreen(self.console_service))

    def action_forensics(self) -> None:
        """The active incident's chain diff against its model's last known-good baseline."""
        from thirdbook.tui.screens.forensics import ForensicsScreen

        incident_id = self._active_incident_id()
        if incident_id is not None and self.console_service is not None:
            self.push_screen(ForensicsScreen(self.console_service, incident_id))

    def action_replay(self) -> None:
        """Replay the active incident's decisions against its known-good and suspect
        versions (or show its newest finished run)."""
        from thirdbook.tui.screens.replay import ReplayScreen

        incident_id = self._active_incident_id()
        if incident_id is not None and self.console_service is not None:
            self.push_screen(ReplayScreen(self.console_service, incident_id))

    def action_recover(self) -> None:
        """The active incident's recovery decisions: restore, retrain or retire."""
        from thirdbook.tui.screens.recover import RecoverScreen

        incident_id = self._active_incident_id()
        if incident_id is not None and self.console_service is not None:
            self.push_screen(RecoverScreen(self.console_service, incident_id))

    def action_review(self) -> None:
        """The active incident's blameless review: times, findings, runbook diff, report."""
        from thirdbook.tui.screens.review import ReviewScreen

        incident_id = self._active_incident_id()
        if incident_id is not None and self.console_service is not None:
            self.push_screen(ReviewScreen(self.console_service, incident_id))

    @work(exclusive=True, group="note")
    async def action_note(self) -> None:
        """A free-text note on the active incident's timeline."""
        incident_id = self._active_incident_id()
        svc = self.console_service
        if incident_id is None or svc is None:
            return
        why = refusal("note", svc, None)
        if why is not None:
            self.notify(why, severity="warning", timeout=8)
            return
        from thirdbook.tui.dialogs.note import NoteDialog

        text = await self.push_screen_wait(NoteDialog(incident_id))
        if text is None:
            return
        try:
            await svc.triage.add_note(incident_id, text)
        except TriageRefusedError as exc:
            self.notify(f"Refused: {exc}", severity="error", timeout=8)
            return
        self.notify(f"Noted on incident #{incident_id}'s timeline.")

    @work(exclusive=True, group="handover")
    async def action_handover(self) -> None:
        """Hand over a role of the active incident (the commander's, unless another is
        chosen); every console's Incident panel shows who holds each."""
        incident_id = self._active_incident_id()
        svc = self.console_service
        if incident_id is None or svc is None:
            return
        why = refusal("handover", svc, self.main_screen.incident)
        if why is not None:
            self.notify(why, severity="warning", timeout=8)
            return
        try:
            held = await svc.triage.roles(incident_id)
        except TriageRefusedError as exc:
            self.notify(f"Refused: {exc}", severity="error", timeout=8)
            return
        from thirdbook.tui.dialogs.handover import HandoverDialog

        chosen = await self.push_screen_wait(HandoverDialog(incident_id, held))
        if chosen is None:
            return
        role, user = chosen
        try:
            holder = await svc.triage.handover(incident_id, user, role)
        except TriageRefusedError as exc:
            self.notify(f"Refused: {exc}", severity="error", timeout=8)
            return
        self.main_screen.look_again()
        self.notify(f"{holder.role} of incident #{incident_id} is now {holder.user}.")

    @work(exclusive=True, group="serious")
    async def action_serious(self) -> None:
        """Mark the active incident serious (EU AI Act Art. 73): the clock starts now and
        shows on every console's banner (`thirdbook serious --aware-at` sets another time)."""
        incident_id = self._active_incident_id()
        svc = self.console_service
        if incident_id is None or svc is None:
            return
        why = refusal("serious", svc, None)
        if why is not None:
            self.notify(why, severity="warning", timeout=8)
            return
        from thirdbook.domain.regulatory import ARTICLE_73_DAYS, ARTICLE_73_WHY
        from thirdbook.tui.dialogs.choices import ChoiceDialog

        options = [
            (key, Text(f"{key}: {days} days ({ARTICLE_73_WHY[key]})"))
            for key, days in ARTICLE_73_DAYS.items()
        ]
        heading = f"Mark incident #{incident_id} serious: the Art. 73 clock starts now"
        category = await self.push_screen_wait(ChoiceDialog(heading, options))
        if category is None:
            return
        try:
            mark = await svc.serious.mark(incident_id, category)
        except TriageRefusedError as exc:
            self.notify(f"Refused: {exc}", severity="error", timeout=8)
            return
        left = mark.due_text(clock.now())
        self.notify(f"Incident #{incident_id} marked serious ({category}): {left}.")

    def _active_incident_id(self) -> int | None:
        """The main screen's active incident, or None (said) when there is none."""
        if self.console_service is None or not isinstance(self.screen, MainScreen):
            return None
        incident = self.screen.incident
        if incident is None:
            self.notify(
                "No active incident: declare one from an alert (d), or choose one (I).",
                severity="warning",
            )
            return None
        return incident.id
