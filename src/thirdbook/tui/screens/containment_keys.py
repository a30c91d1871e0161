"""The containment keys: snapshot first, then the kill switch, a rollback or a quarantine,
each asking once, clearly; and the evidence export. A containment key pressed while a
snapshot is being taken opens its dialog at once, waiting for the snapshot (saying so)."""

from __future__ import annotations

import asyncio
import shlex
from typing import TYPE_CHECKING

from rich.text import Text

from thirdbook.tui.panels.incident import IncidentRegion
from thirdbook.tui.safe_text import safe
from thirdbook.tui.screens.stage import Stage, act, acting_on, need_incident

if TYPE_CHECKING:
    from thirdbook.tui.dialogs.kill_switch import Confirmation
    from thirdbook.tui.dialogs.snapshot_wait import SnapshotWait


class ContainmentKeys:
    """The containment actions of one main screen; `snapshot` runs one snapshot at a time."""

    def __init__(self, stage: Stage, region: IncidentRegion) -> None:
        self.stage = stage
        self.region = region
        self._snapshot_done: asyncio.Event | None = None

    async def snapshot(self) -> None:
        """Snapshot the active incident's window as evidence (the UI stays live meanwhile)."""
        stage = self.stage
        incident = need_incident(stage)
        if incident is None or stage.service is None or self._snapshot_done is not None:
            return
        self._snapshot_done = asyncio.Event()
        self.region.show_progress("starting")
        try:
            done, record = await act(
                stage, stage.service.containment.snapshot(incident.id, self.region.show_progress)
            )
        finally:
            self.region.show_progress(None)
            self._snapshot_done.set()
            self._snapshot_done = None
        if done and record is not None:
            stage.notify(
                f"Snapshot #{record.id} complete: manifest sha256:"
                f"{(record.manifest_sha256 or '')[:16]}…"
            )

    async def _complete_snapshot(self, incident_id: int) -> bool:
        assert self.stage.service is not None
        snapshots = await self.stage.service.containment.snapshots(incident_id)
        return any(s.status == "complete" for s in snapshots)

    async def _snapshot_state(self, incident_id: int) -> tuple[bool, SnapshotWait | None]:
        """Whether a complete snapshot exists, and how to wait for the running one if any."""
        running = self._snapshot_done
        if running is None:
            return await self._complete_snapshot(incident_id), None

        async def wait() -> bool:
            await running.wait()
            return await self._complete_snapshot(incident_id)

        return False, wait

    async def kill_switch(self) -> None:
        """Flip the kill switch for the active incident's model (asks once, clearly)."""
        stage = self.stage
        ready = acting_on(stage)
        if ready is None:
            return
        incident, svc = ready
        containment = svc.containment
        model, version = await containment.incident_model(incident)
        if model is None:
            stage.notify(
                "Cannot tell which model this incident is about; use `thirdbook "
                "kill-switch INCIDENT --model NAME`.",
                severity="warning",
            )
            return
        complete, wait = await self._snapshot_state(incident.id)
        from thirdbook.tui.dialogs.kill_switch import KillSwitchDialog

        choice = await stage.app.push_screen_wait(KillSwitchDialog(model, version, complete, wait))
        if choice is None:
            return
        kill = containment.kill_switch(
            incident.id,
            choice.mode,  # type: ignore[arg-type]
            model=model,
            override=choice.override,
        )
        done, hashes = await act(stage, kill)
        if done and hashes is not None:
            stage.notify(
                f"Kill switch written: {model} routed to {choice.mode}. Watch the Incident "
                "panel (2) for its requests taking the new route.",
                timeout=10,
            )

    async def _confirm(self, incident_id: int, heading: Text, body: Text) -> Confirmation | None:
        """Ask once; without a complete snapshot the answer must carry an override reason."""
        complete, wait = await self._snapshot_state(incident_id)
        from thirdbook.tui.dialogs.kill_switch import ConfirmDialog

        return await self.stage.app.push_screen_wait(ConfirmDialog(heading, body, complete, wait))

    async def rollback(self) -> None:
        """Roll the active incident's model back to its last known-good version (asks once)."""
        stage = self.stage
        ready = acting_on(stage)
        if ready is None:
            return
        incident, svc = ready
        containment = svc.containment
        done, plan = await act(stage, containment.rollback_plan(incident.id))
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
        rollback = containment.rollback(
            incident.id, to=plan.to_version, model=plan.model, override=choice.override
        )
        done, result = await act(stage, rollback)
        if done and result is not None:
            stage.notify(f"Rolled back: {result.model} now serves {result.to_version}.")

    async def quarantine(self) -> None:
        """Quarantine training data or fine-tunes for the active incident (asks once)."""
        stage = self.stage
        ready = acting_on(stage)
        if ready is None:
            return
        incident, svc = ready
        from thirdbook.tui.dialogs.triage import PromptDialog

        typed = await stage.app.push_screen_wait(
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
            stage.notify(f"Refused: cannot read the targets: {exc}", severity="error")
            return
        found = await svc.quarantine.plan(targets)
        files = [t for t in found if t.kind == "file"]
        heading = Text("QUARANTINE ", style="bold")
        heading.append_text(safe(f"{len(found)} entries for incident #{incident.id}", 80))
        listed = "; ".join(f"{t.kind} {t.target}" for t in found[:6])
        more = f" and {len(found) - 6} more" if len(found) > 6 else ""
        hashed = "1 file is" if len(files) == 1 else f"{len(files)} files are"
        body = safe(
            f"{listed}{more}. {hashed} hashed and made read-only; all are listed in "
            "quarantine.json, and `thirdbook quarantine check` refuses them to a retrain.",
            600,
        )
        choice = await self._confirm(incident.id, heading, body)
        if choice is None:
            return
        add = svc.quarantine.add(incident.id, targets, override=choice.override)
        done, result = await act(stage, add)
        if done and result is not None:
            stage.notify(f"Quarantined {len(result)} entries for incident #{incident.id}.")

    async def export(self) -> None:
        """Export the active incident's evidence bundle (secrets masked) beside the store."""
        stage = self.stage
        ready = acting_on(stage)
        if ready is None:
            return
        incident, svc = ready
        out = svc.export.bundle_path(incident.id)
        stage.notify(f"Exporting incident #{incident.id}'s evidence…")
        done, sha = await act(stage, svc.export.export(incident.id, out))
        if done and sha is not None:
            stage.notify(
                f"Evidence bundle written: {out} (MANIFEST sha256 {sha[:16]}…; secrets "
                "masked). Check it: thirdbook verify-bundle FILE.",
                timeout=15,
            )
