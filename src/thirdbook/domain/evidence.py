"""Evidence snapshots: what a snapshot keeps, and the checklist the console shows."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

CHECKLIST = (
    ("model", "model version + weights hash"),
    ("prompts", "prompts"),
    ("events", "inputs/outputs"),
    ("logs", "logs"),
    ("routing", "routing config"),
    ("registry", "registry"),
)
"""The evidence checklist: manifest item kind, and how the console names it."""


class SnapshotRecord(BaseModel):
    """A snapshot as the store keeps it."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    id: int
    incident_id: int
    status: Literal["incomplete", "complete"]
    by: str
    started: datetime
    finished: datetime | None
    manifest_sha256: str | None
    manifest: dict[str, Any] | None

    def captured(self) -> dict[str, int]:
        """Bytes captured per checklist item kind (complete snapshots only)."""
        sizes: dict[str, int] = {}
        if self.status != "complete" or self.manifest is None:
            return sizes
        for item in self.manifest.get("items", []):
            if "missing" in item:  # not kept (see `missing`): not captured, whatever its size
                continue
            kind = str(item.get("kind"))
            sizes[kind] = sizes.get(kind, 0) + int(item.get("size", 0))
        return sizes

    def missing(self) -> dict[str, str]:
        """Why each checklist item kind that a complete snapshot lists was not kept."""
        if self.status != "complete" or self.manifest is None:
            return {}
        return {
            str(i.get("kind")): str(i["missing"])
            for i in self.manifest.get("items", [])
            if "missing" in i
        }


class QuarantineTarget(BaseModel):
    """One thing to quarantine: a file (with its hash), a directory, or an id."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    target: str
    kind: Literal["file", "directory", "id"]
    sha256: str | None


class ContainmentState(BaseModel):
    """A containment action: written to the serving layer's file, and observed once its
    logs show a request taking effect of it."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    action: str
    model: str
    value: str
    written: datetime
    observed: datetime | None
