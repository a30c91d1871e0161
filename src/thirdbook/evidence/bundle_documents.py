"""The documents an evidence bundle holds, as `verify-bundle` reads them: their shapes, strict
JSON, each under a cap, and the audit slice checked line by line as it streams.

A document that is not the JSON it must be (not JSON, NaN or Infinity, the wrong shape) is
refused with a sentence naming it; the problems a bundle has are kept up to `PROBLEMS` of each
kind (the rest are counted).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

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
PROBLEMS = 100

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


class SnapshotManifest(_Strict):
    model_config = ConfigDict(strict=True, frozen=True, extra="allow")
    items: list[_Item]


class AuditLine(_Strict):
    seq: Annotated[int, Field(ge=1)]
    prev_hash: str
    hash: str
    content: dict[str, Any] | None = None
    link_only: str | None = None


class Problems:
    """Problems of one kind: the first `PROBLEMS` kept, the rest counted."""

    def __init__(self) -> None:
        self.kept: list[BundleProblem] = []
        self.more = 0

    def add(self, where: str, problem: str) -> None:
        if len(self.kept) < PROBLEMS:
            self.kept.append(BundleProblem(where=where, problem=problem))
        else:
            self.more += 1


def load_json(member: str, data: bytes) -> Any:
    """Strict JSON (no NaN, Infinity or overflowing numbers), or a refusal naming `member`."""
    try:
        return loads_strict(data)
    except RecursionError:
        raise BundleError(f"{member} is not JSON that can be read (nested too deeply)") from None
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise BundleError(f"{member} is not valid JSON ({cut(str(exc))})") from None


def shaped(member: str, model: type[M], value: Any) -> M:
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
            f"{member} is malformed at {cut(where)}: {first['msg'].lower()}{also}"
        ) from None


def cut(text: str, limit: int = 120) -> str:
    """`text` cut to `limit` characters for a message, with an ellipsis when cut."""
    return text if len(text) <= limit else text[:limit] + "…"


def read_manifest(data: bytes) -> BundleManifest:
    """MANIFEST.json checked: strict JSON, this format, the right shape."""
    value = load_json("MANIFEST.json", data)
    if isinstance(value, dict) and value.get("format") != FORMAT:
        raise BundleError(
            f"MANIFEST.json is not a {FORMAT} manifest (its format is "
            f"{cut(repr(value.get('format')))})"
        )
    return shaped("MANIFEST.json", BundleManifest, value)


class AuditStream:
    """audit.jsonl checked as it streams: split into lines (each capped), every whole record
    re-hashed, every record linked to the one before."""

    def __init__(self) -> None:
        self.problems = Problems()
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
        record = shaped(member, AuditLine, load_json(member, line))
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
