"""Baselines of known-good and the chain diff of an incident, for the console and the CLI."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from thirdbook.actuators.known_good import mark_known_good
from thirdbook.config import ContainmentConfig
from thirdbook.control_file import target_of
from thirdbook.domain.baselines import Baseline, Link
from thirdbook.domain.errors import RollbackRefusedError, TriageRefusedError
from thirdbook.evidence.objects import ObjectStore
from thirdbook.evidence.snapshot import window_of
from thirdbook.forensics.baseline import ControlState, NoDecisionsError, take_baseline
from thirdbook.forensics.chain import ChainReport, NoBaselineError, incident_chain
from thirdbook.services.acting import Acting
from thirdbook.services.containment import ContainmentService
from thirdbook.store import Store
from thirdbook.store.baselines import BaselineRow

__all__ = ["BaselineRow", "ChainReport", "ForensicsService", "NoBaselineError"]


class ForensicsService:
    """Take baselines, diff an incident's chain against the last known-good, keep findings."""

    def __init__(self, containment: ContainmentService) -> None:
        """Over the containment service's store, control files and evidence objects."""
        self.store: Store = containment.store
        self.acting: Acting = containment.acting
        self.config: ContainmentConfig = containment.config
        self.objects: ObjectStore = containment.objects
        self.containment = containment

    async def baseline(
        self,
        model: str,
        version: str,
        window: timedelta = timedelta(hours=1),
        why: str = "asked",
    ) -> tuple[BaselineRow, Baseline]:
        """Baseline `model` `version` over its last `window` of decisions (audited)."""
        detail = {"model": model, "version": version, "window_s": window.total_seconds()}
        async with self.acting.act("baseline", detail) as actor:
            try:
                return await take_baseline(
                    self.store,
                    self.objects,
                    self.config,
                    model,
                    version,
                    actor,
                    window=window,
                    why=why,
                )
            except NoDecisionsError as exc:
                raise TriageRefusedError(f"no baseline taken: {exc}") from exc

    async def _incident(self, incident_id: int) -> tuple[str, str]:
        incident = await self.store.incidents.get(incident_id)
        if incident is None:
            raise TriageRefusedError(f"there is no incident #{incident_id}")
        model, serving = await self.containment.incident_model(incident)
        if model is None:
            raise TriageRefusedError(f"incident #{incident_id} names no model")
        suspect = serving
        for alert_id in incident.alert_ids:
            alert = await self.store.alerts.get(alert_id)
            parts = [] if alert is None else alert.key.split(" ")
            if alert is not None and alert.kind == "drift" and len(parts) > 1:
                suspect = parts[1]
                break
        if suspect is None:
            raise TriageRefusedError(f"incident #{incident_id}: no version of {model} to examine")
        return model, suspect

    async def chain(self, incident_id: int) -> ChainReport:
        """The incident's chain diff: the suspect version's decisions in the incident's
        window against the model's last known-good baseline."""
        model, suspect = await self._incident(incident_id)
        incident = await self.store.incidents.get(incident_id)
        assert incident is not None
        since, until = await window_of(self.store, incident, self.config.window_before_s)
        try:
            return await incident_chain(
                self.store, self.objects, self.config, incident_id, model, suspect, since, until
            )
        except NoBaselineError as exc:
            raise TriageRefusedError(str(exc)) from exc

    async def keep(self, incident_id: int, keys: list[str]) -> list[Link]:
        """Keep changed links (by kind, key or `kind key`; none named: every changed link) as
        findings on the incident's timeline and in the audit chain."""
        report = await self.chain(incident_id)
        changed = report.changed
        chosen = (
            changed
            if not keys
            else [link for link in changed if {link.kind, link.key, link.label} & set(keys)]
        )
        unknown = [k for k in keys if not any({lk.kind, lk.key, lk.label} & {k} for lk in changed)]
        if unknown:
            raise TriageRefusedError(
                f"not a changed link of incident #{incident_id}: {', '.join(unknown)}"
            )
        async with self.acting.act("finding", {"links": keys}, incident_id) as actor:
            for link in chosen:
                seen = (
                    "" if link.first_seen is None else f", first seen {link.first_seen.isoformat()}"
                )
                note = (
                    f"finding: {link.label} {link.status} against baseline #{report.baseline_id} "
                    f"({report.baseline.model} {report.baseline.version}){seen}"
                )
                detail = {
                    "link": link.label,
                    "status": link.status,
                    "baseline": report.baseline_id,
                    "first_seen": None if link.first_seen is None else link.first_seen.isoformat(),
                    "first_request": link.first_request,
                }
                await self.store.baselines.keep_finding(incident_id, actor, note, detail)
        return chosen

    async def mark_known_good(self, model: str, version: str) -> BaselineRow | None:
        """Mark a version known-good in the registry (the safe control-file write), then
        baseline it from its logged decisions (None when it logged none)."""
        detail = {"model": model, "version": version}
        async with self.acting.act("mark-known-good", detail) as actor:
            if self.config.registry is None:
                raise TriageRefusedError("no registry is configured ([containment] registry)")
            path = await asyncio.to_thread(
                target_of, self.config.registry, follow=self.config.follow_control_symlinks
            )
            try:
                changed, before, after = await asyncio.to_thread(
                    mark_known_good, path, model, version
                )
            except RollbackRefusedError as exc:
                raise TriageRefusedError(str(exc)) from exc
            await self.store.audit.append(
                actor,
                "mark-known-good",
                "done",
                {
                    **detail,
                    "changed": changed,
                    "registry_sha256": {"before": before, "after": after},
                },
            )
        try:
            row, _ = await self.baseline(model, version, why="marked known-good")
        except TriageRefusedError:
            return None
        return row

    async def baseline_for_snapshot(self, incident_id: int) -> BaselineRow | None:
        """When the incident's model has no baseline: baseline its known-good version from
        its logged decisions (None when there is none to take)."""
        try:
            model, suspect = await self._incident(incident_id)
        except TriageRefusedError:
            return None
        if await self.store.baselines.latest(model) is not None:
            return None
        state = await asyncio.to_thread(ControlState, self.config)
        good = sorted(v for v in state.known_good(model) if v != suspect)
        for version in reversed(good):
            try:
                row, _ = await self.baseline(version=version, model=model, why="snapshot")
            except TriageRefusedError:
                continue
            return row
        return None
