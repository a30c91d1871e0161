"""Mark a model version known-good in the registry (the same safe write as a rollback)."""

from __future__ import annotations

import json
from pathlib import Path

from thirdbook.actuators.config_write import bytes_hash, replace_file
from thirdbook.actuators.rollback import parse_registry, validate_registry
from thirdbook.control_file import read_control
from thirdbook.domain.errors import RollbackRefusedError


def mark_known_good(path: Path, model: str, version: str) -> tuple[bool, str, str]:
    """Set `known_good` on `model` `version` in the registry at `path` (the file itself);
    returns (changed, before, after). Refused when the file, model or version is missing."""
    data = read_control(path)
    if data is None:
        raise RollbackRefusedError(f"there is no registry at {path}")
    before = bytes_hash(data)
    try:
        registry = parse_registry(data)
    except ValueError as exc:
        raise RollbackRefusedError(f"{path} is not a valid registry now: {exc}") from exc
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
    new = (json.dumps(raw, indent=2) + "\n").encode()
    _, after = replace_file(path, new, before, validate_registry)
    return True, before, after
