"""`thirdbook verify`: the audit chain, every evidence object, the snapshot index against what
the chain records, and every stored event against the event batch chain; in bounded memory."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict

from thirdbook.domain.audit import AuditRecord, ChainHead, ChainProblem
from thirdbook.evidence.chain import verify_chain
from thirdbook.evidence.event_chain import EventCheck, verify_events
from thirdbook.evidence.objects import ObjectStore
from thirdbook.evidence.snapshot import verify_snapshots
from thirdbook.store import Store

# How a snapshot's completion reads on the timeline (the only record before its audit record
# carried the snapshot id and manifest hash as fields).
_COMPLETE = re.compile(r"snapshot #(\d+) complete: .* manifest sha256:([0-9a-f]{64})")


class StoreCheck(BaseModel):
    """What `verify_store` found."""

    model_config = ConfigDict(frozen=True)

    chain: list[ChainProblem]
    head: ChainHead | None
    evidence: list[str]
    snapshots: int
    events: EventCheck


def completed_snapshot(record: AuditRecord) -> tuple[int, str] | None:
    """(snapshot id, manifest hash) if the record is a snapshot's completion."""
    content = record.content
    detail = content.get("detail")
    if content.get("action") != "evidence" or content.get("outcome") != "done":
        return None
    if not isinstance(detail, dict):
        return None
    snapshot, sha = detail.get("snapshot"), detail.get("manifest_sha256")
    if isinstance(snapshot, int) and isinstance(sha, str):
        return snapshot, sha
    found = _COMPLETE.fullmatch(str(detail.get("timeline", "")))
    return None if found is None else (int(found.group(1)), found.group(2))


async def verify_store(
    store: Store, objects: ObjectStore, checkpoint: ChainHead | None = None
) -> StoreCheck:
    """Everything `verify` checks (see the module's docstring)."""
    recorded: dict[int, tuple[str, int]] = {}  # snapshot id: (manifest hash, audit record)

    def note(page: list[AuditRecord]) -> None:
        for record in page:
            if (found := completed_snapshot(record)) is not None:
                recorded[found[0]] = (found[1], record.seq)

    chain = await verify_chain(store, checkpoint, note)
    evidence = await verify_snapshots(store, objects)
    evidence += await verify_snapshot_index(store, recorded, whole_chain=not chain)
    complete = sum(
        1 for status, _ in (await store.snapshots.index()).values() if status == "complete"
    )
    return StoreCheck(
        chain=chain,
        head=await store.audit.head(),
        evidence=evidence,
        snapshots=complete,
        events=await verify_events(store),
    )


async def verify_snapshot_index(
    store: Store, recorded: dict[int, tuple[str, int]], *, whole_chain: bool
) -> list[str]:
    """Each snapshot the chain records as complete must be complete in the index, with the
    manifest hash the chain recorded; and (when the whole chain was read) each complete one
    in the index must be recorded in the chain."""
    index = await store.snapshots.index()
    problems = []
    for snapshot_id, (sha, seq) in sorted(recorded.items()):
        row = index.get(snapshot_id)
        said = f"though the audit chain records it complete (record {seq})"
        if row is None:
            problems.append(f"snapshot #{snapshot_id} is missing from the store's index, {said}")
        elif row[0] != "complete":
            problems.append(f"snapshot #{snapshot_id} is {row[0]} in the store's index, {said}")
        elif row[1] != sha:
            problems.append(
                f"snapshot #{snapshot_id}'s manifest hash in the store's index "
                f"({row[1]}) is not the one the audit chain recorded (record "
                f"{seq}: {sha})"
            )
    if whole_chain:
        for snapshot_id, (status, _) in sorted(index.items()):
            if status == "complete" and snapshot_id not in recorded:
                problems.append(
                    f"snapshot #{snapshot_id} is complete in the store's index, but "
                    "the audit chain never recorded it complete"
                )
    return problems
