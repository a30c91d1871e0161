"""Snapshot first, then act: keep an incident's window of interest as evidence objects.

A snapshot keeps, each as a content-addressed object listed in a manifest with its hash, size
and origin:
- every event of the window (the raw lines, as JSON lines);
- the source log segments those events came from, with their byte ranges (copied: a log
  that keeps growing cannot change the evidence);
- the model registry and the kill-switch flag file as they stand, copied only as containment
  would write them (`thirdbook.control_file`): a link it would refuse, a FIFO, a device or a
  file over 1 MiB is not copied, and the manifest says why;
- the models seen in the window with their weights hashes (and, where the weights are
  readable under `weights_dir`, each weights file re-hashed in streaming fashion);
- the prompt templates in use (ids, versions and system prompts seen in the window);
- the runbook the incident follows, as it reads now.
The manifest is itself an object. The snapshot stays incomplete until the manifest is stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from thirdbook.config import ContainmentConfig
from thirdbook.control_file import (
    ControlFileIOError,
    ControlFileRefusedError,
    read_control,
    target_of,
)
from thirdbook.domain.audit import canonical_bytes
from thirdbook.domain.evidence import SnapshotRecord
from thirdbook.domain.incidents import Actor, Incident
from thirdbook.domain.records import to_us
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

    since_us, until_us = to_us(start), to_us(end)
    progress("events of the window and their log segments")
    # The log segments are copied (in threads) while the events are written out.
    segments = await store.events.window_segments(since_us, until_us)
    copies = [
        asyncio.create_task(asyncio.to_thread(_file_item, objects, "logs", Path(p), first))
        for p, first in sorted(segments)
    ]
    try:
        events_ref, seen = await _events(store, objects, since_us, until_us)
        logs = [await copy for copy in copies]
    except BaseException:
        for copy in copies:
            copy.cancel()
        await asyncio.gather(*copies, return_exceptions=True)
        raise
    items.append(
        _item(
            "events",
            f"store events {start.isoformat()} to {end.isoformat()}",
            events_ref,
            count=seen.count,
        )
    )
    items.extend(logs)
    for kind, file in (("registry", paths.registry), ("routing", paths.flag_file)):
        progress(kind)
        items.append(
            await asyncio.to_thread(
                _control_item, objects, kind, file, paths.follow_control_symlinks
            )
        )
    progress("model versions and weights")
    models = await asyncio.to_thread(_models, seen.models, paths)
    items.append(_item("model", "registry and events", objects.put_bytes(canonical_bytes(models))))
    items.append(
        _item(
            "prompts",
            "events of the window",
            objects.put_bytes(canonical_bytes({"templates": seen.templates})),
        )
    )
    if runbook_file is not None:
        items.append(await asyncio.to_thread(_file_item, objects, "runbook", runbook_file))

    manifest = {
        "format": "thirdbook-snapshot-v1",
        "incident": incident.id,
        "snapshot": snapshot_id,
        "window": {"start": start.isoformat(), "end": end.isoformat()},
        "taken_by": {"user": actor.user, "uid": actor.uid, "origin": actor.origin},
        "taken_at": datetime.now(UTC).isoformat(),
        "items": items,
    }
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


def _control_item(
    objects: ObjectStore, kind: str, path: Path | None, follow: bool
) -> dict[str, Any]:
    """A control file as it stands, copied only if containment would write it (never a link
    it would refuse, a FIFO, a device or a file over the cap); or why it was not kept."""
    if path is None:
        return {"kind": kind, "origin": None, "missing": "not configured", "size": 0}
    try:
        target = target_of(path, follow=follow)
        data = read_control(target)
    except (ControlFileRefusedError, ControlFileIOError) as exc:
        return {"kind": kind, "origin": str(path), "missing": f"not copied: {exc}", "size": 0}
    if data is None:
        return {"kind": kind, "origin": str(path), "missing": "no such file", "size": 0}
    ref = objects.put_bytes(data)
    link = {} if target == path else {"link": str(path)}
    return _item(kind, str(target), ref, range=[0, ref.size], **link)


_TEMPLATE_ID = re.compile(rb'"template_id"\s*:\s*"([^"\\]*)"')
_TEMPLATE_VERSION = re.compile(rb'"template_version"\s*:\s*"?([^",}\\]*)')


_ID_KEY, _KEY_PREFIX = b'"template_id"', b'"template_'


def _one_template(data: bytes) -> list[tuple[bytes, bytes | None]] | None:
    """The page's one template id and version ([] for none), found by counting bytes: every
    `"template_...` key on the page is its first id or first version, spelled exactly as
    there (the version with the byte that ends it), as many of each; else None (the page may
    hold several templates, or odd spellings)."""
    found = _TEMPLATE_ID.search(data)
    if found is None:
        return [] if _ID_KEY not in data else None
    keys, ids = data.count(_KEY_PREFIX), data.count(found.group(0))
    version = _TEMPLATE_VERSION.search(data)
    if version is None:
        return [(found.group(1), None)] if keys == ids else None
    spelled = data[version.start() : version.end() + 1]  # with the byte that ended it
    if keys != 2 * ids or data.count(spelled) != ids:
        return None
    return [(found.group(1), version.group(1))]


class _Seen:
    """What the window's events say, gathered a page at a time while they are copied."""

    def __init__(self) -> None:
        self.count = 0
        self.models: dict[tuple[str, str | None], str | None] = {}
        self.templates: dict[str, dict[str, Any]] = {}

    def note_page(self, rows: list[Any], data: bytes, models: list[Any]) -> None:
        """Count the page's events; collect their models (the store's distinct columns) and
        their prompt templates (found in the page's bytes by counting; only a template's
        first line is parsed, for its system prompt)."""
        self.count += len(rows)
        for name, version, weights in models:
            key = (str(name), None if version is None else str(version))
            self.models[key] = weights or self.models.get(key)
        first: dict[tuple[bytes, bytes | None], bytes] = {}
        one = _one_template(data)
        if one is not None:
            # The usual page: one template throughout; its first line gives the system prompt.
            if one:
                at = data.find(_ID_KEY)
                end = data.find(b"\n", at)
                first[one[0]] = data[data.rfind(b"\n", 0, at) + 1 : end if end >= 0 else len(data)]
        else:  # several templates on the page: line by line
            for row in rows:
                found = _TEMPLATE_ID.search(row[1])
                if found is not None:
                    version = _TEMPLATE_VERSION.search(row[1])
                    pair = (found.group(1), None if version is None else version.group(1))
                    first.setdefault(pair, row[1])
        for (template_id, version), line in first.items():
            name = f"{template_id.decode(errors='replace')}@" + (
                "None" if version is None else version.decode(errors="replace")
            )
            if name not in self.templates:
                self.templates[name] = {"system": _system_prompt(line)}


