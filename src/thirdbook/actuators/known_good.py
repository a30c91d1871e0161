"""Mark a model version known-good in the registry (the same safe write as a rollback)."""

from __future__ import annotations

import json
from pathlib import Path

from thirdbook.actuators.rollback import read_registry, write_registry
from thirdbook.domain.errors import RollbackRefusedError


def mark_known_good(path: Path, model: str, version: str) -> tuple[bool, str, str]:
    """Set `known_good` on `model` `version` in the registry at `path` (the file itself);
    returns (changed, before, after). Refused when the file, model or version is missing."""
    data, before, registry = read_registry(path)
    entry = registry.models.get(model)
    if entry is None:
        raise RollbackRefusedError(f"the registry has no model {model}")
    if version not in entry.versions:
        known = ", ".join(sorted(entry.versions))
        raise RollbackRefusedError(f"{model} has no version {version} (it has {known})")
    if entry.versions[version].known_good:
        return False, before, before
    raw = json.loads(data)
    raw["models"][model]["versions"][version]["known_good"] = True
    return True, before, write_registry(path, raw, before)
