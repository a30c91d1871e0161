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
naming it.
"""

from __future__ import annotations

import hashlib
import tarfile
import zlib
from pathlib import Path, PurePosixPath
from typing import IO, Annotated, Any, Literal, NoReturn, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from thirdbook.domain.audit import record_hash
from thirdbook.domain.errors import BundleError
from thirdbook.domain.strict_json import loads_strict
from thirdbook.evidence.bundle import FORMAT, BundleProblem

MIB = 1 << 20
MANIFEST_LIMIT = 2 * MIB
SNAPSHOT_LIMIT = 1 * MIB
SNAPSHOTS_TOTAL = 8 * MIB
LINE_LIMIT = 1 * MIB
MEMBERS = 20_000
NAME_LIMIT = 256
HEADER_LIMIT = 64 << 10
EXTENSIONS = 4
PROBLEMS = 100
MEMORY_BOUND_MIB = 256
_READ = MIB

Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
Size = Annotated[int, Field(ge=0)]
M = TypeVar("M", bound=BaseModel)


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True)


class ListedFile(_Strict):
    """A file as MANIFEST.json lists it."""

    sha256: Sha256
    size: Size


class MaskedCopy(ListedFile):
    """An object included as a masked copy: its masked hash and size, and how many secrets."""

    secrets: Size


class ExportedHead(_Strict):
    """The audit chain's head at export."""

    seq: int
    hash: str


class BundleManifest(_Strict):
    """MANIFEST.json, checked for shape."""

    format: str
    incident: int
    exported_at: float
    secrets: Literal["masked", "revealed"]
    chain_head: ExportedHead | None
    masked: dict[str, MaskedCopy]
    files: dict[str, ListedFile]


class _Item(_Strict):
    model_config = ConfigDict(strict=True, frozen=True, extra="allow")
    kind: str
    sha256: Sha256 | None = None
    size: Size = 0


class _SnapshotManifest(_Strict):
    model_config = ConfigDict(strict=True, frozen=True, extra="allow")
    items: list[_Item]


class _AuditLine(_Strict):
    seq: Annotated[int, Field(ge=1)]
    prev_hash: str
    hash: str
    content: dict[str, Any] | None = None
    link_only: str | None = None


class BundleCheck(BaseModel):
    """What `verify_bundle` found: the MANIFEST, its SHA-256 (as the store's audit record of
    the export has it), and what does not verify (empty: all is well)."""

    model_config = ConfigDict(frozen=True)

    manifest: BundleManifest
    manifest_sha256: str
    problems: list[BundleProblem]
    more_problems: int = 0


class _Problems:
    """Problems of one kind: the first `PROBLEMS` kept, the rest counted."""

    def __init__(self) -> None:
        self.kept: list[BundleProblem] = []
        self.more = 0

    def add(self, where: str, problem: str) -> None:
        if len(self.kept) < PROBLEMS:
            self.kept.append(BundleProblem(where=where, problem=problem))
        else:
            self.more += 1


def _load(member: str, data: bytes) -> Any:
    """Strict JSON (no NaN, Infinity or overflowing numbers), or a refusal naming `member`."""
    try:
        return loads_strict(data)
    except RecursionError:
        raise BundleError(f"{member} is not JSON that can be read (nested too deeply)") from None
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise BundleError(f"{member} is not valid JSON ({_cut(str(exc))})") from None


def _shaped(member: str, model: type[M], value: Any) -> M:
    """`value` as `model`, or a refusal naming `member` and the first thing wrong."""
    if not isinstance(value, dict):
        raise BundleError(
            f"{member} is malformed: a JSON object was expected, not {type(value).__name__}"
        )
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "the top level"
        more = exc.error_count() - 1
        also = f" (and {more} more problem(s))" if more else ""
        raise BundleError(
            f"{member} is malformed at {_cut(where)}: {first['msg'].lower()}{also}"
        ) from None


