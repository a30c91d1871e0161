"""The console service: the store, its ingester and its health, behind one object."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import socket
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

from thirdbook import locations
from thirdbook.actuators.config_write import (
    ConfigConflictError,
    ConfigInvalidError,
    file_hash,
    replace_file,
)
from thirdbook.actuators.kill_switch import VARIANT, KillMode, flip, killed_flags
from thirdbook.actuators.quarantine import check_value, inspect, make_read_only
from thirdbook.actuators.rollback import (
    RollbackPlan,
    RollbackRefusedError,
    plan_rollback,
    roll_back,
)
from thirdbook.config import ContainmentConfig, Settings, SourceConfig
from thirdbook.domain.alerts import Alert
from thirdbook.domain.audit import Outcome
from thirdbook.domain.control import Registry
from thirdbook.domain.drift import DriftPoint, DriftSeries
from thirdbook.domain.events import MetricEvent
from thirdbook.domain.evidence import ContainmentState, QuarantineTarget, SnapshotRecord
from thirdbook.domain.incidents import (
    ActionItem,
    Actor,
    Incident,
    RulePrecision,
    TimelineEntry,
)
from thirdbook.domain.records import (
    EventFilter,
    IngestNote,
    Lease,
    Page,
    Reject,
    StoredEvent,
    from_us,
)
from thirdbook.domain.rules import TriggerSettings
from thirdbook.domain.runbooks import Runbook, StepCheck
from thirdbook.evidence.objects import ObjectStore
from thirdbook.evidence.snapshot import Progress, take_snapshot
from thirdbook.ingest.ingester import Ingester
from thirdbook.services.alerting import Alerting, stored_event
from thirdbook.services.identity import current_actor
from thirdbook.services.runbooks import RunbookLibrary
from thirdbook.store import Store
from thirdbook.store.incidents import TriageRefusedError
from thirdbook.store.leases import process_alive


@dataclass(frozen=True)
class Health:
    """What the ingest health line shows."""

    events_total: int
    events_per_s: float
    rejects_total: int
    backlog_bytes: int
    lag_s: float | None
    files_active: int
    lease: Lease | None
    lease_live: bool
    ingesting_here: bool
    paused_reason: str | None
    gaps: int
    truncations: int


class Console:
    """One process's view of a store: reads for everyone, ingest for the lease holder."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        sources: list[SourceConfig],
        triggers: TriggerSettings | None = None,
        *,
        read_only: bool = False,
        runbooks: RunbookLibrary | None = None,
        containment: ContainmentConfig | None = None,
    ) -> None:
        self.store = store
        self.containment = containment or settings.containment
        self.runbooks = runbooks or RunbookLibrary(
            locations.user_runbooks_dir(locations.config_file()), locations.shipped_dir("runbooks")
        )
        self.read_only = read_only
        self.settings = settings
        self.sources = sources
        self.ingester = Ingester(store, sources, settings.ingest)
        self.alerting = Alerting(store, settings.triggers if triggers is None else triggers)
        self.ingester.on_commit = self.alerting.on_commit
        self._rate: deque[tuple[float, int]] = deque(maxlen=20)
        self.helper_pid: int | None = None  # this console's helper ingester (its child)

    @classmethod
    async def open(
        cls,
        store_path: Path,
        settings: Settings,
        sources: list[SourceConfig] | None = None,
        triggers: TriggerSettings | None = None,
        *,
        read_only: bool = False,
        runbooks: RunbookLibrary | None = None,
        containment: ContainmentConfig | None = None,
    ) -> Console:
        """Open the store (refusing network filesystems) for the given sources and rules."""
        store = await Store.open(store_path, busy_timeout_ms=settings.store.busy_timeout_ms)
        chosen = settings.sources if sources is None else sources
        return cls(store, settings, chosen, triggers, read_only=read_only, runbooks=runbooks,
                   containment=containment)  # fmt: skip

    async def alerts(
        self, *, status: str | None = None, before_id: int | None = None, limit: int = 50
    ) -> Page[Alert]:
        """One page of alerts, newest first."""
        return await self.store.alerts.page(status=status, before_id=before_id, limit=limit)

    async def close(self) -> None:
        """Give up the lease (if held) and close the store."""
        await self.ingester.release()
        await self.store.close()

    async def run_ingest(self, stop: asyncio.Event, *, once: bool = False) -> None:
        """Ingest the sources while this process holds the lease (see `Ingester.run`)."""
        await self.ingester.run(stop, once=once)

    # -- triage ------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _acting(
        self, action: str, detail: dict[str, Any], incident_id: int | None = None
    ) -> AsyncIterator[Actor]:
        """Who acts (from the OS); and an audit record for an action that does not complete:
        refused (with the reason), failed, or interrupted. A completed action is audited in
        the same transaction as its change (with its timeline entry)."""
        actor = current_actor()
        outcome: Outcome = "refused"
        note: dict[str, Any] = {}
        try:
            if self.read_only:
                raise TriageRefusedError("this console is read-only: it can look but not act")
            yield actor
            return
        except TriageRefusedError as exc:
            note = {"reason": str(exc)}
            raise
        except Exception as exc:
            outcome, note = "failed", {"error": f"{type(exc).__name__}: {exc}"}
            raise
        except BaseException as exc:  # cancelled, or the session went away mid-action
            outcome, note = "interrupted", {"error": type(exc).__name__}
            raise
        finally:
            if note:
                with contextlib.suppress(Exception):
                    await self.store.audit.append(actor, action, outcome, {**detail, **note},
                                                  incident_id)  # fmt: skip

    async def declare(
        self, alert_ids: list[int], *, title: str, severity: str, blast_radius: str
    ) -> Incident:
        """Declare an incident from open alerts, as the OS user of this process; it follows
        the runbook for its alerts' kinds."""
        detail = {"alerts": alert_ids, "title": title, "severity": severity,
                  "blast_radius": blast_radius}  # fmt: skip
        async with self._acting("declare", detail) as actor:
            alerts = [await self.store.alerts.get(a) for a in alert_ids]
            runbook = self.runbooks.choose([a.kind for a in alerts if a is not None])
            return await self.store.incidents.declare(
                alert_ids, title=title, severity=severity, blast_radius=blast_radius,
                actor=actor, runbook=None if runbook is None else runbook.name,
            )  # fmt: skip

    async def attach(self, alert_id: int, incident_id: int) -> None:
        """Attach an open alert to an open incident."""
        async with self._acting("attach", {"alert": alert_id}, incident_id) as actor:
            await self.store.incidents.attach(alert_id, incident_id, actor)

    async def dismiss(self, alert_id: int, reason: str) -> None:
        """Dismiss an open alert with a reason."""
        async with self._acting("dismiss", {"alert": alert_id, "reason_given": reason}) as actor:
            await self.store.incidents.dismiss(alert_id, reason, actor)

    async def set_severity(self, incident_id: int, severity: str) -> None:
        """Change an incident's severity."""
        async with self._acting("severity", {"to": severity}, incident_id) as actor:
            await self.store.incidents.set_severity(incident_id, severity, actor)

    async def set_phase(self, incident_id: int, phase: str) -> None:
        """Move an incident to another phase (detected ... closed)."""
        async with self._acting("phase", {"to": phase}, incident_id) as actor:
            await self.store.incidents.set_phase(incident_id, phase, actor)

    async def incidents(self, limit: int = 50, before_id: int | None = None) -> list[Incident]:
        """The newest incidents (older than `before_id`, when given)."""
        return await self.store.incidents.newest(limit, before_id)

    async def incident(self, incident_id: int) -> Incident | None:
        """One incident."""
        return await self.store.incidents.get(incident_id)

    def runbook_of(self, incident: Incident) -> Runbook | None:
        """The runbook an incident follows (as the files say now)."""
        return self.runbooks.get(incident.runbook)

    async def runbook_checks(self, incident_id: int) -> dict[str, StepCheck]:
        """Which runbook steps are checked on an incident, by step key."""
        return await self.store.incidents.checks(incident_id)

    async def check_step(self, incident_id: int, step_key: str, checked: bool) -> None:
        """Check or uncheck a step of the incident's runbook; recorded on the timeline."""
        detail = {"step": step_key, "checked": checked}
        async with self._acting("runbook", detail, incident_id) as actor:
            incident = await self.store.incidents.get(incident_id)
            if incident is None:
                raise TriageRefusedError(f"there is no incident #{incident_id}")
            book = self.runbook_of(incident)
            step = next((s for s in book.steps if s.step_key == step_key), None) if book else None
            if step is None:
                raise TriageRefusedError(f"incident #{incident_id}'s runbook has no such step")
            await self.store.incidents.check_step(incident_id, step, checked, actor)

    @property
    def objects(self) -> ObjectStore:
        """The evidence objects, beside the store's database."""
        return ObjectStore(self.store.path.parent / "evidence")

    async def snapshot(
        self, incident_id: int, progress: Progress = lambda _: None
    ) -> SnapshotRecord:
        """Snapshot the incident's window of interest (see `evidence.snapshot`)."""
        async with self._acting("snapshot", {}, incident_id) as actor:
            incident = await self.store.incidents.get(incident_id)
            if incident is None:
                raise TriageRefusedError(f"there is no incident #{incident_id}")
            runbook_file = None
            if incident.runbook is not None and self.runbook_of(incident) is not None:
                runbook_file = self.runbooks.path_of(incident.runbook)
            return await take_snapshot(self.store, self.objects, incident, actor,
                                       self.containment, runbook_file, progress)  # fmt: skip

    async def kill_switch(
        self,
        incident_id: int,
        mode: KillMode,
        *,
        model: str | None = None,
        override: str | None = None,
        expected: str | None = None,
    ) -> tuple[str, str]:
        """Route the incident's model away from it (flagd, ENABLED); returns the flag file's
        (before, after) hashes. Refused until the incident has a complete snapshot, unless
        `override` gives the reason (recorded as a deviation)."""
        detail = {"mode": mode, "model": model, "override": override, "expected": expected}
        async with self._acting("kill-switch", detail, incident_id) as actor:
            path, model, override = await self._containable(incident_id, model, override,
                                                            "flag_file")  # fmt: skip
            kept = await asyncio.to_thread(self._keep, path)
            try:
                before, after = await asyncio.to_thread(flip, path, model, VARIANT[mode],
                                                         expected)  # fmt: skip
            except (ConfigConflictError, ConfigInvalidError) as exc:
                raise TriageRefusedError(str(exc)) from exc
            await self.store.containment.written(incident_id, "kill switch", model, "route",
                                                 VARIANT[mode])  # fmt: skip
            await self._contained(incident_id, actor, "kill switch", override,
                                  f"kill switch: {model} routed to {VARIANT[mode]} (flag ENABLED) "
                                  f"in {path}; file sha256 {before} → {after}{kept}")  # fmt: skip
            return before, after

    async def preview(
        self,
        incident_id: int,
        action: Literal["kill-switch", "rollback", "quarantine"],
        *,
        mode: KillMode = "human",
        model: str | None = None,
        override: str | None = None,
        targets: tuple[str, ...] = (),
    ) -> list[str]:
        """What an action would do now, changing nothing (`--dry-run`); a refusal it would
        meet is raised as it would be."""
        if action == "quarantine":
            await self._snapshot_first(incident_id, override)
            found = [t for target in targets for t in await asyncio.to_thread(inspect, target)]
            return [
                f"would quarantine {t.kind} {t.target}"
                + ("" if t.sha256 is None else f" (sha256:{t.sha256})")
                for t in found
            ]
        file = "flag_file" if action == "kill-switch" else "registry"
        path, model, deviation = await self._containable(incident_id, model, override, file)
        note = [] if deviation is None else [f"would record a deviation: {deviation}"]
        if action == "rollback":
            plan = await self.rollback_plan(incident_id)
            move = f"{plan.from_version} → {plan.to_version}"
            return [f"would move {plan.model}'s serving alias {move} in {path} "
                    f"(weights {plan.weights_hash})", *note]  # fmt: skip
        current = await asyncio.to_thread(_read_or_none, path)
        try:
            new = killed_flags(current, model, VARIANT[mode])
        except ValueError as exc:
            raise TriageRefusedError(f"{path} is not a valid flag file now: {exc}") from exc
        return [f"would route {model} to {VARIANT[mode]} (flag ENABLED) in {path}",
                f"file sha256 {file_hash(path)} → {hashlib.sha256(new).hexdigest()}",
                *note]  # fmt: skip

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
        async with self._acting("rollback", {"to": to, "model": model, "override": override},
                                incident_id) as actor:  # fmt: skip
            path, model, override = await self._containable(incident_id, model, override,
                                                            "registry")  # fmt: skip
            kept = await asyncio.to_thread(self._keep, path)
            try:
                plan, before, after = await asyncio.to_thread(roll_back, path, model, to)
            except (RollbackRefusedError, ConfigConflictError, ConfigInvalidError) as exc:
                raise TriageRefusedError(str(exc)) from exc
            await self.store.containment.written(incident_id, "rollback", model, "model_version",
                                                 plan.to_version)  # fmt: skip
            checked = "re-hashed and matching" if plan.weights_checked else "as registered"
            await self._contained(incident_id, actor, "rollback", override,
                                  f"rollback: {model} serving {plan.from_version} → "
                                  f"{plan.to_version} (weights {plan.weights_hash}, {checked}); "
                                  f"registry sha256 {before} → {after}{kept}")  # fmt: skip
            return plan

    async def rollback_plan(self, incident_id: int) -> RollbackPlan:
        """What `rollback` would do now (for the confirmation), or a refusal saying why."""
        incident = await self.store.incidents.get(incident_id)
        if incident is None:
            raise TriageRefusedError(f"there is no incident #{incident_id}")
        model, _ = await self.incident_model(incident)
        registry = await asyncio.to_thread(self._registry)
        if model is None or registry is None:
            raise TriageRefusedError("no registry is configured, or the model is unknown")
        try:
            return await asyncio.to_thread(plan_rollback, registry, model)
        except RollbackRefusedError as exc:
            raise TriageRefusedError(str(exc)) from exc

    async def _containable(
        self, incident_id: int, model: str | None, override: str | None, file: str
    ) -> tuple[Path, str, str | None]:
        """The file to change, the model, and the override if one is needed (it is a
        deviation only without a complete snapshot); or a refusal: no incident, closed,
        nothing configured, or no complete snapshot and no override."""
        incident = await self.store.incidents.get(incident_id)
        if incident is None:
            raise TriageRefusedError(f"there is no incident #{incident_id}")
        if incident.phase == "closed":
            raise TriageRefusedError(f"incident #{incident_id} is closed")
        path: Path | None = getattr(self.containment, file)
        if path is None:
            raise TriageRefusedError(f"no {file.replace('_', ' ')} is configured "
                                     f"([containment] {file} in thirdbook.toml)")  # fmt: skip
        if model is None:
            model, _ = await self.incident_model(incident)
        if model is None:
            raise TriageRefusedError("cannot tell which model this incident is about: "
                                     "name it (--model)")  # fmt: skip
        return path, model, await self._snapshot_first(incident_id, override)

    async def _snapshot_first(self, incident_id: int, override: str | None) -> str | None:
        """None when the incident has a complete snapshot; else the override (a deviation),
        or a refusal when there is none."""
        snapshots = await self.store.snapshots.for_incident(incident_id)
        if any(s.status == "complete" for s in snapshots):
            return None
        if not override:
            raise TriageRefusedError(
                "snapshot first: incident has no complete evidence snapshot (s, or "
                "`thirdbook snapshot`); to act anyway, override with a reason"
            )
        return override

    async def quarantine(
        self, incident_id: int, targets: list[str], *, override: str | None = None
    ) -> list[QuarantineTarget]:
        """Quarantine training data or fine-tunes (paths or ids): hashes recorded, files made
        read-only, and the quarantine list file beside the store rewritten."""
        async with self._acting("quarantine", {"targets": targets, "override": override},
                                incident_id) as actor:  # fmt: skip
            if await self.store.incidents.get(incident_id) is None:
                raise TriageRefusedError(f"there is no incident #{incident_id}")
            override = await self._snapshot_first(incident_id, override)
            found = [t for target in targets for t in await asyncio.to_thread(inspect, target)]
            read_only = sum([await asyncio.to_thread(make_read_only, t) for t in found])
            if override:
                await self.store.incidents.note(incident_id, actor, "deviation",
                                                f"quarantine without a complete snapshot: "
                                                f"{override}")  # fmt: skip
            await self.store.quarantine.add(
                incident_id, found, actor,
                f"quarantine: {', '.join(targets)} ({len(found)} entries, {read_only} files "
                f"made read-only)",
            )  # fmt: skip
            listed = await self.store.quarantine.listed()
            await asyncio.to_thread(self._write_quarantine_list, listed)
            return found

    def _write_quarantine_list(self, listed: list[tuple[int, str, str, str | None]]) -> None:
        path = self.store.path.parent / "quarantine.json"
        entries = [{"incident": i, "target": t, "kind": k, "sha256": h} for i, t, k, h in listed]
        data = (json.dumps({"quarantined": entries}, indent=2) + "\n").encode()
        replace_file(path, data, file_hash(path), lambda b: None)

    async def quarantined(self, target: str) -> list[tuple[int, str, str]]:
        """Quarantine entries covering a path (by path, by content, or inside a directory)
        or an id."""
        value, sha = await asyncio.to_thread(check_value, target)
        return await self.store.quarantine.matching(value, sha)

    def _keep(self, path: Path) -> str:
        """Keep a file as it is now as evidence; a note for the timeline."""
        try:
            kept = self.objects.put_file(path)
        except FileNotFoundError:
            return ""
        return f"; previous file kept as sha256:{kept.sha256}"

    async def _contained(
        self, incident_id: int, actor: Actor, what: str, override: str | None, note: str
    ) -> None:
        if override:
            await self.store.incidents.note(incident_id, actor, "deviation",
                                            f"{what} without a complete snapshot: "
                                            f"{override}")  # fmt: skip
        await self.store.incidents.note(incident_id, actor, "containment", note)

    async def incident_model(self, incident: Incident) -> tuple[str | None, str | None]:
        """(model or agent, serving version) an incident is about: from a drift alert's key,
        a feedback alert's target, an agent's lane, or the decision an inquiry points at; the
        serving version from the registry."""
        model = None
        alerts = [a for a in [await self.store.alerts.get(i) for i in incident.alert_ids] if a]
        for alert in sorted(alerts, key=lambda a: ["drift", "feedback", "agent_lane",
                                                   "unexplainable"].index(a.kind)):  # fmt: skip
            if alert.kind in {"drift", "feedback", "agent_lane"}:
                model = alert.key.split(" ")[0]
                break
            decision = await self.store.events.page(EventFilter(request_id=alert.key), limit=1)
            if decision.items and decision.items[0].model_name:
                model = decision.items[0].model_name
                break
        registry = await asyncio.to_thread(self._registry)
        if model is None and registry is not None and len(registry.models) == 1:
            model = next(iter(registry.models))  # the only model the registry knows
        found = None if registry is None or model is None else registry.serving(model)
        return model, None if found is None else found[0]

    def _registry(self) -> Registry | None:
        path = self.containment.registry
        try:
            return Registry.model_validate_json(path.read_bytes()) if path else None
        except (OSError, ValueError):
            return None

    async def containment_states(self, incident_id: int) -> list[ContainmentState]:
        """The incident's containment actions: written when, observed in the logs when."""
        return await self.store.containment.states(incident_id)

    async def snapshots(self, incident_id: int) -> list[SnapshotRecord]:
        """An incident's snapshots, newest first."""
        return await self.store.snapshots.for_incident(incident_id)

    async def drift_series(self, alert: Alert, windows: int = 120) -> DriftSeries | None:
        """The metric windows behind a drift alert (the newest `windows`), with its band."""
        rule = next((r for r in self.alerting.engine.settings.drift if r.name == alert.rule), None)
        if rule is None or alert.kind != "drift":
            return None
        model, _, version = alert.key.partition(" ")
        where = EventFilter(kind="metric", model=model, model_version=version or None)
        page = await self.store.events.page(where, limit=windows)
        points = []
        for stored in page.items:
            event = stored_event(stored.raw)
            if isinstance(event, MetricEvent) and event.metric == rule.metric:
                points.append(DriftPoint(at=event.window_end or event.ts, value=event.value))
        points.sort(key=lambda p: p.at)
        return DriftSeries(title=f"{alert.key} {rule.metric}", low=rule.low, high=rule.high,
                           points=tuple(points))  # fmt: skip

    async def timeline(self, incident_id: int) -> list[TimelineEntry]:
        """An incident's timeline, oldest first."""
        if await self.store.incidents.get(incident_id) is None:
            raise TriageRefusedError(f"there is no incident #{incident_id}")
        return await self.store.incidents.timeline(incident_id)

    async def add_action_item(
        self, incident_id: int, *, title: str, owner: str, due: date | None
    ) -> ActionItem:
        """A new action item: exactly one owner and a due date, both required."""
        detail = {"title": title, "owner": owner, "due": None if due is None else due.isoformat()}
        async with self._acting("action", detail, incident_id) as actor:
            return await self.store.action_items.add(
                incident_id, title=title, owner=owner, due=due, actor=actor
            )

    async def close_action_item(self, item_id: int, resolution: str) -> ActionItem:
        """Close an action item with a short resolution."""
        async with self._acting("close-action", {"item": item_id, "resolution": resolution}) as a:
            return await self.store.action_items.close(item_id, resolution, a)

    async def action_items(
        self, *, incident_id: int | None = None, overdue: bool = False, today: date | None = None
    ) -> list[ActionItem]:
        """Action items by due date; with `overdue`, only open ones past their date."""
        items = await self.store.action_items.listed(incident_id=incident_id, open_only=overdue)
        if overdue:
            day = today or datetime.now(UTC).date()
            items = [i for i in items if i.overdue(day)]
        return items

    async def precision(self) -> list[RulePrecision]:
        """Each rule's precision: declared (or attached) over fired."""
        return await self.store.incidents.precision()

    async def events(
        self, where: EventFilter | None = None, *, before_id: int | None = None, limit: int = 50
    ) -> Page[StoredEvent]:
        """One page of events, newest first."""
        return await self.store.events.page(where, before_id=before_id, limit=limit)

    async def rejects(self, *, before_id: int | None = None, limit: int = 50) -> Page[Reject]:
        """One page of rejected lines, newest first."""
        return await self.store.events.rejects_page(before_id=before_id, limit=limit)

    async def notes(self, kinds: list[str] | None = None, limit: int = 50) -> list[IngestNote]:
        """What ingest noticed: truncations, gaps, rotations, pauses."""
        return await self.store.ingest.notes(kinds=kinds, limit=limit)

    async def triage_marks(self) -> tuple[object, ...]:
        """A value that changes whenever alerts, incidents, timelines or action items do."""
        return await self.store.incidents.marks()

    async def data_version(self) -> int:
        """Changes whenever another connection commits: cheap to poll."""
        return await self.store.data_version()

    async def health(self) -> Health:
        """The figures for the health line."""
        total = await self.store.events.count()
        now = time.monotonic()
        self._rate.append((now, total))
        first_t, first_n = self._rate[0]
        rate = (total - first_n) / (now - first_t) if now - first_t > 0.2 else 0.0
        progress = await self.store.ingest.progress()
        lease = await self.store.leases.current()
        here = self.ingester.status.holding_lease
        helper = (lease is not None and lease.pid == self.helper_pid
                  and lease.host == socket.gethostname())  # fmt: skip
        live = lease is not None and (
            here or (time.time() - lease.heartbeat.timestamp()) < self.settings.ingest.lease_ttl_s
        )
        if lease is not None and not here and live:
            live = process_alive(lease.pid) if lease.host == socket.gethostname() else live
        notes = await self.store.ingest.notes(kinds=["gap", "truncated"], limit=1000)
        caught_up: datetime | None
        if here:
            status = self.ingester.status
            paused, backlog = status.paused_reason, status.backlog_bytes
            caught_up = None if status.caught_up_us is None else from_us(status.caught_up_us)
        else:
            paused = progress.paused_reason if progress else None
            backlog = progress.backlog_bytes if progress else 0
            caught_up = progress.caught_up if progress else None
        # Lag: how long ingest has been behind the files (0 when it has read all there is).
        lag = None
        if caught_up is not None:
            lag = 0.0 if backlog == 0 else (datetime.now(UTC) - caught_up).total_seconds()
        return Health(
            events_total=total,
            events_per_s=rate,
            rejects_total=await self.store.events.reject_count(),
            backlog_bytes=backlog,
            lag_s=lag,
            files_active=len(await self.store.ingest.files("active")),
            lease=lease,
            lease_live=live,
            ingesting_here=here or helper,
            paused_reason=paused,
            gaps=sum(1 for n in notes if n.kind == "gap"),
            truncations=sum(1 for n in notes if n.kind == "truncated"),
        )




def _read_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
