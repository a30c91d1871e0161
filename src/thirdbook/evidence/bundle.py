"""Evidence bundles: an incident's evidence in one tar.gz that can be verified offline.

Inside one folder, `thirdbook-incident-N/`:

- `MANIFEST.json`: every other file with its SHA-256 and size, the chain head at export, and
  which objects are masked copies;
- `incident.json`, `timeline.json`;
- `audit.jsonl`: the audit chain from the incident's first record to its last. The incident's
  records are whole; a record of another incident, or one holding a secret when secrets are
  masked, is a link only (`seq`, `prev_hash`, `hash`), so the chain still checks end to end;
- `snapshots/ID/manifest.json`: each snapshot's manifest, byte for byte the stored object;
- `objects/SHA256`: the objects the manifests list, raw; or, when one holds a secret and
  secrets are masked, `masked/SHA256` with its secrets replaced (its masked hash is in
  `MANIFEST.json`; the raw object stays in the store, where `thirdbook verify` checks it);
- `report.md`: the post-incident report as of the export (masked; its hash in the MANIFEST);
- `README.md`: how to verify it.

`bundle_check.verify_bundle` verifies one offline, in bounded memory.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from thirdbook.domain.audit import AuditRecord
from thirdbook.domain.errors import BundleError
from thirdbook.domain.secrets import find_secrets, installed_specs, mask_counted, mask_secrets
from thirdbook.domain.secrets import install as install_secrets
from thirdbook.evidence.objects import ObjectStore, chunks

if TYPE_CHECKING:
    import tarfile

FORMAT = "thirdbook-bundle/1"
_BLOCK = 4 << 20  # lines masked together (in a worker process, for a big object)

Progress = Callable[[str], None]


class BundleProblem(BaseModel):
    """Something in a bundle that does not verify."""

    model_config = ConfigDict(frozen=True)

    where: str
    problem: str


def chain_slice(
    records: Iterable[AuditRecord], incident_id: int, reveal: bool
) -> list[dict[str, Any]]:
    """The records as exported: the incident's whole (unless one holds a secret and secrets
    are masked), any other as a link only."""
    out: list[dict[str, Any]] = []
    for record in records:
        link = {"seq": record.seq, "prev_hash": record.prev_hash, "hash": record.hash}
        ours = record.content.get("incident") == incident_id
        secret = not reveal and bool(find_secrets(json.dumps(record.content, ensure_ascii=False)))
        if ours and not secret:
            out.append({**link, "content": record.content})
        else:
            out.append({**link, "link_only": "holds a secret" if ours else "another incident"})
    return out


def write_bundle(
    out: Path,
    incident_id: int,
    documents: dict[str, Any],
    audit: list[dict[str, Any]],
    manifests: dict[int, str],
    objects: ObjectStore,
    *,
    reveal: bool,
    head: dict[str, Any] | None,
    progress: Progress = lambda _: None,
    replay_objects: tuple[str, ...] = (),
    texts: dict[str, str] | None = None,
) -> str:
    """Write the bundle to `out` (atomically: a temp file beside it, then renamed); returns
    the SHA-256 of its MANIFEST.json. `documents` are JSON files by name (masked here unless
    `reveal`); `manifests` maps snapshot id to its manifest's object hash; `replay_objects`
    are the requests and answers of the incident's replay runs (listed in `replay.json`);
    `texts` are text files by name (the post-incident report), masked here unless `reveal`."""
    import tarfile  # imported when used: it costs the console's start-up otherwise

    root = f"thirdbook-incident-{incident_id}"
    listed: dict[str, dict[str, Any]] = {}
    masked: dict[str, dict[str, Any]] = {}
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:

            def add(name: str, data: bytes) -> None:
                listed[name] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
                _add(tar, f"{root}/{name}", io.BytesIO(data), len(data))

            for name, value in documents.items():
                text = json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)
                add(name, ((text if reveal else mask_secrets(text)) + "\n").encode())
            for name, text in (texts or {}).items():
                add(name, (text if reveal else mask_secrets(text)).encode())
            add(
                "audit.jsonl",
                b"".join(
                    json.dumps(r, ensure_ascii=False, sort_keys=True).encode() + b"\n"
                    for r in audit
                ),
            )
            wanted: dict[str, None] = {}
            missing = [sha for sha in manifests.values() if not objects.has(sha)]
            for snapshot_id, sha in sorted(manifests.items()):
                if sha in missing:
                    raise BundleError(
                        f"snapshot #{snapshot_id}'s manifest (object {sha}) is "
                        "missing from the evidence store"
                    )
                data = objects.path_of(sha).read_bytes()
                add(f"snapshots/{snapshot_id}/manifest.json", data)
                for item in json.loads(data).get("items", []):
                    if "sha256" in item:
                        wanted[str(item["sha256"])] = None
            wanted.update(dict.fromkeys(replay_objects))
            for n, sha in enumerate(wanted, 1):
                progress(f"object {n}/{len(wanted)}")
                if not objects.has(sha):
                    raise BundleError(f"object {sha} is missing from the evidence store")
                name, fields = _add_object(tar, root, objects, sha, reveal)
                listed[name] = fields
                if name.startswith("masked/"):
                    masked[sha] = fields
            add("README.md", _readme(incident_id, reveal).encode())
            manifest = {
                "format": FORMAT,
                "incident": incident_id,
                "exported_at": time.time(),
                "secrets": "revealed" if reveal else "masked",
                "chain_head": head,
                "masked": masked,
                "files": listed,
            }
            data = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
            _add(tar, f"{root}/MANIFEST.json", io.BytesIO(data), len(data))
        os.chmod(temp, 0o444)
        os.replace(temp, out)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return hashlib.sha256(data).hexdigest()


def _add(tar: tarfile.TarFile, name: str, data: IO[bytes], size: int) -> None:
    import tarfile

    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, 0o444, int(time.time())
    tar.addfile(info, data)


def _add_object(
    tar: tarfile.TarFile, root: str, objects: ObjectStore, sha: str, reveal: bool
) -> tuple[str, dict[str, Any]]:
    """Add an object raw, or (holding a secret, secrets masked) as a masked copy."""
    path = objects.path_of(sha)
    if not reveal:
        with tempfile.TemporaryFile() as copy:
            digest, secrets = hashlib.sha256(), 0
            for block, found in _masked_blocks(path):
                secrets += found
                digest.update(block)
                copy.write(block)
            if secrets:
                size = copy.tell()
                copy.seek(0)
                _add(tar, f"{root}/masked/{sha}", copy, size)
                return f"masked/{sha}", {
                    "sha256": digest.hexdigest(),
                    "size": size,
                    "secrets": secrets,
                }
    size = path.stat().st_size
    with path.open("rb") as data:
        _add(tar, f"{root}/objects/{sha}", data, size)
    return f"objects/{sha}", {"sha256": sha, "size": size}


def mask_block(block: bytes) -> tuple[bytes, int]:
    """A block of whole lines with the secrets in each masked, and how many there were."""
    out, count = [], 0
    for line in block.splitlines(keepends=True):
        masked, found = mask_counted(line.decode("utf-8", errors="surrogateescape"))
        if found:
            count += found
            line = masked.encode("utf-8", errors="surrogateescape")
        out.append(line)
    return b"".join(out), count


def _masked_blocks(path: Path) -> Iterator[tuple[bytes, int]]:
    """The file masked, block by block, in order. A big file is masked by a pool of worker
    processes (one per core, a few blocks in flight, so memory stays bounded)."""
    workers = min(4, os.cpu_count() or 1)
    if workers < 2 or path.stat().st_size < 4 * _BLOCK:
        yield from map(mask_block, _blocks(path))
        return
    import multiprocessing
    from concurrent.futures import Future, ProcessPoolExecutor

    context = multiprocessing.get_context("forkserver")  # no threads inherited
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=install_secrets, initargs=(installed_specs(),)
    ) as pool:
        pending: deque[Future[tuple[bytes, int]]] = deque()
        for block in _blocks(path):
            pending.append(pool.submit(mask_block, block))
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _blocks(path: Path) -> Iterator[bytes]:
    """The file's whole lines, gathered into blocks of about `_BLOCK` bytes."""
    block: list[bytes] = []
    size = 0
    for line in _lines(path):
        block.append(line)
        size += len(line)
        if size >= _BLOCK:
            yield b"".join(block)
            block, size = [], 0
    if block:
        yield b"".join(block)


