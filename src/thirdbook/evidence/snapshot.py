"""Snapshot first, then act: keep an incident's window of interest as evidence objects.

A snapshot keeps, each as a content-addressed object listed in a manifest with its hash, size
and origin:
- every event of the window (the raw lines, as JSON lines);
- the source log segments those events came from, with their byte ranges (copied: a log
  that keeps growing cannot change the evidence);
- the model registry and the kill-switch flag file as they stand;
- the models seen in the window with their weights hashes (and, where the weights are
  readable under `weights_dir`, each weights file re-hashed in streaming fashion);
- the prompt templates in use (ids, versions and system prompts seen in the window);
- the runbook the incident follows, as it reads now.
The manifest is itself an object. The snapshot stays incomplete until the manifest is stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from thirdbook.config import ContainmentConfig
from thirdbook.domain.audit import canonical_bytes
from thirdbook.domain.evidence import SnapshotRecord
from thirdbook.domain.incidents import Actor, Incident
from thirdbook.domain.records import EventFilter
from thirdbook.evidence.objects import ObjectRef, ObjectStore, hash_file
from thirdbook.store import Store

Progress = Callable[[str], None]
PAGE = 5000


def _item(kind: str, origin: str, ref: ObjectRef, **extra: Any) -> dict[str, Any]:
    return {"kind": kind, "origin": origin, "sha256": ref.sha256, "size": ref.size, **extra}


async def window_of(store: Store, incident: Incident, before_s: float) -> tuple[datetime, datetime]:
    """From `before_s` before the incident's first alert until now."""
    firsts = [a.first_at for a in [await store.alerts.get(i) for i in incident.alert_ids] if a]
    start = min(firsts, default=incident.declared_at) - timedelta(seconds=before_s)
    return start, datetime.now(UTC)


async def take_snapshot(
    store: Store,
    objects: ObjectStore,
    incident: Incident,
    actor: Actor,
    paths: ContainmentConfig,
    runbook_file: Path | None,
    progress: Progress = lambda _: None,
) -> SnapshotRecord:
    """Snapshot an incident's window; returns the complete snapshot."""
    snapshot_id = await store.snapshots.start(incident.id, actor)
    start, end = await window_of(store, incident, paths.window_before_s)
    items: list[dict[str, Any]] = []

    progress("events of the window")
    events_ref, seen = await _events(store, objects, start, end)
    items.append(_item("events", f"store events {start.isoformat()} to {end.isoformat()}",
                       events_ref, count=seen.count))  # fmt: skip

    for path, first in sorted(seen.first_offset.items()):
        progress(f"log segment of {Path(path).name}")
        items.append(await asyncio.to_thread(_file_item, objects, "logs", Path(path), first))
    for kind, file in (("registry", paths.registry), ("routing", paths.flag_file)):
        progress(kind)
        items.append(await asyncio.to_thread(_file_item, objects, kind, file))
    progress("model versions and weights")
    models = await asyncio.to_thread(_models, seen.models, paths)
    items.append(_item("model", "registry and events", objects.put_bytes(canonical_bytes(models))))
    items.append(_item("prompts", "events of the window",
                       objects.put_bytes(canonical_bytes({"templates": seen.templates}))))
    if runbook_file is not None:
        items.append(await asyncio.to_thread(_file_item, objects, "runbook", runbook_file))

    manifest = {
        "format": "thirdbook-snapshot-v1", "incident": incident.id, "snapshot": snapshot_id,
        "window": {"start": start.isoformat(), "end": end.isoformat()},
        "taken_by": {"user": actor.user, "uid": actor.uid, "origin": actor.origin},
        "taken_at": datetime.now(UTC).isoformat(), "items": items,
    }  # fmt: skip
    manifest_ref = objects.put_bytes(canonical_bytes(manifest))
    progress("done")
    return await store.snapshots.complete(snapshot_id, manifest, manifest_ref.sha256, actor)


def _file_item(
    objects: ObjectStore, kind: str, path: Path | None, start: int = 0
) -> dict[str, Any]:
    """A file's bytes from `start` to its size now, copied; or why it could not be kept."""
    if path is None:
        return {"kind": kind, "origin": None, "missing": "not configured", "size": 0}
    try:
        size = path.stat().st_size
        ref = objects.put_file(path, start, size)
    except OSError as exc:
        return {"kind": kind, "origin": str(path), "missing": str(exc), "size": 0}
    return _item(kind, str(path), ref, range=[start, start + ref.size])