def _system_prompt(line: bytes) -> Any:
    """The system prompt of an event line, if it has one."""
    with contextlib.suppress(orjson.JSONDecodeError, AttributeError):
        return orjson.loads(line).get("prompt", {}).get("system")
    return None


async def _events(
    store: Store, objects: ObjectStore, since_us: int, until_us: int
) -> tuple[ObjectRef, _Seen]:
    """Every event of the window as JSON lines, newest first (as the store pages them),
    written into one object as they are read (hashed in the same pass)."""
    seen = _Seen()
    writer = objects.writer()

    def fetch(before: int | None) -> asyncio.Task[list[Any]]:
        return asyncio.create_task(store.events.window_raw(since_us, until_us, before, PAGE))

    pending: asyncio.Task[list[Any]] | None = fetch(None)
    try:
        while pending is not None:
            rows = await pending
            models = (
                asyncio.create_task(
                    store.events.window_models(since_us, until_us, rows[-1][0], rows[0][0])
                )
                if rows
                else None
            )
            # The next page is read while this one is written.
            pending = fetch(rows[-1][0]) if len(rows) == PAGE else None
            data = b"".join([r[1].rstrip(b"\r\n") + b"\n" for r in rows])
            written = asyncio.create_task(asyncio.to_thread(writer.write, data))
            seen.note_page(rows, data, [] if models is None else await models)
            await written
        return await asyncio.to_thread(writer.close), seen
    except BaseException:
        if pending is not None:
            pending.cancel()
            await asyncio.gather(pending, return_exceptions=True)
        writer.abandon()
        raise


def _models(
    seen: dict[tuple[str, str | None], str | None], paths: ContainmentConfig
) -> dict[str, Any]:
    """Each model version the window's events name (a version they do not name: null), with
    the weights hash they logged, the registry's, and the hashes of its weights files."""
    registry: Any = None
    if paths.registry is not None:
        with contextlib.suppress(
            ControlFileRefusedError, ControlFileIOError, orjson.JSONDecodeError
        ):
            data = read_control(target_of(paths.registry, follow=paths.follow_control_symlinks))
            registry = None if data is None else orjson.loads(data)
    models = []
    for (name, version), logged_hash in sorted(
        seen.items(), key=lambda s: (s[0][0], s[0][1] or "")
    ):
        entry: dict[str, Any] = {
            "name": name,
            "version": version,
            "logged_weights_hash": logged_hash,
        }
        with contextlib.suppress(AttributeError, KeyError, TypeError):
            entry["registry_weights_hash"] = registry["models"][name]["versions"][version][
                "weights_hash"
            ]
        if paths.weights_dir is not None and version is not None:
            folder = paths.weights_dir / name / version
            if folder.is_dir():
                entry["weights_files"] = {
                    str(f.relative_to(folder)): hash_file(f).sha256
                    for f in sorted(folder.rglob("*"))
                    if f.is_file()
                }
        models.append(entry)
    return {"models": models, "registry": registry}


async def verify_snapshots(store: Store, objects: ObjectStore) -> list[str]:
    """Re-hash every object of every complete snapshot (and its manifest); what fails."""
    problems: list[str] = []
    for snapshot in await store.snapshots.all_complete():
        manifest = snapshot.manifest or {}
        kept = canonical_bytes(manifest)
        if hashlib.sha256(kept).hexdigest() != snapshot.manifest_sha256:
            problems.append(
                f"snapshot #{snapshot.id}: the store's index holds a manifest that "
                "does not hash to its manifest sha256 (it was changed)"
            )
        refs = [("manifest", snapshot.manifest_sha256 or "", len(kept))]
        refs += [
            (str(i.get("origin")), str(i["sha256"]), int(i["size"]))
            for i in manifest.get("items", [])
            if "sha256" in i
        ]
        for origin, sha, size in refs:
            problem = await asyncio.to_thread(objects.verify, ObjectRef(sha256=sha, size=size))
            if problem is not None:
                problems.append(f"snapshot #{snapshot.id} ({origin}): {problem}")
    return problems
