"""The two files a serving layer obeys: the kill-switch flag file and the model registry.

The kill switch is an OpenFeature flagd flag file. Killing a model means the flag stays
`ENABLED` with a `defaultVariant` that routes away from the model; `DISABLED` means "flag
absent" to flagd readers, so it never means "killed".

The registry is a local file in the spirit of MLflow aliases: versions with weights hashes and
known-good marks, and aliases (`serving`) that point at a version.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

FLAGD_SCHEMA = "https://flagd.dev/schema/v0/flags.json"
ROUTES: tuple[str, ...] = ("model", "human", "fallback", "refused")
RouteVariant = Literal["model", "human", "fallback", "refused"]
KillMode = Literal["human", "fallback", "refuse", "model"]
"""Where the kill switch sends a model's traffic; `model` routes back to it (recovery)."""


class FlagdFlag(BaseModel):
    """One flagd flag: a state, its variants, and the variant served by default."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, defer_build=True)

    state: Literal["ENABLED", "DISABLED"]
    variants: dict[str, str | bool | int | float | dict[str, object] | list[object]]
    default_variant: str = Field(alias="defaultVariant")

    @model_validator(mode="after")
    def _default_is_a_variant(self) -> FlagdFlag:
        if self.default_variant not in self.variants:
            raise ValueError(f"defaultVariant {self.default_variant!r} is not one of the variants")
        return self


class FlagdFile(BaseModel):
    """A flagd flag definition file."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, defer_build=True)

    schema_: str | None = Field(default=FLAGD_SCHEMA, alias="$schema")
    flags: dict[str, FlagdFlag]


def serving_flag_key(model: str) -> str:
    """The flag that routes a model's traffic."""
    return f"{model}-route"


def routing_flags(model: str, route: RouteVariant = "model") -> FlagdFile:
    """A flag file that routes `model`'s traffic to `route`."""
    flag = FlagdFlag.model_validate(
        {"state": "ENABLED", "variants": {name: name for name in ROUTES}, "defaultVariant": route}
    )
    return FlagdFile(flags={serving_flag_key(model): flag})


def route_for(flags: FlagdFile | None, model: str) -> RouteVariant:
    """Where the serving layer sends `model`'s traffic, as a flagd reader would decide.

    A missing or DISABLED flag means "flag absent": the default, which is the model.
    """
    if flags is None:
        return "model"
    flag = flags.flags.get(serving_flag_key(model))
    if flag is None or flag.state != "ENABLED":
        return "model"
    value = flag.variants.get(flag.default_variant)
    return value if isinstance(value, str) and value in ROUTES else "model"  # type: ignore[return-value]


class RegisteredVersion(BaseModel):
    """A model version in the registry."""

    model_config = ConfigDict(extra="allow", defer_build=True)

    weights_hash: str
    known_good: bool = False
    weights_path: str | None = None
    registered: str | None = None
    note: str | None = None


class RegisteredModel(BaseModel):
    """A model's versions and aliases."""

    model_config = ConfigDict(extra="allow", defer_build=True)

    versions: dict[str, RegisteredVersion]
    aliases: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _aliases_point_at_versions(self) -> RegisteredModel:
        for alias, version in self.aliases.items():
            if version not in self.versions:
                raise ValueError(f"alias {alias!r} points at unknown version {version!r}")
        return self


class Registry(BaseModel):
    """The model registry file."""

    model_config = ConfigDict(extra="allow", defer_build=True)

    models: dict[str, RegisteredModel]

    def serving(self, model: str) -> tuple[str, RegisteredVersion] | None:
        """The version the `serving` alias points at, if any."""
        entry = self.models.get(model)
        if entry is None or "serving" not in entry.aliases:
            return None
        version = entry.aliases["serving"]
        return version, entry.versions[version]


class AliasMove(BaseModel):
    """One move of a registry alias: seen in the file, or made by a rollback."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    at: datetime
    model: str
    alias: str
    from_version: str | None
    to_version: str | None
    how: Literal["first seen", "observed", "rollback"]
    by_user: str | None = None
    incident_id: int | None = None
    registry_sha256: str


def alias_moves(
    known: dict[tuple[str, str], str | None], registry: Registry
) -> list[tuple[str, str, str | None, str | None]]:
    """(model, alias, from, to) for every alias whose version differs from `known`
    (an alias that disappeared moves to None)."""
    now: dict[tuple[str, str], str | None] = {
        (model, alias): version
        for model, entry in registry.models.items()
        for alias, version in entry.aliases.items()
    }
    for key, version in known.items():
        if version is not None and key not in now:
            now[key] = None
    return [
        (m, a, known.get((m, a)), v) for (m, a), v in sorted(now.items()) if known.get((m, a)) != v
    ]


class ControlWrite(BaseModel):
    """A control file written by a containment action: the file written (with a followed
    link, the file it points at) and its SHA-256 before and after; `path` is None and the
    hashes empty when hooks acted instead."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    path: Path | None
    before: str
    after: str


class RollbackPlan(BaseModel):
    """What a rollback will do."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    model: str
    from_version: str | None
    to_version: str
    weights_hash: str
    weights_checked: bool
