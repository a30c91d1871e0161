"""The kill switch: a flagd flag routing a model's traffic away from it (RELIABILITY E4).

A kill keeps the flag `ENABLED` and moves `defaultVariant` to `human`, `fallback` or `refused`.
`DISABLED` means "flag absent" to flagd readers (traffic would go back to the model), so it is
never written as "killed".
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import ValidationError

from thirdbook.actuators.config_write import ABSENT, file_hash, replace_file
from thirdbook.domain.control import ROUTES, FlagdFile, FlagdFlag, serving_flag_key

KillMode = Literal["human", "fallback", "refuse", "model"]
VARIANT = {"human": "human", "fallback": "fallback", "refuse": "refused", "model": "model"}
"""Modes and the flag variants they select; `model` routes back to the model (recovery)."""


def validate_flagd(data: bytes) -> None:
    """Raise ValueError unless `data` is a valid flagd flag file."""
    try:
        FlagdFile.model_validate_json(data)
    except ValidationError as exc:
        raise ValueError(str(exc).splitlines()[0] + f" ({exc.error_count()} problem(s))") from exc


def killed_flags(current: bytes | None, model: str, route: str) -> bytes:
    """The flag file with `model` routed to `route` (ENABLED), everything else kept."""
    flags = FlagdFile.model_validate_json(current) if current else FlagdFile(flags={})
    key = serving_flag_key(model)
    old = flags.flags.get(key)
    variants = dict(old.variants) if old is not None else {}
    for name in ROUTES:
        variants.setdefault(name, name)
    flags.flags[key] = FlagdFlag.model_validate(
        {"state": "ENABLED", "variants": variants, "defaultVariant": route}
    )
    data = flags.model_dump(by_alias=True, mode="json", exclude_none=True)
    return (json.dumps(data, indent=2) + "\n").encode()


def flip(path: Path, model: str, route: str, expected: str | None = None) -> tuple[str, str]:
    """Route `model` to `route` in the flag file at `path`; returns (before, after) hashes.

    `expected` is the hash the caller last saw (default: what is there now).
    """
    before = file_hash(path) if expected is None else expected
    current = None if before == ABSENT else path.read_bytes()
    return replace_file(path, killed_flags(current, model, route), before, validate_flagd)
