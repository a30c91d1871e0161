"""A drift alert's chart: the newest windows, with the incident's windows kept beside them.

The newest windows alone would let a recovery scroll the incident away: after a rollback the
known-good version's windows push the red ones off the chart, and with them the first bad
window the drift runbook asks to compare with the deploy. So the series also holds the
alert's own out-of-band windows (by their event ids) and the drifting version's first
windows (where its first bad window is, when that came before the run the rule judged).
Each is a bounded read along an index.
"""

from __future__ import annotations

from thirdbook.domain.alerts import Alert
from thirdbook.domain.drift import DriftPoint, DriftSeries
from thirdbook.domain.events import MetricEvent
from thirdbook.domain.records import EventFilter, StoredEvent
from thirdbook.domain.rules import DriftRule
from thirdbook.services.alerting import stored_event
from thirdbook.store import Store

VERSION_FIRST = 24
"""How many of the drifting version's first metric events to read (its first windows)."""


def _point(stored: StoredEvent, metric: str) -> DriftPoint | None:
    event = stored_event(stored.raw)
    if not isinstance(event, MetricEvent) or event.metric != metric:
        return None
    return DriftPoint(
        at=event.window_end or event.ts, value=event.value, version=event.model.version
    )


async def drift_series(
    store: Store, rule: DriftRule, alert: Alert, windows: int = 120
) -> DriftSeries:
    """The newest `windows` metric events of the alert's model, whatever version served them
    (so a rollback's recovery shows beside the drift), the alert's own windows and the
    drifting version's first ones; with the band and the incident's first and last window."""
    model, _, version = alert.key.partition(" ")
    newest = await store.events.page(EventFilter(kind="metric", model=model), limit=windows)
    run = await store.events.by_ids(alert.event_ids)
    first = (
        await store.events.first_of_version(model, version, "metric", VERSION_FIRST)
        if version
        else []
    )
    points: dict[int, DriftPoint] = {}
    for stored in (*newest.items, *run, *first):
        point = _point(stored, rule.metric)
        if point is not None:
            points[stored.id] = point
    ours = [points[s.id] for s in run if s.id in points]
    incident = (min(p.at for p in ours), max(p.at for p in ours)) if ours else None
    ordered = tuple(p for _, p in sorted(points.items(), key=lambda item: (item[1].at, item[0])))
    series = DriftSeries(
        title=f"{model} {rule.metric}",
        low=rule.low,
        high=rule.high,
        points=ordered,
        version=version or None,
        incident=incident,
    )
    return series.model_copy(update={"title": f"{series.title} {'→'.join(series.versions)}"})
