"""A drift alert's chart: the newest windows, with the incident's windows kept beside them.

The newest windows alone would let a recovery scroll the incident away: after a rollback the
known-good version's windows push the red ones off the chart, and with them the first bad
window the drift runbook asks to compare with the deploy. So the series also holds the
alert's own out-of-band windows (by their event ids), the drifting version's windows from
its first (where its first bad window is, when that came before the run the rule judged)
and the last windows of the version it replaced. Each is a bounded read: by id, or along
the model index in time order.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from thirdbook.domain.alerts import Alert
from thirdbook.domain.drift import DriftPoint, DriftSeries, usual_spacing
from thirdbook.domain.events import MetricEvent, parse_stored_line
from thirdbook.domain.records import EventFilter, StoredEvent
from thirdbook.domain.rules import DriftRule
from thirdbook.store import Store

VERSION_WINDOWS = 240
"""How many of the drifting version's metric events to read in time order (its windows,
every metric: those of the rule's are kept), from its first and from the incident's."""
LEAD = 3
"""Windows read before the incident's first (when the version ran long before it drifted),
and of the version it replaced."""


def _point(stored: StoredEvent, metric: str) -> DriftPoint | None:
    event = parse_stored_line(stored.raw)
    if not isinstance(event, MetricEvent) or event.metric != metric:
        return None
    return DriftPoint(
        at=event.window_end or event.ts, value=event.value, version=event.model.version
    )


def _before(at: datetime, span: timedelta) -> datetime:
    """`span` before `at`, or `at` itself at the start of the calendar."""
    try:
        return at - span
    except OverflowError:
        return at


def _points(stored: list[StoredEvent], metric: str) -> dict[int, DriftPoint]:
    found = ((s.id, _point(s, metric)) for s in stored)
    return {i: p for i, p in found if p is not None}


async def drift_series(
    store: Store, rule: DriftRule, alert: Alert, windows: int = 120
) -> DriftSeries:
    """The newest `windows` metric events of the alert's model, whatever version served them
    (so a rollback's recovery shows beside the drift); the drifting version's windows from
    its first one, and around the alert's own when it ran long before (every window between,
    in band or not); and the other versions' last windows before it. With the band and the
    incident's first and last window."""
    model, _, version = alert.key.partition(" ")
    newest = await store.events.page(EventFilter(kind="metric", model=model), limit=windows)
    points = _points(newest.items, rule.metric)
    run = _points(await store.events.by_ids(alert.event_ids), rule.metric)
    incident = (min(p.at for p in run.values()), max(p.at for p in run.values())) if run else None
    points.update(run)
    if not version:
        return _series(model, rule, points, None, incident)
    early = _points(
        await store.events.of_version(model, version, "metric", VERSION_WINDOWS), rule.metric
    )
    points.update(early)
    spacing = usual_spacing([p.at for p in early.values()])
    if (
        incident is not None
        and spacing is not None
        and max(p.at for p in early.values()) < incident[1]
    ):  # the version ran long before it drifted: read the incident's too
        since = _before(incident[0], spacing * LEAD)
        later = await store.events.of_version(
            model, version, "metric", VERSION_WINDOWS, since=since
        )
        points.update(_points(later, rule.metric))
    if early:  # what served before it (the version it replaced), for the change into it
        began = min(p.at for p in early.values())
        for other in sorted({p.version for p in points.values() if p.version} - {version}):
            before = await store.events.of_version(
                model, other, "metric", 2 * LEAD, until=began, newest_first=True
            )
            points.update(_points(before, rule.metric))
    return _series(model, rule, points, version, incident)


def _series(
    model: str,
    rule: DriftRule,
    points: dict[int, DriftPoint],
    version: str | None,
    incident: tuple[datetime, datetime] | None,
) -> DriftSeries:
    ordered = tuple(p for _, p in sorted(points.items(), key=lambda item: (item[1].at, item[0])))
    series = DriftSeries(
        title=f"{model} {rule.metric}",
        low=rule.low,
        high=rule.high,
        points=ordered,
        version=version,
        incident=incident,
    )
    return series.model_copy(update={"title": f"{series.title} {'→'.join(series.versions)}"})
