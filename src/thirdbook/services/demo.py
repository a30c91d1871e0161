"""`thirdbook demo`: the simulated estate, its logs, and a store that ingests them."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import replace
from typing import Any

from thirdbook.domain.events import EVENT_KINDS
from thirdbook.domain.records import EventFilter
from thirdbook.services.demo_endpoints import demo_replay_settings
from thirdbook.services.factory import Context, Services, demo_layer, open_services
from thirdbook.services.queries import QueryService


class DemoSession:
    """One run of the demo: a fresh (or continued) estate under the data directory, with its
    own store, sources, rules, runbooks and control files (the factory's `--demo` context),
    and (`serve`) the model server that answers replay as v6 and v7 until the estate stops."""

    def __init__(
        self,
        context: Context,
        *,
        speed: float | None = None,
        seed: int | None = None,
        fresh: bool = True,
        serve: bool = True,
        otlp: bool = False,
    ) -> None:
        self.context = replace(context, demo=True)
        self.layer = demo_layer(self.context, speed=speed, seed=seed, otlp=otlp)
        if fresh:
            self.layer.reset()
        else:
            self.layer.logs.mkdir(parents=True, exist_ok=True)
        if not serve:  # a helper over the demo's store: the running demo serves the models
            return
        # The model server answers from now until the estate stops; replay points at it.
        self.layer.model_server.start()
        self.context = replace(
            self.context, settings=demo_replay_settings(self.context.settings, context.data_dir)
        )

    async def open_services(self, *, ingest: bool = False) -> Services:
        """The services over the demo's own store (ingesting the demo's logs, if asked)."""
        return await open_services(self.context, ingest=ingest, sources=self.layer.sources())

    async def run_estate(self, stop: asyncio.Event) -> None:
        """Run the simulated serving layer, writing its logs, until `stop` is set."""
        await self.layer.run(stop)

    async def run_headless(self, stop: asyncio.Event, duration_s: float | None) -> dict[str, Any]:
        """Run the estate and ingest together, then drain what is left; returns a summary."""
        services = await self.open_services(ingest=True)
        assert services.ingest is not None
        ingest_stop = asyncio.Event()
        ingest = asyncio.create_task(services.ingest.run(ingest_stop))
        try:
            await self.layer.run(stop, duration_s)
            ingest_stop.set()
            await ingest
            await services.ingest.run(asyncio.Event(), once=True)
            counts = {}
            for kind in EVENT_KINDS:
                counts[kind] = await _count(services.queries, kind)
            health = await services.health.read()
            alerts = (await services.queries.alerts(limit=1000)).items
            return {
                "store": str(self.context.store_path),
                "logs": str(self.layer.logs),
                "demo_seconds": round(self.layer.demo_seconds, 1),
                "lines_written": self.layer.lines_written,
                "events_written": self.layer.events_written,
                "otlp": self.layer.otlp,
                "events": health.events_total,
                "rejects": health.rejects_total,
                "by_kind": counts,
                "alerts": {a.kind: sum(1 for b in alerts if b.kind == a.kind) for a in alerts},
            }
        finally:
            ingest_stop.set()
            if not ingest.done():
                ingest.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await ingest
            await services.close()


async def _count(queries: QueryService, kind: str) -> int:
    total = 0
    before: int | None = None
    while True:
        page = await queries.events(EventFilter(kind=kind), before_id=before, limit=1000)
        total += len(page.items)
        if page.next_key is None:
            return total
        before = page.next_key
