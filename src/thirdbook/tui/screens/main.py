"""The main screen: its view and triage actions, plus containment (snapshot first, then the
kill switch, a rollback or a quarantine, each asking once, clearly)."""

from __future__ import annotations

import shlex

from rich.text import Text
from textual import work
from textual.widgets import Static

from thirdbook.tui.dialogs.kill_switch import Confirmation, ConfirmDialog, KillSwitchDialog
from thirdbook.tui.dialogs.triage import PromptDialog
from thirdbook.tui.safe_text import safe
from thirdbook.tui.screens.triage_actions import TriageActions
from thirdbook.tui.widgets.incident_panel import IncidentPanel, evidence_text


class MainScreen(TriageActions):
    """Everything the commander needs on one screen."""

    @work(exclusive=True, group="snapshot")
    async def action_snapshot(self) -> None:
        """Snapshot the active incident's window as evidence (the UI stays live meanwhile)."""
        incident = self._need_incident()
        if incident is None or self.service is None or self._snapshot_step is not None:
            return
        panel = self.query_one(IncidentPanel)

        def progress(step: str) -> None:
            self._snapshot_step = step
            panel.query_one("#evidence", Static).update(evidence_text(None, step))

        progress("starting")
        try:
            done, record = await self._act(self.service.containment.snapshot(incident.id, progress))
        finally:
            self._snapshot_step = None
        if done and record is not None:
            self.notify(
                f"Snapshot #{record.id} complete: manifest sha256:"
                f"{(record.manifest_sha256 or '')[:16]}…"
            )
        await self.show_all(self.service, events=False)

    @work(exclusive=True, group="triage")
    async def action_kill_switch(self) -> None:
        """Flip the kill switch for the active incident's model (asks once, clearly)."""
        incident = self._need_incident()
        if incident is None or self.service is None:
            return
        model, version = await self.service.containment.incident_model(incident)
        if model is None:
            self.notify(
                "Cannot tell which model this incident is about; use `thirdbook "
                "kill-switch INCIDENT --model NAME`.",
                severity="warning",
            )
            return
        snapshots = await self.service.containment.snapshots(incident.id)
        complete = any(s.status == "complete" for s in snapshots)
        choice = await self.app.push_screen_wait(KillSwitchDialog(model, version or "?", complete))
        if choice is None:
            return
        done, hashes = await self._act(
            self.service.containment.kill_switch(
                incident.id,
                choice.mode,  # type: ignore[arg-type]
                model=model,
                override=choice.override,
            )
        )
        if done and hashes is not None:
            self.notify(
                f"Kill switch written: {model} routed to {choice.mode}. Watch the events "
                f"for its requests taking the new route.",
                timeout=10,
            )

    @work(exclusive=True, group="triage")
    async def action_rollback(self) -> None:
        """Roll the active incident's model back to its last known-good version (asks once)."""
        incident = self._need_incident()
        if incident is None or self.service is None:
            return
        done, plan = await self._act(self.service.containment.rollback_plan(incident.id))
        if not done or plan is None:
            return
        heading = Text("ROLL BACK ", style="bold")
        heading.append_text(safe(f"{plan.model}: {plan.from_version} → {plan.to_version}", 80))
        body = safe(
            f"The serving alias moves to {plan.to_version} (weights {plan.weights_hash})."
            f" {plan.from_version} stays registered and untouched.",
            300,
        )
        choice = await self._confirm(incident.id, heading, body)
        if choice is None:
            return
        done, result = await self._act(
            self.service.containment.rollback(
                incident.id,
                to=plan.to_version,
                model=plan.model,
                override=choice.override,
            )
        )
        if done and result is not None:
            self.notify(f"Rolled back: {result.model} now serves {result.to_version}.")

    async def _confirm(self, incident_id: int, heading: Text, body: Text) -> Confirmation | None:
        """Ask once; without a complete snapshot the answer must carry an override reason."""
        assert self.service is not None
        snapshots = await self.service.containment.snapshots(incident_id)
        return await self.app.push_screen_wait(
            ConfirmDialog(heading, body, any(s.status == "complete" for s in snapshots))
        )

    @work(exclusive=True, group="triage")
    async def action_quarantine(self) -> None:
        """Quarantine training data or fine-tunes for the active incident (asks once)."""
        incident = self._need_incident()
        if incident is None or self.service is None:
            return
        typed = await self.app.push_screen_wait(
            PromptDialog(
                f"Quarantine for incident #{incident.id}",
                Text(
                    "Paths (files or directories) or ids of training data and fine-tunes a retrain "
                    "must not use; separate with spaces, quote a path with spaces."
                ),
                "e.g. /data/train/2026-11 ft-run-4411 (enter)",
                "Name at least one path or id.",
            )
        )
        if typed is None:
            return
        try:
            targets = shlex.split(typed)
        except ValueError as exc:
            self.notify(f"Refused: cannot read the targets: {exc}", severity="error")
            return
        found = await self.service.quarantine.plan(targets)
        files = [t for t in found if t.kind == "file"]
        heading = Text("QUARANTINE ", style="bold")
        heading.append_text(safe(f"{len(found)} entries for incident #{incident.id}", 80))
        listed = "; ".join(f"{t.kind} {t.target}" for t in found[:6])
        more = f" and {len(found) - 6} more" if len(found) > 6 else ""
        hashed = "1 file is" if len(files) == 1 else f"{len(files)} files are"
        body = safe(
            f"{listed}{more}. {hashed} hashed and made read-only; all are listed in "
            "quarantine.json, and `thirdbook quarantine check` refuses them to a "
            "retrain.",
            600,
        )
        choice = await self._confirm(incident.id, heading, body)
        if choice is None:
            return
        done, result = await self._act(
            self.service.quarantine.add(incident.id, targets, override=choice.override)
        )
        if done and result is not None:
            self.notify(f"Quarantined {len(result)} entries for incident #{incident.id}.")

    @work(exclusive=True, group="snapshot")
    async def action_export(self) -> None:
        """Export the active incident's evidence bundle (secrets masked) beside the store."""
        incident = self._need_incident()
        if incident is None or self.service is None:
            return
        out = self.service.export.bundle_path(incident.id)
        self.notify(f"Exporting incident #{incident.id}'s evidence…")
        done, sha = await self._act(self.service.export.export(incident.id, out))
        if done and sha is not None:
            self.notify(
                f"Evidence bundle written: {out} (MANIFEST sha256 {sha[:16]}…; "
                "secrets masked). Check it: thirdbook verify-bundle FILE.",
                timeout=15,
            )
