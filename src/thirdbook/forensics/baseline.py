"""Take a baseline: a model version's chain over a window, from its logged decisions and the
control files as they stand, kept as a content-addressed evidence object with an index row."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from datetime import UTC, datetime, timedelta

import orjson

from thirdbook.config import ContainmentConfig
from thirdbook.control_file import (
    ControlFileIOError,
    ControlFileRefusedError,
    read_control,
    target_of,
)
from thirdbook.domain.baselines import Baseline, Chain, observe
from thirdbook.domain.control import FlagdFile, Registry, route_for
from thirdbook.domain.events import InferenceEvent, parse_stored_line
from thirdbook.domain.incidents import Actor
from thirdbook.evidence.objects import ObjectStore
from thirdbook.store import Store
from thirdbook.store.baselines import BaselineRow

MAX_DECISIONS = 200_000
"""The most decisions one baseline or chain reads (oldest first)."""


class NoDecisionsError(ValueError):
    """A version logged no decisions in the window asked for."""


class ControlState:
    """The registry and flag file as they stand now (each None when absent or unreadable)."""

    def __init__(self, paths: ContainmentConfig) -> None:
        self.registry_bytes = _read(paths.registry, paths.follow_control_symlinks)
        self.flag_bytes = _read(paths.flag_file, paths.follow_control_symlinks)
        self.registry: Registry | None = None
        self.flags: FlagdFile | None = None
        with contextlib.suppress(ValueError):
            if self.registry_bytes is not None:
                self.registry = Registry.model_validate_json(self.registry_bytes)
        with contextlib.suppress(ValueError):
            if self.flag_bytes is not None:
                self.flags = FlagdFile.model_validate_json(self.flag_bytes)

    def aliases(self, model: str, version: str) -> str | None:
        """The registry aliases pointing at a version, comma-separated ('' when none)."""
        if self.registry is None or model not in self.registry.models:
            return None
        names = sorted(a for a, v in self.registry.models[model].aliases.items() if v == version)
        return ",".join(names)

    def weights_hash(self, model: str, version: str) -> str | None:
        """The registry's weights hash for a version."""
        entry = None if self.registry is None else self.registry.models.get(model)
        found = None if entry is None else entry.versions.get(version)
        return None if found is None else found.weights_hash

    def known_good(self, model: str) -> list[str]:
        """The versions the registry marks known-good."""
        entry = None if self.registry is None else self.registry.models.get(model)
        return [] if entry is None else [v for v, i in entry.versions.items() if i.known_good]

    def chain_of(self, model: str, version: str, events: list[InferenceEvent]) -> Chain:
        """The chain those decisions show, with the control files' state."""
        chain = observe(
            events,
            flag_sha256=None if self.flag_bytes is None else _sha(self.flag_bytes),
            flag_route=None
            if self.flags is None and self.flag_bytes is None
            else route_for(self.flags, model),
            registry_alias=self.aliases(model, version),
        )
        if chain.weights_hash is None:
            chain = chain.model_copy(update={"weights_hash": self.weights_hash(model, version)})
        return chain


def _read(path: object, follow: bool) -> bytes | None:
    if path is None:
        return None
    with contextlib.suppress(ControlFileRefusedError, ControlFileIOError):
        return read_control(target_of(path, follow=follow))  # type: ignore[arg-type]
    return None


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def decisions(
    store: Store, model: str, version: str, since: datetime | None, until: datetime | None
) -> list[InferenceEvent]:
    """A version's logged decisions in [since, until), oldest first, each with its trace's
    retrieved documents and tool outputs joined into its prompt."""
    rows = await store.events.of_version(
        model, version, "inference", MAX_DECISIONS, since=since, until=until
    )
    found = [parse_stored_line(r.raw) for r in rows]
    return await store.traces.joined([e for e in found if isinstance(e, InferenceEvent)])


async def default_window(
    store: Store, model: str, version: str, window: timedelta
) -> tuple[datetime, datetime]:
    """The last `window` before now, or before the version's last logged decision (when it
    stopped serving)."""
    newest = await store.events.of_version(model, version, "inference", 1, newest_first=True)
    now = datetime.now(UTC)
    until = now if not newest else min(now, newest[0].ts + timedelta(microseconds=1))
    return until - window, until


async def take_baseline(
    store: Store,
    objects: ObjectStore,
    paths: ContainmentConfig,
    model: str,
    version: str,
    actor: Actor,
    *,
    window: timedelta = timedelta(hours=1),
    why: str = "asked",
) -> tuple[BaselineRow, Baseline]:
    """Baseline a version over `window` (see `default_window`). Refused (`NoDecisionsError`)
    when it logged no decisions then."""
    since, until = await default_window(store, model, version, window)
    events = await decisions(store, model, version, since, until)
    if not events:
        raise NoDecisionsError(
            f"{model} {version} logged no decisions from {since:%Y-%m-%d %H:%M:%S} "
            f"to {until:%Y-%m-%d %H:%M:%S} UTC"
        )
    state = await asyncio.to_thread(ControlState, paths)
    baseline = Baseline(
        model=model,
        version=version,
        since=since,
        until=until,
        taken=datetime.now(UTC),
        by=actor.user,
        chain=state.chain_of(model, version, events),
    )
    data = orjson.dumps(baseline.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
    ref = await asyncio.to_thread(objects.put_bytes, data)
    row = await store.baselines.add(model, version, since, until, ref.sha256, ref.size, actor, why)
    return row, baseline


def load_baseline(objects: ObjectStore, row: BaselineRow) -> Baseline:
    """A baseline's object, read back."""
    return Baseline.model_validate_json(objects.path_of(row.sha256).read_bytes())
