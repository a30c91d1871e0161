"""The post-incident report: everything it says read from the store (nothing typed twice),
rendered as Markdown by the section functions of `report_sections`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path

from thirdbook.atomic import write_atomically
from thirdbook.domain import clock
from thirdbook.domain.alerts import Alert
from thirdbook.domain.errors import TriageRefusedError
from thirdbook.domain.evidence import SnapshotRecord
from thirdbook.domain.incidents import Incident
from thirdbook.domain.records import to_us
from thirdbook.domain.recovery import DecisionState
from thirdbook.domain.regulatory import RegulatoryConfig, parse_serious
from thirdbook.services.report_data import ReportData
from thirdbook.services.review import Review
from thirdbook.store import Store


class ReportService:
    """`report`: read an incident from the store and write its post-incident report."""

    def __init__(
        self,
        store: Store,
        config: RegulatoryConfig,
        window_before_s: float,
        decisions: Callable[[int], Awaitable[list[DecisionState]]] | None = None,
        review: Callable[[int], Awaitable[Review]] | None = None,
    ) -> None:
        """`decisions` reads an incident's recovery decisions with their state (the
        recovery service's reader); `review` the incident's review (the review service's)."""
        self._decisions = decisions
        self._review = review
        self.store = store
        self.config = config
        self.window_before_s = window_before_s

    async def data(self, incident_id: int, *, bundle_note: str = "") -> ReportData:
        """Everything the report says about the incident, read now."""
        store = self.store
        incident = await store.incidents.get(incident_id)
        if incident is None:
            raise TriageRefusedError(f"there is no incident #{incident_id}")
        timeline = await store.incidents.timeline(incident_id)
        alerts = [a for a in [await store.alerts.get(i) for i in incident.alert_ids] if a]
        snapshots = await store.snapshots.for_incident(incident_id)
        window = self._window(incident, alerts, snapshots)
        since, until = to_us(window[0]), to_us(window[1])
        impacts, subjects = await store.report.impact(since, until)
        serious = None
        for entry in timeline:
            if entry.kind == "serious":
                serious = parse_serious(entry.detail, entry.at, entry.actor.user) or serious
        return ReportData(
            incident=incident,
            timeline=timeline,
            alerts=alerts,
            window=window,
            impacts=impacts,
            subjects=subjects,
            money=await store.report.money(since, until),
            containment=list(reversed(await store.containment.states(incident_id))),
            snapshots=list(reversed(snapshots)),
            replays=await store.replay_runs.for_incident(incident_id),
            action_items=await store.action_items.listed(incident_id=incident_id, limit=1000),
            serious=serious,
            config=self.config,
            generated_at=clock.now(),
            decisions=[] if self._decisions is None else await self._decisions(incident_id),
            review=None if self._review is None else await self._review(incident_id),
            roles=await store.roles.roles(incident_id),
            bundle_note=bundle_note,
        )

    def _window(
        self, incident: Incident, alerts: list[Alert], snapshots: list[SnapshotRecord]
    ) -> tuple[datetime, datetime]:
        """The window of interest: the newest complete snapshot's, else from before the
        first alert until the close (or now)."""
        for snapshot in snapshots:  # newest first
            window = (snapshot.manifest or {}).get("window")
            if snapshot.status == "complete" and isinstance(window, dict):
                try:
                    return (
                        datetime.fromisoformat(str(window["start"])),
                        datetime.fromisoformat(str(window["end"])),
                    )
                except (KeyError, ValueError):
                    pass
        first = min((a.first_at for a in alerts), default=incident.declared_at)
        return first - timedelta(seconds=self.window_before_s), incident.closed_at or clock.now()

    async def markdown(self, incident_id: int, *, bundle_note: str = "") -> str:
        """The report as Markdown."""
        from thirdbook.services.report_sections import render

        return render(await self.data(incident_id, bundle_note=bundle_note))

    async def write(self, incident_id: int, out: Path) -> str:
        """Write the report to `out` (atomically); returns its text."""
        text = await self.markdown(incident_id)
        write_atomically(out, text.encode())
        return text
