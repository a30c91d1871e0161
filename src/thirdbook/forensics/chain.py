"""The incident's current chain against the model's last known-good baseline."""

from __future__ import annotations

import asyncio
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from thirdbook.config import ContainmentConfig
from thirdbook.domain.baselines import Baseline, Link, chain_diff
from thirdbook.evidence.objects import ObjectStore
from thirdbook.forensics.baseline import ControlState, decisions, load_baseline
from thirdbook.store import Store
from thirdbook.store.baselines import BaselineRow


class NoBaselineError(LookupError):
    """The model has no baseline to diff against."""


class ChainReport(BaseModel):
    """An incident's chain diff."""

    model_config = ConfigDict(frozen=True)

    incident_id: int
    model: str
    suspect: str
    since: datetime
    until: datetime
    decisions: int
    baseline_id: int
    baseline: Baseline
    links: list[Link]

    @property
    def changed(self) -> list[Link]:
        """The links that are not unchanged."""
        return [link for link in self.links if link.status != "unchanged"]


async def known_good_baseline(
    store: Store, model: str, known_good: list[str], before: datetime | None = None
) -> BaselineRow | None:
    """The model's last known-good baseline: the newest of a version the registry marks
    known-good (else the newest of any version), preferring one whose window ends by
    `before`."""
    rows = await store.baselines.of_model(model)
    good = [r for r in rows if r.version in known_good] or rows
    if before is not None:
        earlier = [r for r in good if r.until <= before]
        good = earlier or good
    return good[0] if good else None


async def incident_chain(
    store: Store,
    objects: ObjectStore,
    paths: ContainmentConfig,
    incident_id: int,
    model: str,
    suspect: str,
    since: datetime,
    until: datetime,
) -> ChainReport:
    """The suspect version's decisions in the incident window, diffed against the last
    known-good baseline, each changed link with the first event where it appears."""
    state = await asyncio.to_thread(ControlState, paths)
    row = await known_good_baseline(store, model, state.known_good(model), since)
    if row is None:
        raise NoBaselineError(
            f"{model} has no baseline yet: take one with `thirdbook baseline {model} VERSION` "
            "(a known-good version), or take a snapshot of the incident"
        )
    baseline = await asyncio.to_thread(load_baseline, objects, row)
    events = await decisions(store, model, suspect, since, until)
    current = state.chain_of(model, suspect, events)
    return ChainReport(
        incident_id=incident_id,
        model=model,
        suspect=suspect,
        since=since,
        until=until,
        decisions=len(events),
        baseline_id=row.id,
        baseline=baseline,
        links=chain_diff(baseline.chain, current, events),
    )
