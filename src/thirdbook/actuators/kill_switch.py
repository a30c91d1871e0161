"""The kill switch: a flagd flag routing a model's traffic away from it (RELIABILITY E4).

A kill keeps the flag `ENABLED` and moves `defaultVariant` to `human`, `fallback` or `refused`.
`DISABLED` means "flag absent" to flagd readers (traffic would go back to the model), so it is
never written as "killed". A kill changes only what it needs: the flag's `metadata` and other
variants, and every other flag, stay as they are, and so does its `targeting` unless that
could still send traffic to the model (see `killed_flags`). Routing back to the model restores
the flag as it was before the incident's first kill.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import ValidationError

from thirdbook.actuators.config_write import bytes_hash, replace_file
from thirdbook.control_file import read_control
from thirdbook.domain.control import (
    FLAGD_SCHEMA,
    ROUTES,
    FlagdFile,
    route_for,
    serving_flag_key,
)
from thirdbook.domain.strict_json import loads_strict

VARIANT = {"human": "human", "fallback": "fallback", "refuse": "refused", "model": "model"}
"""Modes and the flag variants they select; `model` routes back to the model (recovery)."""


def validate_flagd(data: bytes) -> None:
    """Raise ValueError unless `data` is a valid flagd flag file."""
    try:
        FlagdFile.model_validate_json(data)
    except ValidationError as exc:
        raise ValueError(str(exc).splitlines()[0] + f" ({exc.error_count()} problem(s))") from exc


class FlagChange(NamedTuple):
    """What a flip writes: the new file, and what else it did to the flag."""

    data: bytes
    restored: bool = False
    """The flag was put back as it was before the incident's first kill."""
    suspended_targeting: bool = False
    """A `targeting` rule that could still route to the model was set aside (`{}`)."""


def killed_flags(current: bytes | None, model: str, route: str) -> FlagChange:
    """The flag file with `model` routed to `route`: its flag `ENABLED`, the route variants
    added where missing, `defaultVariant` set; every other field (`metadata`, other variants
    and flags) kept as it is, and `targeting` too unless it could still route traffic to the
    model (it names a variant whose value is `model`): flagd serves what targeting picks over
    `defaultVariant`, so such a rule is set aside (`{}`) until the flag is restored."""
    raw = _raw(current)
    flag = raw["flags"].setdefault(serving_flag_key(model), {})
    variants = flag.setdefault("variants", {})
    for name in ROUTES:
        variants.setdefault(name, name)
    flag["state"] = "ENABLED"
    flag["defaultVariant"] = route
    to_model = {name for name, value in variants.items() if value == "model"}
    suspended = route != "model" and bool(_strings(flag.get("targeting")) & to_model)
    if suspended:
        flag["targeting"] = {}
    return FlagChange(_encode(raw), suspended_targeting=suspended)


def restored_flags(current: bytes | None, model: str, before: bytes) -> bytes | None:
    """The flag file with `model`'s flag put back as it is in `before` (the file kept before
    the incident's first kill), everything else as it is now; the bytes of `before` when the
    result is the same document. None when `before` cannot route to the model by itself (no
    such flag, or one routing elsewhere): then routing back is a plain edit."""
    try:
        kept, kept_raw = FlagdFile.model_validate_json(before), _raw(before)
    except ValueError:
        return None
    key = serving_flag_key(model)
    if key not in kept.flags or route_for(kept, model) != "model":
        return None
    raw = _raw(current)
    raw["flags"][key] = kept_raw["flags"][key]
    return before if raw == kept_raw else _encode(raw)


def planned_flags(
    current: bytes | None, model: str, route: str, before: bytes | None = None
) -> FlagChange:
    """What a flip writes: routing back to the model restores the flag kept before the
    incident (`before`) when it can; anything else is `killed_flags`."""
    if route == "model" and before is not None:
        restored = restored_flags(current, model, before)
        if restored is not None:
            return FlagChange(restored, restored=True)
    return killed_flags(current, model, route)


def _strings(value: object) -> set[str]:
    """Every string in a JSON value (a targeting rule names variants as strings)."""
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return {s for v in value.values() for s in _strings(v)}
    if isinstance(value, list):
        return {s for v in value for s in _strings(v)}
    return set()


def _raw(current: bytes | None) -> dict[str, Any]:
    """The file as plain JSON (validated first), so fields thirdbook has no model for stay."""
    if current is None:
        return {"$schema": FLAGD_SCHEMA, "flags": {}}
    validate_flagd(current)
    raw: dict[str, Any] = loads_strict(current)
    return raw


def _encode(raw: dict[str, Any]) -> bytes:
    return (json.dumps(raw, indent=2) + "\n").encode()


def flip(
    path: Path, model: str, route: str, expected: str | None = None, before: bytes | None = None
) -> tuple[str, str]:
    """Route `model` to `route` in the flag file at `path` (the file itself: see
    `control_file.target_of`); returns the file's (before, after) hashes.

    `expected` is the hash the caller last saw (default: what is there now); `before` is the
    file kept before the incident's first kill, restored when routing back to the model.
    """
    current = read_control(path)
    seen = bytes_hash(current) if expected is None else expected
    return replace_file(
        path, planned_flags(current, model, route, before).data, seen, validate_flagd
    )