def _cut(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


class _Chain:
    """audit.jsonl checked as it streams: split into lines (each capped), every whole record
    re-hashed, every record linked to the one before."""

    def __init__(self) -> None:
        self.problems = _Problems()
        self.pending = bytearray()
        self.number = 0
        self.previous: str | None = None

    def feed(self, chunk: bytes) -> None:
        self.pending += chunk
        start = 0
        while (end := self.pending.find(b"\n", start)) >= 0:
            self._line(bytes(self.pending[start:end]))
            start = end + 1
        del self.pending[:start]
        if len(self.pending) > LINE_LIMIT:
            raise BundleError(
                f"audit.jsonl line {self.number + 1} is over "
                f"{LINE_LIMIT // MIB} MiB: no audit record is that long"
            )

    def close(self) -> None:
        if self.pending:
            self._line(bytes(self.pending))
            self.pending.clear()

    def _line(self, line: bytes) -> None:
        self.number += 1
        member = f"audit.jsonl line {self.number}"
        record = _shaped(member, _AuditLine, _load(member, line))
        if (record.content is None) == (record.link_only is None):
            raise BundleError(
                f"{member} is malformed: a record has either its content or link_only"
            )
        where = f"audit.jsonl record seq {record.seq}"
        if self.previous is not None and record.prev_hash != self.previous:
            self.problems.add(
                where, "does not link to the record before it (a record was removed or changed)"
            )
        if record.content is not None:
            try:
                expected = record_hash(record.seq, record.prev_hash, record.content)
            except (TypeError, ValueError) as exc:
                raise BundleError(f"{member} is malformed: {exc}") from None
            if expected != record.hash:
                self.problems.add(
                    where, f"its content does not hash to its recorded hash (line {self.number})"
                )
        self.previous = record.hash


class _Header(tarfile.TarInfo):
    """Tar headers read with caps: tarfile reads a header extension (pax, GNU long name) or
    a sparse map whole, so a crafted one could otherwise fill memory."""

    def _proc_member(self, tarfile: Any) -> Any:
        import tarfile as tar

        if self.type == tar.XGLTYPE:  # it would apply to every later member, and accumulate
            raise BundleError("a global tar header is in the bundle: refused unread")
        if self.type == tar.GNUTYPE_SPARSE:
            raise BundleError("a sparse file is in the bundle: refused unread")
        if self.type in (
            tar.XHDTYPE,
            tar.SOLARIS_XHDTYPE,
            tar.GNUTYPE_LONGNAME,
            tar.GNUTYPE_LONGLINK,
        ):
            if self.size > HEADER_LIMIT:
                raise BundleError(
                    f"a tar header extension of {self.size:,} bytes is over "
                    f"{HEADER_LIMIT // 1024} KiB: refused unread"
                )
            # Each extension reads the next header recursively: a run of them is refused.
            extensions = getattr(tarfile, "thirdbook_extensions", 0) + 1
            if extensions > EXTENSIONS:
                raise BundleError(
                    f"a member has over {EXTENSIONS} tar header extensions: refused unread"
                )
            setattr(tarfile, "thirdbook_extensions", extensions)  # noqa: B010
        return super()._proc_member(tarfile)  # type: ignore[misc]

    def _proc_gnusparse_00(self, *_: Any) -> NoReturn:
        raise BundleError("a sparse file is in the bundle: refused unread")

    _proc_gnusparse_01 = _proc_gnusparse_10 = _proc_gnusparse_00


class _Reading:
    """What has been read so far."""

    def __init__(self) -> None:
        self.found: dict[str, tuple[str, int]] = {}
        self.manifest: BundleManifest | None = None
        self.chain = _Chain()
        self.wanted: list[tuple[str, str]] = []  # (snapshot manifest, object it lists)
        self.snapshot_bytes = 0
        self.root: str | None = None

    def member(self, tar: tarfile.TarFile, member: tarfile.TarInfo) -> None:
        name = _safe_name(member)
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
        if _is_snapshot_manifest(rest):
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
            self.manifest = _manifest(bytes(kept))
        elif limit is not None:
            snapshot = _shaped(rest, _SnapshotManifest, _load(rest, bytes(kept)))
            self.wanted += [(rest, i.sha256) for i in snapshot.items if i.sha256 is not None]


def _stream(data: IO[bytes], sink: Any) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    while chunk := data.read(_READ):
        digest.update(chunk)
        size += len(chunk)
        if sink is not None:
            sink(chunk)
    return digest.hexdigest(), size


def _manifest(data: bytes) -> BundleManifest:
    value = _load("MANIFEST.json", data)
    if isinstance(value, dict) and value.get("format") != FORMAT:
        raise BundleError(
            f"MANIFEST.json is not a {FORMAT} manifest (its format is "
            f"{_cut(repr(value.get('format')))})"
        )
    return _shaped("MANIFEST.json", BundleManifest, value)


def _limit(name: str) -> int | None:
    """The size cap of a member that is parsed whole (None: it is only hashed, or streamed)."""
    if name == "MANIFEST.json":
        return MANIFEST_LIMIT
    return SNAPSHOT_LIMIT if _is_snapshot_manifest(name) else None


def _is_snapshot_manifest(name: str) -> bool:
    return name.startswith("snapshots/") and name.endswith("/manifest.json")


def _safe_name(member: tarfile.TarInfo) -> str:
    name = member.name
    parts = PurePosixPath(name).parts
    if not (member.isfile() or member.isdir()):
        raise BundleError(
            f"{_cut(name)!r} is not a plain file or folder (links and devices are refused)"
        )
    if name.startswith("/") or ".." in parts or not parts or "\\" in name:
        raise BundleError(f"{_cut(name)!r} escapes the bundle's folder")
    if len(name) > NAME_LIMIT:
        raise BundleError(
            f"a member's name is {len(name):,} characters, over the {NAME_LIMIT} "
            f"a bundle's names have ({_cut(name, 60)!r})"
        )
    return "/".join(parts)


def verify_bundle(path: Path) -> BundleCheck:
    """Check a bundle offline, in bounded memory. Raises BundleError for a bundle that cannot
    be read safely or holds a malformed document (the message names the member)."""
    reading = _Reading()
    count = 0
    try:
        with tarfile.open(path, mode="r|gz", tarinfo=_Header) as tar:
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


def _check(manifest: BundleManifest, reading: _Reading) -> _Problems:
    found, problems = reading.found, _Problems()
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
