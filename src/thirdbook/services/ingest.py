"""Ingest for the process that holds the lease: the sources tailed, every commit judged by the
triggers, and the registry's alias history kept beside it."""

from __future__ import annotations

import asyncio

from thirdbook.ingest.ingester import Ingester
from thirdbook.services.alerting import Alerting
from thirdbook.services.registry import RegistryService


class IngestService:
    """The ingester with its alerting wired to its commits (see the factory)."""

    def __init__(self, ingester: Ingester, alerting: Alerting, registry: RegistryService) -> None:
        self.ingester = ingester
        self.alerting = alerting
        self.registry = registry
        ingester.on_commit = alerting.on_commit

    @property
    def holding_lease(self) -> bool:
        """Whether this process ingests now (it holds the ingest lease)."""
        return self.ingester.status.holding_lease

    async def run(self, stop: asyncio.Event, *, once: bool = False) -> None:
        """Ingest the sources while this process holds the lease (see `Ingester.run`), and
        keep the registry's alias history beside it."""
        if once:
            await self.ingester.run(stop, once=True)
            await self.registry.observe()
            return
        done = asyncio.Event()  # ingest has returned (stopped, or lost its lease)
        watcher = asyncio.create_task(self.registry.watch(done))
        try:
            await self.ingester.run(stop)
        finally:
            done.set()
            await watcher

    async def release(self) -> None:
        """Give up the lease, if held."""
        await self.ingester.release()
