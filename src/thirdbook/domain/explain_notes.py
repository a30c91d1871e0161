"""What an explanation says of what it read, in one place for both ways of reading it (the
services' `ExplainService`, and `explain` read quickly without pydantic): the registry
check, the containment in force, an incident citing it, the snapshots holding it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal

from thirdbook.domain.clock import from_us

WeightsCheck = Literal["matches", "MISMATCH", "unknown"]

NO_MODEL = "no model logged"
NO_REGISTRY = "no registry to compare"
REGISTRY_NOW = "registry file as it is now (no copy of the one in force then)"
"""Whence the registry compared with came, when no copy of the one in force was kept."""


def registry_then(sha256: str) -> str:
    """Whence the registry compared with came: the copy of the one in force then."""
    return f"registry {sha256[:12]} in force then"


def weights_check(
    name: str, version: str, logged: str | None, registered: str | None, whence: str
) -> tuple[str | None, WeightsCheck, str]:
    """(the registry's hash, the check, its note) for a decision's model `name` `version`
    that logged the weights hash `logged`, against a registry (from `whence`) holding
    `registered` for that version (None: it does not hold the version)."""
    if registered is None:
        return None, "unknown", f"{name} {version} is not in the {whence}"
    if not logged:
        return registered, "unknown", "no weights hash logged"
    if registered == logged:
        return registered, "matches", f"({whence})"
    note = f"logged {logged} but the registry holds {registered} for {version} ({whence})"
    return registered, "MISMATCH", note


def containment_note(held: dict[str, Any]) -> str:
    """The containment action in force (`ExplainQueries.containment_at`'s row)."""
    return (
        f"{held['action']} {held['field']}={held['value']} written "
        f"{from_us(int(held['written_us'])).isoformat()} "
        f"(incident #{held['incident_id']})"
    )


def incident_summary(severity: str, phase: str, title: str) -> str:
    """An incident citing the decision, in one line."""
    return f"{severity} {phase}: {title}"


def snapshot_holds(
    snapshots: Iterable[tuple[int, int, str | None, dict[str, Any] | None]], ts: datetime
) -> list[tuple[int, int, str | None, str | None]]:
    """(snapshot, incident, events object's hash, manifest's hash) of each complete
    snapshot, given as (id, incident, manifest's hash, manifest), whose window holds `ts`."""
    holds = []
    for snapshot_id, incident_id, manifest_sha256, manifest in snapshots:
        window = (manifest or {}).get("window", {})
        try:
            start = datetime.fromisoformat(window["start"])
            end = datetime.fromisoformat(window["end"])
        except (KeyError, TypeError, ValueError):
            continue
        if not start <= ts <= end:
            continue
        events: dict[str, Any] = next(
            (i for i in (manifest or {}).get("items", []) if i.get("kind") == "events"),
            {},
        )
        holds.append((snapshot_id, incident_id, events.get("sha256"), manifest_sha256))
    return holds


def missing_parts(
    model_present: bool, prompt: object, response: object, action: object
) -> list[str]:
    """The four things on tape that were not logged (a part is there when not None)."""
    parts = {
        "model version": model_present,
        "prompt": prompt is not None,
        "response": response is not None,
        "downstream action": action is not None,
    }
    return [name for name, there in parts.items() if not there]