class _Seen:
    """What the window's events say, gathered while they are copied."""

    def __init__(self) -> None:
        self.count = 0
        self.first_offset: dict[str, int] = {}
        self.models: dict[tuple[str, str], str | None] = {}
        self.templates: dict[str, dict[str, Any]] = {}

    def note(self, path: str, offset: int, raw: bytes) -> None:
        self.count += 1
        self.first_offset[path] = min(offset, self.first_offset.get(path, offset))
        with contextlib.suppress(orjson.JSONDecodeError):
            record = orjson.loads(raw)
            model = record.get("model") if isinstance(record, dict) else None
            if isinstance(model, dict) and model.get("name"):
                key = (str(model["name"]), str(model.get("version")))
                self.models[key] = model.get("weights_hash") or self.models.get(key)
            prompt = record.get("prompt") if isinstance(record, dict) else None
            if isinstance(prompt, dict) and prompt.get("template_id"):
                name = f"{prompt['template_id']}@{prompt.get('template_version')}"
                self.templates.setdefault(name, {"system": prompt.get("system")})


async def _events(
    store: Store, objects: ObjectStore, start: datetime, end: datetime
) -> tuple[ObjectRef, _Seen]:
    """Every event of the window as JSON lines, oldest last (as the store pages them)."""
    seen = _Seen()
    objects.scratch.mkdir(parents=True, exist_ok=True)
    temp = objects.scratch / f"events-{os.getpid()}-{id(seen)}.jsonl"
    where = EventFilter(since=start, until=end)
    try:
        with temp.open("wb") as out:
            before: int | None = None
            while True:
                page = await store.events.page(where, before_id=before, limit=PAGE)
                for event in page.items:
                    out.write(event.raw.rstrip(b"\r\n") + b"\n")
                    seen.note(event.path, event.byte_offset, event.raw)
                if page.next_key is None:
                    break
                before = page.next_key
        return await asyncio.to_thread(objects.put_file, temp), seen
    finally:
        temp.unlink(missing_ok=True)


def _models(seen: dict[tuple[str, str], str | None], paths: ContainmentConfig) -> dict[str, Any]:
    registry: Any = None
    if paths.registry is not None and paths.registry.is_file():
        with contextlib.suppress(OSError, orjson.JSONDecodeError):
            registry = orjson.loads(paths.registry.read_bytes())
    models = []
    for (name, version), logged_hash in sorted(seen.items()):
        entry: dict[str, Any] = {"name": name, "version": version, "logged_weights_hash":
                                 logged_hash}  # fmt: skip
        with contextlib.suppress(AttributeError, KeyError, TypeError):
            entry["registry_weights_hash"] = registry["models"][name]["versions"][version][
                "weights_hash"]  # fmt: skip
        if paths.weights_dir is not None:
            folder = paths.weights_dir / name / version
            if folder.is_dir():
                entry["weights_files"] = {
                    str(f.relative_to(folder)): hash_file(f).sha256
                    for f in sorted(folder.rglob("*")) if f.is_file()
                }  # fmt: skip
        models.append(entry)
    return {"models": models, "registry": registry}


async def verify_snapshots(store: Store, objects: ObjectStore) -> list[str]:
    """Re-hash every object of every complete snapshot (and its manifest); what fails."""
    problems: list[str] = []
    for snapshot in await store.snapshots.all_complete():
        manifest = snapshot.manifest or {}
        refs = [("manifest", snapshot.manifest_sha256 or "", len(canonical_bytes(manifest)))]
        refs += [(str(i.get("origin")), str(i["sha256"]), int(i["size"]))
                 for i in manifest.get("items", []) if "sha256" in i]  # fmt: skip
        for origin, sha, size in refs:
            problem = await asyncio.to_thread(objects.verify, ObjectRef(sha256=sha, size=size))
            if problem is not None:
                problems.append(f"snapshot #{snapshot.id} ({origin}): {problem}")
    return problems
