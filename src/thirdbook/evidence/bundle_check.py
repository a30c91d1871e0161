"""Verifying an evidence bundle offline, in bounded memory, whatever the bundle holds.

The tar is read as a stream and never extracted. Every member is hashed as it passes; only the
documents that must be parsed are parsed, each under a cap, and the audit slice line by line:

- `MANIFEST.json`: at most `MANIFEST_LIMIT` bytes;
- each `snapshots/ID/manifest.json`: at most `SNAPSHOT_LIMIT` bytes, `SNAPSHOTS_TOTAL` in all
  (only the object hashes each lists are kept once it is parsed);
- `audit.jsonl`: one line at a time, each at most `LINE_LIMIT` bytes (the chain is checked as it
  streams: only the previous record's hash is kept);
- at most `MEMBERS` members, names of at most `NAME_LIMIT` characters, at most `EXTENSIONS`
  tar header extensions of at most `HEADER_LIMIT` bytes each per member, and no global
  headers or sparse files (thirdbook writes none);
- at most `PROBLEMS` problems of each kind are kept (the rest are counted).

Together these keep `verify-bundle` under `MEMORY_BOUND_MIB` (the test measures it). A member
that is not a plain file or folder inside the bundle's folder, or a document that is not the
JSON it must be (not JSON, NaN or Infinity, the wrong shape), is refused with a sentence
naming it. The documents' shapes and caps are in `bundle_documents.py`, the tar stream's in
`bundle_tar.py`; this module walks the members and checks them against the MANIFEST.
"""

from __future__ import annotations

import hashlib
import tarfile
import zlib
from pathlib import Path
from typing import IO, Any

from pydantic import BaseModel, ConfigDict

from thirdbook.domain.errors import BundleError
from thirdbook.evidence.bundle import BundleProblem
from thirdbook.evidence.bundle_documents import (
    MANIFEST_LIMIT,
    MIB,
    SNAPSHOT_LIMIT,
    SNAPSHOTS_TOTAL,
    AuditStream,
    BundleManifest,
    Problems,
    SnapshotManifest,
    load_json,
    read_manifest,
    shaped,
)
from thirdbook.evidence.bundle_tar import CappedHeader, safe_name

__all__ = [
    "MANIFEST_LIMIT",
    "MEMBERS",
    "MEMORY_BOUND_MIB",
    "MIB",
    "SNAPSHOT_LIMIT",
    "BundleCheck",
    "verify_bundle",
]

MEMBERS = 20_000
MEMORY_BOUND_MIB = 256
_READ = MIB


class BundleCheck(BaseModel):
    """What `verify_bundle` found: the MANIFEST, its SHA-256 (as the store's audit record of
    the export has it), and what does not verify (empty: all is well)."""

    model_config = ConfigDict(frozen=True)

    manifest: BundleManifest
    manifest_sha256: str
    problems: list[BundleProblem]
    more_problems: int = 0


class _Reading:
    """What has been read so far."""

    def __init__(self) -> None:
        self.found: dict[str, tuple[str, int]] = {}
        self.manifest: BundleManifest | None = None
        self.chain = AuditStream()
        self.wanted: list[tuple[str, str]] = []  # (snapshot manifest, object it lists)
        self.snapshot_bytes = 0
        self.root: str | None = None

    def member(self, tar: tarfile.TarFile, member: tarfile.TarInfo) -> None:
        name = safe_name(member)
        top, _, rest = name.partition("/")
        self.root = self.root or top
        if top != self.root:
            raise BundleError(f"{name!r} is outside the bundle's folder {self.root!r}")
        if member.isdir():
            return
        if rest in self.found:
            raise BundleError(f"{name!r} appears twice")
        limit = _limit(rest)
        if limit is not None and member.size > limit:
            raise BundleError(
                f"{rest} is {member.size:,} bytes, over the {limit // MIB} MiB "
                "such a document may have: refused unread"
            )
        if _is_snapshotread_manifest(rest):
            self.snapshot_bytes += member.size
            if self.snapshot_bytes > SNAPSHOTS_TOTAL:
                raise BundleError(
                    f"the snapshot manifests are over {SNAPSHOTS_TOTAL // MIB} "
                    f"MiB together (at {rest}): refused"
                )
        data = tar.extractfile(member)
        assert data is not None  # a plain file
        if rest == "audit.jsonl":
            self.found[rest] = _stream(data, self.chain.feed)
            self.chain.close()
            return
        kept = bytearray()
        self.found[rest] = _stream(data, kept.extend if limit is not None else None)
        if rest == "MANIFEST.json":
            self.manifest = read_manifest(bytes(kept))
        elif limit is not None:
            snapshot = shaped(rest, SnapshotManifest, load_json(rest, bytes(kept)))
            self.wanted += [(rest, i.sha256) for i in snapshot.items if i.sha256 is not None]


def _stream(data: IO[bytes], sink: Any) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    while chunk := data.read(_READ):
        digest.update(chunk)
        size += len(chunk)
        if sink is not None:
            sink(chunk)
    return digest.hexdigest(), size


def _limit(name: str) -> int | None:
    """The size cap of a member that is parsed whole (None: it is only hashed, or streamed)."""
    if name == "MANIFEST.json":
        return MANIFEST_LIMIT
    return SNAPSHOT_LIMIT if _is_snapshotread_manifest(name) else None


def _is_snapshotread_manifest(name: str) -> bool:
    return name.startswith("snapshots/") and name.endswith("/manifest.json")


def verify_bundle(path: Path) -> BundleCheck:
    """Check a bundle offline, in bounded memory. Raises BundleError for a bundle that cannot
    be read safely or holds a malformed document (the message names the member)."""
    reading = _Reading()
    count = 0
    try:
        with tarfile.open(path, mode="r|gz", tarinfo=CappedHeader) as tar:
            while (member := tar.next()) is not None:
                tar.members.clear()  # type: ignore[attr-defined]  # else it keeps every header
                setattr(tar, "thirdbook_extensions", 0)  # noqa: B010
                count += 1
                if count > MEMBERS:
                    raise BundleError(
                        f"the bundle has over {MEMBERS:,} members: more than "
                        "thirdbook ever writes; refused"
                    )
                reading.member(tar, member)
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise BundleError(f"{path} is not a readable tar.gz: {exc}") from exc
    if reading.manifest is None:
        raise BundleError("the bundle has no MANIFEST.json")
    problems = _check(reading.manifest, reading)
    problems.kept += reading.chain.problems.kept
    return BundleCheck(
        manifest=reading.manifest,
        manifest_sha256=reading.found["MANIFEST.json"][0],
        problems=problems.kept,
        more_problems=problems.more + reading.chain.problems.more,
    )


def _check(manifest: BundleManifest, reading: _Reading) -> Problems:
    found, problems = reading.found, Problems()
    for name, want in sorted(manifest.files.items()):
        got = found.get(name)
        if got is None:
            problems.add(name, "listed but missing")
        elif got != (want.sha256, want.size):
            problems.add(name, f"hashes to {got[0]} ({got[1]} bytes), not the listed {want.sha256}")
    for name in sorted(set(found) - set(manifest.files) - {"MANIFEST.json"}):
        problems.add(name, "not listed in MANIFEST.json")
    for name, (sha, _) in found.items():
        if name.startswith("objects/") and name.removeprefix("objects/") != sha:
            problems.add(name, f"its bytes hash to {sha}")
    present = {n.split("/", 1)[1] for n in found if n.startswith(("objects/", "masked/"))}
    for name, sha in sorted(reading.wanted):
        if sha not in present:
            problems.add(name, f"lists object {sha}, not in the bundle")
    return problems
