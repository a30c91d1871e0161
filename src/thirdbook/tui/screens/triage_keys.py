"""The triage keys: declare, dismiss, attach, severity, phase, action items, runbook steps
and runbook edits. Each asks what it needs in a dialog and says why if refused."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from rich.text import Text

from thirdbook.tui.safe_text import safe
from thirdbook.tui.screens.stage import Stage, act, acting_on, need_incident, selected_alert
from thirdbook.tui.widgets.action_item_table import ActionItemTable
from thirdbook.tui.widgets.runbook_list import RunbookList

if TYPE_CHECKING:
    from thirdbook.domain.incidents import Incident
    from thirdbook.tui.dialogs.action_item import ActionItemDialog


class TriageKeys:
    """The triage actions of one main screen."""

    def __init__(self, stage: Stage) -> None:
        self.stage = stage

    async def declare(self) -> Incident | None:
        """Declare an incident from the selected alert; returns the new incident."""
        stage = self.stage
        from thirdbook.tui.dialogs.triage import DeclareDialog

        alert = selected_alert(stage)
        choice = None if alert is None else await stage.app.push_screen_wait(DeclareDialog(alert))
        if alert is None or choice is None or stage.service is None:
            return None
        declare = stage.service.triage.declare(
            [alert.id],
            title=choice.title,
            severity=choice.severity,
            blast_radius=choice.blast_radius,
        )
        _, incident = await act(stage, declare)
        if incident is None:
            return None
        stage.notify(
            f"Declared incident #{incident.id} {incident.severity}; recommended "
            f"containment: {incident.recommended_containment}"
        )
        return incident

    async def dismiss(self) -> None:
        """Dismiss the selected alert, with a reason."""
        stage = self.stage
        from thirdbook.tui.dialogs.triage import dismiss_dialog

        alert = selected_alert(stage)
        reason = None if alert is None else await stage.app.push_screen_wait(dismiss_dialog(alert))
        if alert is None or reason is None or stage.service is None:
            return
        if (await act(stage, stage.service.triage.dismiss(alert.id, reason)))[0]:
            stage.notify(f"Dismissed alert #{alert.id}")

    async def attach(self) -> None:
        """Attach the selected alert to an open incident (the active one is offered first)."""
        stage = self.stage
        alert = selected_alert(stage)
        if alert is None or stage.service is None:
            return
        triage = stage.service.triage
        open_incidents = [i for i in await triage.incidents(limit=50) if i.phase != "closed"]
        if not open_incidents:
            stage.notify("No open incident to attach to: declare one (d).", severity="warning")
            return
        options = [
            (str(i.id), safe(f"#{i.id} {i.severity} {i.phase}: {i.title}", 70))
            for i in open_incidents
        ]
        current = None if stage.incident is None else str(stage.incident.id)
        from thirdbook.tui.dialogs.choices import ChoiceDialog

        chosen = await stage.app.push_screen_wait(
            ChoiceDialog(f"Attach alert #{alert.id} to which incident?", options, current)
        )
        if chosen is not None and (await act(stage, triage.attach(alert.id, int(chosen))))[0]:
            stage.notify(f"Attached alert #{alert.id} to incident #{chosen}")

    async def severity(self) -> None:
        """Change the active incident's severity."""
        stage = self.stage
        ready = acting_on(stage)
        if ready is None:
            return
        incident, svc = ready
        from thirdbook.domain.incidents import SEVERITIES
        from thirdbook.tui.dialogs.choices import ChoiceDialog

        chosen = await stage.app.push_screen_wait(
            ChoiceDialog(
                f"Severity of incident #{incident.id}",
                [(c, Text(c)) for c in SEVERITIES],
                incident.severity,
            )
        )
        if chosen is not None:
            await act(stage, svc.triage.set_severity(incident.id, chosen))

    async def phase(self) -> None:
        """Move the active incident to another phase (back, or closed: asks once)."""
        stage = self.stage
        incident = need_incident(stage)
        if incident is not None and stage.service is not None:
            svc = stage.service
            from thirdbook.tui.dialogs.phase import ask_phase

            chosen = await ask_phase(stage.app, svc.triage, svc.queries, incident)
            if chosen is not None:
                await act(stage, svc.triage.set_phase(incident.id, chosen))

    async def add_action_item(self, incident_id: int, answer: tuple[str, str, date]) -> None:
        """Record the action item the dialog was answered with."""
        stage = self.stage
        if stage.service is None:
            return
        title, owner, due = answer
        add = stage.service.triage.add_action_item(incident_id, title=title, owner=owner, due=due)
        _, item = await act(stage, add)
        if item is not None:
            stage.notify(f"Action item #{item.id} for {owner}, due {due}")

    @staticmethod
    def action_item_dialog(incident_id: int) -> ActionItemDialog:
        """The dialog for a new action item on this incident (due today by default)."""
        from thirdbook.tui.dialogs.action_item import ActionItemDialog

        return ActionItemDialog(incident_id, datetime.now(UTC).date())

    async def close_action_item(self, table: ActionItemTable) -> None:
        """Close the selected action item with a short resolution."""
        stage = self.stage
        item_id = table.selected_id()
        if item_id is None or stage.service is None:
            stage.notify("Select an action item first (5, then j/k).", severity="warning")
            return
        from thirdbook.tui.dialogs.triage import PromptDialog

        resolution = await stage.app.push_screen_wait(
            PromptDialog(
                f"Close action item #{item_id}?",
                Text(""),
                "Resolution: what was done (enter)",
                "Closing an action item needs a short resolution.",
            )
        )
        if resolution is None:
            return
        close = stage.service.triage.close_action_item(item_id, resolution)
        if (await act(stage, close))[0]:
            stage.notify(f"Closed action item #{item_id}")

    async def check_step(self, runbook: RunbookList) -> None:
        """Check or uncheck the highlighted runbook step (recorded on the timeline)."""
        stage = self.stage
        step = runbook.selected_step()
        ready = acting_on(stage)
        if ready is None:
            return
        incident, svc = ready
        if step is None:
            runbook.action_first()  # the first step (headings and prose are skipped)
            stage.notify("Choose a step with j/k, then space to check it.")
            return
        triage = svc.triage
        checks = await triage.runbook_checks(incident.id)
        checked = not (step in checks and checks[step].checked)
        await act(stage, triage.check_step(incident.id, step, checked))

    async def edit_runbook(self) -> bool:
        """Open the incident's runbook in $EDITOR (the app suspends), reload it and record
        the edit. Returns whether it was reloaded."""
        stage = self.stage
        incident = need_incident(stage)
        if incident is None or stage.service is None or incident.runbook is None:
            return False
        from thirdbook.tui.editor import edit_runbook

        return await edit_runbook(stage.app, stage.service, incident.id, incident.runbook)
