"""`thirdbook demo`: the simulated estate, its logs, and a store that ingests them."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from thirdbook.config import Settings, SourceConfig
from thirdbook.demo.runner import DemoServingLayer
from thirdbook.domain.events import EVENT_KINDS
from thirdbook.domain.records import EventFilter
from thirdbook.domain.rules import DEMO_TRIGGERS
from thirdbook.services.console import Console
from thirdbook.services.context import Context


class DemoSession:
    """One run of the demo: a fresh (or continued) estate under the data directory."""

    def __init__(
        self,
        context: Context,
        *,
        speed: float | None = None,
        seed: int | None = None,
        fresh: bool = True,
    ) -> None:
        demo = context.settings.demo
        self.settings: Settings = context.settings
        self.config_path = context.config_path
        self.data_dir = context.data_dir
        self.layer = DemoServingLayer(
            context.demo_dir,
            seed=demo.seed if seed is None else seed,
            speed=demo.speed if speed is None else speed,
            requests_per_second=demo.requests_per_second,
        )
        if fresh:
            self.layer.reset()
        else:
            self.layer.logs.mkdir(parents=True, exist_ok=True)

    @property
    def sources(self) -> list[SourceConfig]:
        """The demo's watched source."""
        return self.layer.sources()

    async def open_console(self) -> Console:
        """The console service over the demo's own store."""
        triggers = self.settings.triggers
        if not (triggers.drift or triggers.feedback or triggers.lanes):
            triggers = DEMO_TRIGGERS  # the demo estate's own rules, unless configured
        # The demo's runbooks and control files are its own (see `Context` with `demo`).
        demo = Context(self.settings, self.data_dir, self.config_path, demo=True)
        return await Console.open(
            self.layer.store_path,
            self.settings,
            self.sources,
            triggers,
            runbooks=demo.runbooks(),
            containment=demo.containment(),
        )

    async def run_headless(self, stop: asyncio.Event, duration_s: float | None) -> dict[str, Any]:
        """Run the estate and ingest together, then drain what is left; returns a summary."""
        console = await self.open_console()
        ingest_stop = asyncio.Event()
        ingest = asyncio.create_task(console.run_ingest(ingest_stop))
        try:
            await self.layer.run(stop, duration_s)
            ingest_stop.set()
            await ingest
            await console.run_ingest(asyncio.Event(), once=True)
            counts = {}
            for kind in EVENT_KINDS:
                counts[kind] = await _count(console, kind)
            health = await console.health()
            alerts = (await console.alerts(limit=1000)).items
            return {
                "store": str(self.layer.store_path),
                "logs": str(self.layer.logs),
                "demo_seconds": round(self.layer.demo_seconds, 1),
                "lines_written": self.layer.lines_written,
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
            await console.close()


async def _count(console: Console, kind: str) -> int:
    total = 0
    before: int | None = None
    while True:
        page = await console.events(EventFilter(kind=kind), before_id=before, limit=1000)
        total += len(page.items)
        if page.next_key is None:
            return total
        before = page.next_key
