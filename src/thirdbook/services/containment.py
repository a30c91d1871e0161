"""Containment: snapshot first, then the kill switch or a rollback; all audited. (Quarantine,
the third containment action, is `QuarantineService` beside this.)"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Literal

from thirdbook.actuators.config_write import bytes_hash, replace_file
from thirdbook.actuators.kill_switch import VARIANT, planned_flags, validate_flagd
from thirdbook.actuators.rollback import plan_rollback, roll_back
from thirdbook.config import ContainmentConfig
from thirdbook.control_file import (
    ControlFileIOError,
    ControlFileRefusedError,
    read_control,
    target_of,
)
from thirdbook.domain.control import ControlWrite, KillMode, RollbackPlan
from thirdbook.domain.errors import ActionFailedError, RollbackRefusedError, TriageRefusedError
from thirdbook.domain.evidence import ContainmentState, SnapshotRecord
from thirdbook.domain.incidents import Actor, Incident
from thirdbook.evidence.objects import ObjectStore
from thirdbook.evidence.snapshot import Progress, take_snapshot
from thirdbook.services.acting import Acting
from thirdbook.services.control_steps import control, first_kill_kept, named, registry_at
from thirdbook.services.decisions import DecisionLookup
from thirdbook.services.hooks import HookService
from thirdbook.services.registry import RegistryService
from thirdbook.services.runbooks import RunbookLibrary
from thirdbook.services.snapshot_first import record_deviation, snapshot_first
from thirdbook.store import Store


class ContainmentService:
    """Evidence snapshots and the containment actions, refused until a snapshot is complete."""

    def __init__(
        self,
        store: Store,
        acting: Acting,
        config: ContainmentConfig,
        *,
        objects: ObjectStore,
        runbooks: RunbookLibrary,
        registry: RegistryService,
        hooks: HookService,
        decisions: DecisionLookup,
        after_snapshot: Callable[[int], Awaitable[object]] | None = None,
    ) -> None:
        """`config`: the control files, the snapshot window and the hooks (resolved by the
        factory: the demo's own files with `--demo`)."""
        self.store = store
        self.acting = acting
        self.config = config
        self.objects = objects
        self.runbooks = runbooks
        self.registry = registry
        self.hooks = hooks
        self.decisions = decisions
        self.after_snapshot = after_snapshot  # after a snapshot: automatic baselines

    @property
    def _follow(self) -> bool:
        """Whether a control file that is a symbolic link is followed (else refused)."""
        return self.config.follow_control_symlinks

    async def snapshot(
        self, incident_id: int, progress: Progress = lambda _: None
    ) -> SnapshotRecord:
        """Snapshot the incident's window of interest (see `evidence.snapshot`)."""
        async with self.acting.act("snapshot", {}, incident_id) as actor:
            incident = await self.store.incidents.get(incident_id)
            if incident is None:
                raise TriageRefusedError(f"there is no incident #{incident_id}")
            runbook_file = None
            if incident.runbook is not None and self.runbooks.get(incident.runbook) is not None:
                runbook_file = self.runbooks.path_of(incident.runbook)
            record = await take_snapshot(
                self.store, self.objects, incident, actor, self.config, runbook_file, progress
            )
        if record.status == "complete":
            await self.acting.performed("snapshot", incident_id, actor)
        if self.after_snapshot is not None:
            progress("baseline of the known-good version, if the model has none")
            with contextlib.suppress(Exception):  # the snapshot stands whatever happens here
                await self.after_snapshot(incident_id)
        return record

    async def kill_switch(
        self,
        incident_id: int,
        mode: KillMode,
        *,
        model: str | None = None,
        override: str | None = None,
        expected: str | None = None,
    ) -> ControlWrite:
        """Route the incident's model away from it (flagd, ENABLED), or back to it (`model`:
        the flag restored as it was before the incident's first kill); returns the file
        written and its hashes. Refused until the incident has a complete snapshot, unless
        `override` gives the reason (recorded as a deviation)."""
        detail = {"mode": mode, "model": model, "override": override, "expected": expected}
        async with self.acting.act("kill-switch", detail, incident_id) as actor:
            hooks, instead = self.hooks.configured("kill-switch")
            path, model, override = await self._containable(
                incident_id, model, override, None if instead else "flag_file"
            )
            target, before, after, how = None, "", "", f"routed to {VARIANT[mode]} by its hooks"
            if path is not None:
                target = await control(target_of, path, follow=self._follow)
                before, after, how = await self._flip(
                    incident_id, path, target, model, mode, expected
                )
                await self.store.containment.written(
                    incident_id, "kill switch", model, "route", VARIANT[mode]
                )
            await self._contained(
                incident_id, actor, "kill switch", override, f"kill switch: {model} {how}"
            )
            await self.hooks.run(
                incident_id,
                actor,
                "kill-switch",
                hooks,
                {
                    "model": model,
                    "mode": mode,
                    "variant": VARIANT[mode],
                    "flag_file": None if target is None else str(target),
                    "flag_sha256": {"before": before, "after": after} if target else None,
                },
            )
        if mode != "model":  # routing back to the model is not the kill switch's step
            await self.acting.performed("kill-switch", incident_id, actor)
        return ControlWrite(path=target, before=before, after=after)

    async def _flip(
        self,
        incident_id: int,
        path: Path,
        target: Path,
        model: str,
        mode: KillMode,
        expected: str | None,
    ) -> tuple[str, str, str]:
        """Write the flag file at `target` (kept as evidence first; compare-and-swap on the
        bytes kept); (before, after, the note saying what was done)."""
        current = await control(read_control, target)
        kept = await self._keep(current, target)
        first = await self._before_first_kill(incident_id, model, mode)
        try:
            change = await asyncio.to_thread(
                planned_flags, current, model, VARIANT[mode], first[1] if first else None
            )
        except ValueError as exc:
            raise TriageRefusedError(f"{target} is not a valid flag file now: {exc}") from exc
        before, after = await control(
            replace_file, target, change.data, expected or bytes_hash(current), validate_flagd
        )
        if first and change.restored:
            how = f"(the flag restored as before the incident's first kill, sha256:{first[0]})"
        elif change.suspended_targeting:
            how = (
                "(flag ENABLED; its targeting rule, which could still route to the model, set "
                "aside until the flag is restored)"
            )
        else:
            how = "(flag ENABLED)"
        return (
            before,
            after,
            (
                f"routed to {VARIANT[mode]} {how} in {named(target, path)}; "
                f"file sha256 {before} → {after}{kept}"
            ),
        )

    async def preview(
        self,
        incident_id: int,
        action: Literal["kill-switch", "rollback"],
        *,
        mode: KillMode = "human",
        model: str | None = None,
        override: str | None = None,
    ) -> list[str]:
        """What an action would do now, changing nothing (`--dry-run`); a refusal it would
        meet is raised as it would be."""
        hooks, instead = self.hooks.configured(action)
        said = [
            f"would run the {action} hook {h.target} ({h.when}, timeout {h.timeout_s:g} s)"
            for h in hooks
        ]
        file = "flag_file" if action == "kill-switch" else "registry"
        path, model, deviation = await self._containable(
            incident_id, model, override, None if instead and action == "kill-switch" else file
        )
        note = [] if deviation is None else [f"would record a deviation: {deviation}"]
        if action == "rollback":
            plan = await self.rollback_plan(incident_id)
            move = f"{plan.from_version} → {plan.to_version}"
            where = "through its hooks" if instead else f"in {path}"
            return [
                f"would move {plan.model}'s serving alias {move} {where} "
                f"(weights {plan.weights_hash})",
                *note,
                *said,
            ]
        if path is None:
            return [f"would route {model} to {VARIANT[mode]} through its hooks", *note, *said]
        target = await control(target_of, path, follow=self._follow)
        current = await control(read_control, target)
        first = await self._before_first_kill(incident_id, model, mode)
        try:
            new = planned_flags(current, model, VARIANT[mode], first[1] if first else None).data
        except ValueError as exc:
            raise TriageRefusedError(f"{target} is not a valid flag file now: {exc}") from exc
        return [
            f"would route {model} to {VARIANT[mode]} in {named(target, path)}",
            f"file sha256 {bytes_hash(current)} → {bytes_hash(new)}",
            *note,
            *said,
        ]

    async def rollback(
        self,
        incident_id: int,
        *,
        to: str | None = None,
        model: str | None = None,
        override: str | None = None,
    ) -> RollbackPlan:
        """Point the model's `serving` alias at a known-good version (the failing version is
        never touched). Snapshot first, as for the kill switch."""
        async with self.acting.act(
            "rollback", {"to": to, "model": model, "override": override}, incident_id
        ) as actor:
            hooks, instead = self.hooks.configured("rollback")
            path, model, override = await self._containable(
                incident_id, model, override, "registry"
            )
            assert path is not None
            await self.registry.observe()  # moves made by others before this one
            target = await control(target_of, path, follow=self._follow)
            if instead:  # the registry is read to plan; the hooks make the move
                registry = await control(registry_at, target)
                plan = await control(plan_rollback, registry, model, to)
            else:
                kept = await self._keep(await control(read_control, target), target)
                plan, before, after = await control(roll_back, target, model, to)
            await self.store.containment.written(
                incident_id, "rollback", model, "model_version", plan.to_version
            )
            if not instead:
                await self.registry.observe("rollback", actor=actor, incident_id=incident_id)
            checked = "re-hashed and matching" if plan.weights_checked else "as registered"
            await self._contained(
                incident_id,
                actor,
                "rollback",
                override,
                f"rollback: {model} serving {plan.from_version} → "
                f"{plan.to_version} (weights {plan.weights_hash}, {checked}); "
                + (
                    "made by its hooks"
                    if instead
                    else f"in {named(target, path)}; registry sha256 {before} → {after}{kept}"
                ),
            )
            await self.hooks.run(
                incident_id, actor, "rollback", hooks, plan.model_dump(mode="json")
            )
        await self.acting.performed("rollback", incident_id, actor)
        return plan

    async def rollback_plan(self, incident_id: int) -> RollbackPlan:
        """What `rollback` would do now (for the confirmation), or a refusal saying why."""
        incident = await self.store.incidents.get(incident_id)
        if incident is None:
            raise TriageRefusedError(f"there is no incident #{incident_id}")
        model, _ = await self.incident_model(incident)
        registry = await asyncio.to_thread(self.registry.current)
        if model is None or registry is None:
            raise TriageRefusedError("no registry is configured, or the model is unknown")
        try:
            return await asyncio.to_thread(plan_rollback, registry, model)
        except RollbackRefusedError as exc:
            raise TriageRefusedError(str(exc)) from exc

    async def _containable(
        self, incident_id: int, model: str | None, override: str | None, file: str | None
    ) -> tuple[Path | None, str, str | None]:
        """The file to change (None when hooks act instead), the model, and the override if
        one is needed (it is a deviation only without a complete snapshot); or a refusal: no
        incident, closed, nothing configured, or no complete snapshot and no override."""
        incident = await self.store.incidents.get(incident_id)
        if incident is None:
            raise TriageRefusedError(f"there is no incident #{incident_id}")
        if incident.phase == "closed":
            raise TriageRefusedError(f"incident #{incident_id} is closed")
        path: Path | None = None if file is None else getattr(self.config, file)
        if file is not None and path is None:
            raise TriageRefusedError(
                f"no {file.replace('_', ' ')} is configured "
                f"([containment] {file} in thirdbook.toml)"
            )
        if model is None:
            model, _ = await self.incident_model(incident)
        if model is None:
            raise TriageRefusedError(
                "cannot tell which model this incident is about: name it (--model)"
            )
        return path, model, await snapshot_first(self.store, incident_id, override)

    async def _keep(self, data: bytes | None, path: Path) -> str:
        """Keep a control file's bytes as they are now as evidence; a note for the timeline
        (nothing when there is no file). A failure to keep it stops the action unchanged."""
        if data is None:
            return ""
        try:
            kept = await asyncio.to_thread(self.objects.put_bytes, data)
        except OSError as exc:
            raise ActionFailedError(
                f"could not keep {path} as evidence before changing it: "
                f"{(exc.strerror or str(exc)).lower()}; nothing was "
                "changed"
            ) from exc
        return f"; previous file kept as sha256:{kept.sha256}"

    async def _before_first_kill(
        self, incident_id: int, model: str, mode: KillMode
    ) -> tuple[str, bytes] | None:
        """For routing back to the model: the flag file the incident's first kill kept as
        evidence (its hash and bytes), if there is one and it can be read."""
        if mode != "model":
            return None
        sha = first_kill_kept(await self.store.incidents.timeline(incident_id), model)
        if sha is None:
            return None
        with contextlib.suppress(ControlFileRefusedError, ControlFileIOError):
            data = await asyncio.to_thread(read_control, self.objects.path_of(sha))
            return None if data is None else (sha, data)
        return None

    async def _contained(
        self, incident_id: int, actor: Actor, what: str, override: str | None, note: str
    ) -> None:
        await record_deviation(self.store, incident_id, actor, what, override)
        await self.store.incidents.note(incident_id, actor, "containment", note)

    async def incident_model(self, incident: Incident) -> tuple[str | None, str | None]:
        """(model or agent, serving version) an incident is about: from a drift alert's key,
        a feedback alert's target, an agent's lane, or the decision an inquiry points at; the
        serving version from the registry."""
        model = None
        alerts = [a for a in [await self.store.alerts.get(i) for i in incident.alert_ids] if a]
        for alert in sorted(
            alerts, key=lambda a: ["drift", "feedback", "agent_lane", "unexplainable"].index(a.kind)
        ):
            if alert.kind in {"drift", "feedback", "agent_lane"}:
                model = alert.key.split(" ")[0]
                break
            decision = await self.decisions.about(alert.key)
            if decision is not None and decision.stored.model_name:
                model = decision.stored.model_name
                break
        registry = await asyncio.to_thread(self.registry.current)
        if model is None and registry is not None and len(registry.models) == 1:
            model = next(iter(registry.models))  # the only model the registry knows
        found = None if registry is None or model is None else registry.serving(model)
        return model, None if found is None else found[0]

    async def containment_states(self, incident_id: int) -> list[ContainmentState]:
        """The incident's containment actions: written when, observed in the logs when."""
        return await self.store.containment.states(incident_id)

    async def snapshots(self, incident_id: int) -> list[SnapshotRecord]:
        """An incident's snapshots, newest first."""
        return await self.store.snapshots.for_incident(incident_id)
