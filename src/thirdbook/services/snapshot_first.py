"""The snapshot-first rule: a containment action waits for a complete evidence snapshot, or
an override with a reason, which goes on the timeline as a deviation."""

from __future__ import annotations

from thirdbook.domain.errors import TriageRefusedError
from thirdbook.domain.incidents import Actor
from thirdbook.store import Store


async def snapshot_first(store: Store, incident_id: int, override: str | None) -> str | None:
    """None when the incident has a complete snapshot; else the override (a deviation), or a
    refusal when there is none."""
    snapshots = await store.snapshots.for_incident(incident_id)
    if any(s.status == "complete" for s in snapshots):
        return None
    if not override:
        raise TriageRefusedError(
            "snapshot first: incident has no complete evidence snapshot (s, or "
            "`thirdbook snapshot`); to act anyway, override with a reason"
        )
    return override


async def record_deviation(
    store: Store, incident_id: int, actor: Actor, what: str, override: str | None
) -> None:
    """An action taken without a complete snapshot goes on the timeline as a deviation."""
    if override:
        await store.incidents.note(
            incident_id, actor, "deviation", f"{what} without a complete snapshot: {override}"
        )
