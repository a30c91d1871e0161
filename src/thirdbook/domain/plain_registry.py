"""A registry file read without pydantic where that is certain (see `plain_json`): what
`explain` asks of it, the weights hash a version was registered with, as
`control.Registry.model_validate_json` would read the whole file. A file the models might
read otherwise, or refuse, raises `Unsure` (tests/test_plain_events.py checks both agree)."""

from __future__ import annotations

from typing import Any

from thirdbook.domain.plain_json import Unsure, flag, load, obj, optional, text

_VERSION_TEXTS = ("weights_path", "registered", "note")
_maybe_text = optional(text)


def _version_hash(value: Any) -> str:
    """A `RegisteredVersion`'s weights hash, its other fields checked."""
    version = obj(value)
    if "weights_hash" not in version:
        raise Unsure("a version without a weights hash")
    if "known_good" in version:
        flag(version["known_good"])
    for name in _VERSION_TEXTS:
        if name in version:
            _maybe_text(version[name])
    return text(version["weights_hash"])


def _versions(value: Any) -> dict[str, str]:
    """A `RegisteredModel`'s versions' weights hashes, its aliases checked."""
    entry = obj(value)
    if "versions" not in entry:
        raise Unsure("a model without versions")
    hashes = {name: _version_hash(v) for name, v in obj(entry["versions"]).items()}
    for version in obj(entry.get("aliases", {})).values():
        if text(version) not in hashes:
            raise Unsure("an alias that points at no version")
    return hashes


def registered_hash(data: bytes, model: str, version: str) -> str | None:
    """The weights hash the registry in `data` holds for `model` `version`; None when it
    does not hold that version."""
    registry = obj(load(data))
    if "models" not in registry:
        raise Unsure("no models")
    models = {name: _versions(entry) for name, entry in obj(registry["models"]).items()}
    return models.get(model, {}).get(version)
