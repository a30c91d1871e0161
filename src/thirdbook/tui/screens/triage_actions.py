"""The main screen's triage actions: declare, dismiss, attach, severity, phase, action items,
runbook steps and runbook edits. Each asks what it needs in a dialog and says why if refused."""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Awaitable
from datetime import UTC, date, datetime
from typing import TypeVar

from rich.text import Text
from textual import on, work
from textual.widgets import OptionList

from thirdbook.domain.alerts import Alert
from thirdbook.domain.incidents import SEVERITIES, Incident
from thirdbook.services.failures import explain
from thirdbook.store.incidents import ActionFailedError, TriageRefusedError
from thirdbook.tui.dialogs.action_item import ActionItemDialog
from thirdbook.tui.dialogs.choices import ChoiceDialog
from thirdbook.tui.dialogs.phase import ask_phase
from thirdbook.tui.dialogs.triage import DeclareDialog, PromptDialog, dismiss_dialog
from thirdbook.tui.safe_text import safe
from thirdbook.tui.screens.main_view import MainView
from thirdbook.tui.widgets.action_item_table import ActionItemTable
from thirdbook.tui.widgets.alert_table import AlertTable
from thirdbook.tui.widgets.runbook_list import RunbookList

T = TypeVar("T")


class TriageActions(MainView):
    """The main screen with its triage keys."""

    async def _act(self, action: Awaitable[T]) -> tuple[bool, T | None]:
        """Run an action: a refusal is shown with its reason; success refreshes the screen.
        Returns whether it was done, and its result."""
        try:
            result = await action
        except Exception as exc:
            # A refusal, or the machine failing under the action (a full disk, a read-only
            # control directory): said in a sentence, and the console goes on. A bug is not
            # caught: the console stops, saying so (see `ThirdbookApp`).
            refused = isinstance(exc, TriageRefusedError)
            why = (
                str(exc)
                if refused
                else explain(exc, None if self.service is None else self.service.store.path)
            )
            if why is None:
                raise
            said = "Refused" if refused and not isinstance(exc, ActionFailedError) else "Failed"
            self.notify(f"{said}: {why}", severity="error", timeout=8)
            if self.service is not None and not self.thirdbook.stop.is_set():
                await self.show_all(self.service, events=False)  # a failure changes things too
            return False, None
        if self.service is not None and not self.thirdbook.stop.is_set():
            await self.show_all(self.service, events=False)
        return True, result

    def _selected_alert(self) -> Alert | None:
        alert = self._alerts.get(self.query_one(AlertTable).selected_id() or -1)
        if alert is None or alert.status != "open":
            self.notify(
                "Select an open alert in Live triggers first (1, then j/k).", severity="warning"
            )
            return None
        return alert

    def _need_incident(self) -> Incident | None:
        if self.incident is None:
            self.notify(
                "No active incident: declare one from an alert (d), or choose one (I).",
                severity="warning",
            )
        return self.incident

    @work(exclusive=True, group="triage")
    async def action_declare(self) -> None:
        """Declare an incident from the selected alert."""
        alert = self._selected_alert()
        choice = None if alert is None else await self.app.push_screen_wait(DeclareDialog(alert))
        if alert is None or choice is None or self.service is None:
            return
        _, incident = await self._act(
            self.service.declare(
                [alert.id],
                title=choice.title,
                severity=choice.severity,
                blast_radius=choice.blast_radius,
            )
        )
        if incident is not None:
            self.active_incident_id = incident.id
            await self.show_all(self.service, events=False)
            self.notify(
                f"Declared incident #{incident.id} {incident.severity}; recommended "
                f"containment: {incident.recommended_containment}"
            )

    @work(exclusive=True, group="triage")
    async def action_dismiss_alert(self) -> None:
        """Dismiss the selected alert, with a reason."""
        alert = self._selected_alert()
        reason = None if alert is None else await self.app.push_screen_wait(dismiss_dialog(alert))
        if alert is None or reason is None or self.service is None:
            return
        if (await self._act(self.service.dismiss(alert.id, reason)))[0]:
            self.notify(f"Dismissed alert #{alert.id}")

    @work(exclusive=True, group="triage")
    async def action_attach(self) -> None:
        """Attach the selected alert to an open incident (the active one is offered first)."""
        alert = self._selected_alert()
        if alert is None or self.service is None:
            return
        open_incidents = [i for i in await self.service.incidents(limit=50) if i.phase != "closed"]
        if not open_incidents:
            self.notify("No open incident to attach to: declare one (d).", severity="warning")
            return
        options = [
            (str(i.id), safe(f"#{i.id} {i.severity} {i.phase}: {i.title}", 70))
            for i in open_incidents
        ]
        current = None if self.incident is None else str(self.incident.id)
        chosen = await self.app.push_screen_wait(
            ChoiceDialog(f"Attach alert #{alert.id} to which incident?", options, current)
        )
        if chosen is not None and (await self._act(self.service.attach(alert.id, int(chosen))))[0]:
            self.notify(f"Attached alert #{alert.id} to incident #{chosen}")

    @work(exclusive=True, group="triage")
    async def action_severity(self) -> None:
        """Change the active incident's severity."""
        await self._set_field("severity", SEVERITIES)

    @work(exclusive=True, group="triage")
    async def action_phase(self) -> None:
        """Move the active incident to another phase (back, or closed: asks once)."""
        incident = self._need_incident()
        if incident is not None and self.service is not None:
            chosen = await ask_phase(self.app, self.service, incident)
            if chosen is not None:
                await self._act(self.service.set_phase(incident.id, chosen))

    async def _set_field(self, field: str, choices: tuple[str, ...]) -> None:
        incident = self._need_incident()
        if incident is None or self.service is None:
            return
        current = str(getattr(incident, field))
        chosen = await self.app.push_screen_wait(
            ChoiceDialog(
                f"{field.capitalize()} of incident #{incident.id}",
                [(c, Text(c)) for c in choices],
                current,
            )
        )
        if chosen is not None:
            setter = self.service.set_severity if field == "severity" else self.service.set_phase
            await self._act(setter(incident.id, chosen))

    async def action_add_action_item(self) -> None:
        """A new action item on the active incident: title, one owner, a due date. The
        dialog is up before the next key is read (see `ActionItemDialog`)."""
        incident = self._need_incident()
        if incident is not None and self.service is not None:
            incident_id = incident.id

            def answered(answer: tuple[str, str, date] | None) -> None:
                self._add_action_item(incident_id, answer)

            dialog = ActionItemDialog(incident_id, datetime.now(UTC).date())
            await self.app.push_screen(dialog, answered)

    @work(exclusive=True, group="triage")
    async def _add_action_item(
        self, incident_id: int, answer: tuple[str, str, date] | None
    ) -> None:
        if answer is None or self.service is None:
            return
        title, owner, due = answer
        _, item = await self._act(
            self.service.add_action_item(incident_id, title=title, owner=owner, due=due)
        )
        if item is not None:
            self.notify(f"Action item #{item.id} for {owner}, due {due}")

    @work(exclusive=True, group="triage")
    async def action_close_action_item(self) -> None:
        """Close the selected action item with a short resolution."""
        table = self.query_one(ActionItemTable)
        item_id = table.selected_id()
        if item_id is None or self.service is None:
            self.notify("Select an action item first (5, then j/k).", severity="warning")
            return
        resolution = await self.app.push_screen_wait(
            PromptDialog(
                f"Close action item #{item_id}?",
                Text(""),
                "Resolution: what was done (enter)",
                "Closing an action item needs a short resolution.",
            )
        )
        if (
            resolution is not None
            and (await self._act(self.service.close_action_item(item_id, resolution)))[0]
        ):
            self.notify(f"Closed action item #{item_id}")

    async def action_check_step(self) -> None:
        """Check or uncheck the highlighted runbook step (recorded on the timeline)."""
        runbook = self.query_one(RunbookList)
        if self.focused is not runbook:
            self.action_panel("runbook")
            return
        step = runbook.selected_step()
        incident = self._need_incident()
        if incident is None or self.service is None:
            return
        if step is None:
            runbook.action_first()  # the first step (headings and prose are skipped)
            self.notify("Choose a step with j/k, then space to check it.")
            return
        checks = await self.service.runbook_checks(incident.id)
        checked = not (step in checks and checks[step].checked)
        await self._act(self.service.check_step(incident.id, step, checked))

    @on(OptionList.OptionSelected, "#runbook")
    async def _step_chosen(self) -> None:
        await self.action_check_step()

    async def action_edit_runbook(self) -> None:
        """Open the incident's runbook in $EDITOR (the app suspends), then reload it."""
        incident = self._need_incident()
        if incident is None or self.service is None or incident.runbook is None:
            return
        library = self.service.runbooks
        path = library.editable_path(incident.runbook)
        editor = shlex.split(os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi")
        try:
            with self.app.suspend():
                subprocess.run([*editor, str(path)], check=False)  # noqa: ASYNC221
        except Exception as exc:  # SuspendNotSupported, a missing editor
            self.notify(f"Cannot open the editor: {exc}", severity="error")
            return
        library.reload()
        for problem in library.problems:
            self.notify(problem, severity="error", timeout=10)
        await self.show_all(self.service, events=False)
        self.notify(f"Reloaded runbook {incident.runbook} from {path}")