def _lines(path: Path, piece: int = 16 << 20) -> Iterator[bytes]:
    """The file's lines, with their endings, in order. A line longer than `piece` bytes comes
    in pieces of that size, so memory stays bounded whatever the file holds (a secret across
    a piece's edge, in such a line, may be masked only in part)."""
    pending = bytearray()
    for chunk in chunks(path):
        start = 0
        while (end := chunk.find(b"\n", start)) >= 0:
            pending += chunk[start : end + 1]
            yield bytes(pending)
            pending.clear()
            start = end + 1
        pending += chunk[start:]
        while len(pending) >= piece:
            yield bytes(pending[:piece])
            del pending[:piece]
    if pending:
        yield bytes(pending)


def _readme(incident_id: int, reveal: bool) -> str:
    secrets = (
        "Secrets are NOT masked in this bundle: it was exported with --reveal-secrets (audited)."
        if reveal
        else "Secrets are masked: an object that held one is in masked/ (its masked hash in "
        "MANIFEST.json); the raw object stays in the store, checked by `thirdbook "
        "verify`."
    )
    return f"""# Evidence bundle: incident #{incident_id}

Verify it offline with thirdbook:

    thirdbook verify-bundle thirdbook-incident-{incident_id}.tar.gz

or by hand:

1. Every file but MANIFEST.json is listed in MANIFEST.json with its SHA-256 and size
   (`sha256sum FILE`). Compare MANIFEST.json's own SHA-256 with the one recorded in the
   store's audit chain for this export (`thirdbook audit --incident {incident_id}`).
2. objects/NAME hashes to NAME. snapshots/ID/manifest.json lists each captured item with its
   hash; each is in objects/ (or masked/).
3. audit.jsonl is a hash chain: each record's prev_hash is the hash of the one before. A
   whole record's hash is SHA-256 of "thirdbook-audit-v1\\n{{seq}}\\n{{prev_hash}}\\n" followed
   by its content as canonical JSON (keys sorted, NFC strings, no spaces, integral floats as
   integers). Link-only records belong to other incidents (or hold a secret).

{secrets}
"""
