"""The registry's alias history: watched beside ingest, recorded by rollbacks, queried by
time.

asyncio, the incidents' models and the control-file steps are imported where they are used:
`explain` reads the registry as it is now (`current`) and nothing else of this.
"""

from __future__ import annotations

import contextlib
import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from thirdbook.control_file import (
    ControlFileIOError,
    ControlFileRefusedError,
    read_control_with_stat,
    target_of,
)
from thirdbook.domain.clock import now_us
from thirdbook.domain.control import AliasMove, Registry

if TYPE_CHECKING:
    import asyncio

    from thirdbook.domain.incidents import Actor
    from thirdbook.store import Store


class RegistryService:
    """Every alias move kept, so "which version was serving then?" has an answer."""

    def __init__(self, store: Store, path: Path | None, *, follow: bool, read_only: bool) -> None:
        """`path`: the registry file (None: none is configured); `follow`: whether a link
        there is followed (else refused); `read_only`: never record what it sees."""
        self.store = store
        self.path = path
        self.follow = follow
        self.read_only = read_only
        self._seen: str | None = None  # the file's hash when this process last looked

    async def observe(
        self,
        how: Literal["observed", "rollback"] = "observed",
        *,
        actor: Actor | None = None,
        incident_id: int | None = None,
    ) -> list[AliasMove]:
        """Record the registry file's alias moves since the last look (at the file's
        modification time; a rollback at the time it is made). Nothing when the file is
        missing, unchanged since this process last looked, or not a valid registry; and
        nothing from a read-only console, which never writes to the store."""
        import asyncio

        path = self.path
        if path is None or self.read_only:
            return []
        try:
            data, mtime_ns = await asyncio.to_thread(self._read_with_mtime, path)
            registry = Registry.model_validate_json(data)
        except (OSError, ValueError, ControlFileRefusedError, ControlFileIOError):
            return []
        sha = hashlib.sha256(data).hexdigest()
        if how == "observed" and sha == self._seen:
            return []
        at_us = now_us() if how == "rollback" else mtime_ns // 1000
        moves = await self.store.registry_history.record(
            registry, sha, at_us, how, actor=actor, incident_id=incident_id
        )
        self._seen = sha
        return moves

    async def watch(self, stop: asyncio.Event, every_s: float = 1.0) -> None:
        """Observe the registry until `stop` is set (beside ingest)."""
        import asyncio

        while not stop.is_set():
            await self.observe()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every_s)

    async def moves(self, model: str | None = None, limit: int = 200) -> list[AliasMove]:
        """Alias moves, newest first, after looking at the file once more."""
        await self.observe()
        return await self.store.registry_history.moves(model, limit)

    async def serving_at(self, model: str, at_us: int) -> AliasMove | None:
        """The move that put the version serving `model` at `at_us` in place."""
        await self.observe()
        return await self.store.registry_history.pointing_at(model, "serving", at_us)

    def current(self) -> Registry | None:
        """The registry as the file says now (None: none configured, or not a valid one)."""
        path = self.path
        if path is None:
            return None
        from thirdbook.services.control_steps import registry_at

        try:
            return registry_at(target_of(path, follow=self.follow))
        except (ValueError, ControlFileRefusedError, ControlFileIOError):
            return None

    def _read_with_mtime(self, path: Path) -> tuple[bytes, int]:
        """The registry's bytes and modification time, read as a control file."""
        found = read_control_with_stat(target_of(path, follow=self.follow))
        if found is None:
            raise FileNotFoundError(path)
        return found[0], found[1].st_mtime_ns
