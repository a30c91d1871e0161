"""Shared helpers: valid event lines, one-shot ingest, reading back what was stored."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from thirdbook.config import IngestConfig, SourceConfig
from thirdbook.ingest.ingester import Ingester
from thirdbook.services.factory import Services, build_services
from thirdbook.store import Store

FAST = IngestConfig(debounce_ms=20, poll_interval_s=0.05, release_after_s=0.2, lease_ttl_s=1.0)


def event_line(n: int, *, pad: int = 0, kind: str = "inference") -> bytes:
    """A valid v1 line with a recognisable request id (and optional padding)."""
    record: dict[str, object] = {
        "v": 1,
        "kind": kind,
        "ts": f"2026-11-27T10:{(n // 60) % 60:02d}:{n % 60:02d}.{n % 1_000_000:06d}+00:00",
    }
    if kind == "inference":
        record.update(
            request_id=f"req-{n:08d}",
            subject=f"applicant-{n % 97}",
            model={"name": "credit-scorer", "version": "v7", "weights_hash": "sha256:ab"},
            response={"decision": "decline", "text": "x" * pad},
        )
    elif kind == "metric":
        record.update(model={"name": "credit-scorer", "version": "v7"}, metric="acc", value=0.9)
    return json.dumps(record, separators=(",", ":")).encode() + b"\n"


def source(*paths: Path | str, name: str = "test") -> list[SourceConfig]:
    """One source over the given paths or globs."""
    return [SourceConfig(name=name, paths=[str(p) for p in paths])]


async def ingest_once(
    store: Store, sources: list[SourceConfig], settings: IngestConfig = FAST
) -> Ingester:
    """Run one ingester until everything available is in, then release it."""
    ingester = Ingester(store, sources, settings)
    await ingester.run(asyncio.Event(), once=True)
    await ingester.release()
    return ingester


async def stored_request_ids(store: Store) -> list[str]:
    """Every inference event's request id, in store order (oldest first)."""
    rows = await store.fetchall("SELECT request_id FROM events ORDER BY id")
    return [r[0] for r in rows if r[0] is not None]


async def stored_raw(store: Store) -> list[bytes]:
    """Every event's raw line, in store order."""
    return [bytes(r[0]) for r in await store.fetchall("SELECT raw FROM events ORDER BY id")]


async def reject_reasons(store: Store) -> list[tuple[int, str, bytes]]:
    """(offset, reason, raw) of every reject, in store order."""
    rows = await store.fetchall("SELECT byte_offset, reason, raw FROM rejects ORDER BY id")
    return [(r[0], r[1], bytes(r[2])) for r in rows]


def with_containment(services: Services, **update: Any) -> Services:
    """The same store's services with `[containment]` changed, as a console restarted on an
    edited thirdbook.toml would have them."""
    return build_services(
        services.store,
        services.settings,
        sources=services.sources,
        triggers=services.triggers,
        containment=services.containment_config.model_copy(update=update),
        runbooks=services.runbooks,
        read_only=services.read_only,
        paths=services.paths,
    )
