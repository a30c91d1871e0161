"""Rollback: point the registry's `serving` alias at a known-good version.

The failing version is never touched: only the alias moves, as MLflow aliases do. The target
must be registered with a weights hash; where its weights are readable (`weights_path`), they
are re-hashed and must match before the alias moves. The registry file is written like the
kill switch: validated, atomic, compare-and-swap on its hash, read back, and only as a control
file (`thirdbook.control_file`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from thirdbook.actuators.config_write import bytes_hash, replace_file
from thirdbook.control_file import read_control
from thirdbook.domain.control import Registry, RollbackPlan
from thirdbook.domain.errors import RollbackRefusedError
from thirdbook.evidence.objects import hash_file


def validate_registry(data: bytes) -> None:
    """Raise ValueError (one line) unless `data` is a valid registry."""
    parse_registry(data)


def parse_registry(data: bytes) -> Registry:
    """The registry in `data`, or a ValueError saying in one line why it is not one."""
    try:
        return Registry.model_validate_json(data)
    except ValidationError as exc:
        raise ValueError(str(exc).splitlines()[0] + f" ({exc.error_count()} problem(s))") from exc


def plan_rollback(registry: Registry, model: str, to: str | None = None) -> RollbackPlan:
    """The version to roll back to: `to`, or the newest known-good version not serving now."""
    entry = registry.models.get(model)
    if entry is None:
        raise RollbackRefusedError(f"the registry has no model {model!r}")
    current = entry.aliases.get("serving")
    if to is None:
        good = [v for v, info in entry.versions.items() if info.known_good and v != current]
        if not good:
            raise RollbackRefusedError(f"no known-good version of {model} to roll back to")
        to = sorted(good)[-1]
    if to not in entry.versions:
        raise RollbackRefusedError(f"{model} has no version {to!r}")
    if to == current:
        raise RollbackRefusedError(f"{model} {to} is already serving")
    target = entry.versions[to]
    checked = False
    if target.weights_path:
        weights = Path(target.weights_path)
        if weights.is_file():
            found = "sha256:" + hash_file(weights).sha256
            if found != target.weights_hash:
                raise RollbackRefusedError(
                    f"{model} {to}'s weights at {weights} hash to {found}, not the registered "
                    f"{target.weights_hash}: refusing to serve them"
                )
            checked = True
    return RollbackPlan(
        model=model,
        from_version=current,
        to_version=to,
        weights_hash=target.weights_hash,
        weights_checked=checked,
    )


def read_registry(path: Path) -> tuple[bytes, str, Registry]:
    """The registry file at `path` as it is now: its bytes, their hash, and the registry
    they hold. Refused when it is missing or does not validate."""
    data = read_control(path)
    if data is None:
        raise RollbackRefusedError(f"there is no registry at {path}")
    try:
        return data, bytes_hash(data), parse_registry(data)
    except ValueError as exc:
        raise RollbackRefusedError(f"{path} is not a valid registry now: {exc}") from exc


def write_registry(path: Path, raw: dict[str, Any], before: str) -> str:
    """Write the registry `raw` over the file whose hash was `before` (validated, atomic,
    read back); returns the new file's hash."""
    new = (json.dumps(raw, indent=2) + "\n").encode()
    return replace_file(path, new, before, validate_registry)[1]


def roll_back(path: Path, model: str, to: str | None = None) -> tuple[RollbackPlan, str, str]:
    """Move `model`'s serving alias in the registry at `path` (the file itself: see
    `control_file.target_of`); returns (plan, before, after)."""
    data, before, registry = read_registry(path)
    plan = plan_rollback(registry, model, to)
    raw = json.loads(data)
    raw["models"][model].setdefault("aliases", {})["serving"] = plan.to_version
    return plan, before, write_registry(path, raw, before)
