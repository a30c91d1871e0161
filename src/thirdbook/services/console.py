"""The console service: the store, its ingester and its health, behind one object.

Its parts live beside it: `triage` (incidents and their timeline), `containment` (evidence and
the containment actions, with `registry` for the alias history and `hooks` for configured
commands and webhooks), `export` (evidence bundles), `health` (the health line);
`console_base` holds what they share.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from thirdbook import locations
from thirdbook.config import ContainmentConfig, Settings, SourceConfig
from thirdbook.domain.alerts import Alert
from thirdbook.domain.drift import DriftSeries
from thirdbook.domain.records import (
    EventFilter,
    IngestNote,
    Page,
    Reject,
    StoredEvent,
)
from thirdbook.domain.rules import TriggerSettings
from thirdbook.domain.secrets import find_secrets
from thirdbook.ingest.ingester import Ingester
from thirdbook.services.alerting import Alerting
from thirdbook.services.console_base import need_reason
from thirdbook.services.containment import ContainmentService
from thirdbook.services.drift_series import drift_series
from thirdbook.services.export import ExportService
from thirdbook.services.health import Health, HealthMeter
from thirdbook.services.runbooks import RunbookLibrary
from thirdbook.services.triage import TriageService
from thirdbook.store import Store
from thirdbook.store.access import Access
from thirdbook.store.incidents import TriageRefusedError

__all__ = ["Console", "Health"]


class Console(TriageService, ContainmentService, ExportService):
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
        self.meter = HealthMeter(store, self.ingester, settings)

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
        access: Access = "write",
    ) -> Console:
        """Open the store (refusing network filesystems) for the given sources and rules; a
        store opened read-only (see `Store.open`'s `access`) makes a read-only console."""
        store = await Store.open(
            store_path, busy_timeout_ms=settings.store.busy_timeout_ms, access=access
        )
        chosen = settings.sources if sources is None else sources
        read_only = read_only or store.read_only_reason is not None
        return cls(
            store,
            settings,
            chosen,
            triggers,
            read_only=read_only,
            runbooks=runbooks,
            containment=containment,
        )

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
        """Ingest the sources while this process holds the lease (see `Ingester.run`), and
        keep the registry's alias history beside it."""
        if once:
            await self.ingester.run(stop, once=True)
            await self.observe_registry()
            return
        done = asyncio.Event()  # ingest has returned (stopped, or lost its lease)
        watcher = asyncio.create_task(self.watch_registry(done))
        try:
            await self.ingester.run(stop)
        finally:
            done.set()
            await watcher

    @property
    def helper_pid(self) -> int | None:
        """This console's helper ingester (its child process), if it started one."""
        return self.meter.helper_pid

    @helper_pid.setter
    def helper_pid(self, pid: int | None) -> None:
        self.meter.helper_pid = pid

    async def drift_series(self, alert: Alert, windows: int = 120) -> DriftSeries | None:
        """A drift alert's chart: its model's newest `windows` metric windows and the
        incident's own (see `services.drift_series`), with the band."""
        rule = next((r for r in self.alerting.engine.settings.drift if r.name == alert.rule), None)
        if rule is None or alert.kind != "drift":
            return None
        return await drift_series(self.store, rule, alert, windows)

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

    async def data_version(self) -> int:
        """Changes whenever another connection commits: cheap to poll."""
        return await self.store.data_version()

    async def reveal_secrets(
        self, event_id: int, reason: str, incident_id: int | None = None
    ) -> tuple[StoredEvent, list[str]]:
        """An event whose masked secrets are to be shown, and their kinds: an explicit action,
        audited with the reason (refused without one, or when nothing is masked)."""
        detail = {"event": event_id, "reason": reason}
        async with self._acting("reveal-secrets", detail, incident_id) as actor:
            need_reason(reason)
            page = await self.store.events.page(None, before_id=event_id + 1, limit=1)
            if not page.items or page.items[0].id != event_id:
                raise TriageRefusedError(f"there is no event #{event_id}")
            event = page.items[0]
            kinds = [s.kind for s in find_secrets(event.raw.decode(errors="backslashreplace"))]
            if not kinds:
                raise TriageRefusedError("nothing is masked in this line")
            await self.store.audit.append(
                actor, "reveal-secrets", "done", {**detail, "kinds": kinds}, incident_id
            )
            return event, kinds

    async def audited_reveal(self, detail: dict[str, Any], incident_id: int | None = None) -> None:
        """Record that secrets were shown (what, to whom, why) in the audit chain."""
        async with self._acting("reveal-secrets", detail, incident_id) as actor:
            need_reason(detail.get("reason"))
            await self.store.audit.append(actor, "reveal-secrets", "done", detail, incident_id)

    async def health(self) -> Health:
        """The figures for the health line."""
        return await self.meter.read()
