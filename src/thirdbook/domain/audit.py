"""The audit chain: every action as a record whose hash covers its content and the previous hash.

Hashing is canonical (RELIABILITY C4): keys sorted, strings NFC-normalised, a float with an
integral value encoded as that integer, no insignificant whitespace. The same content hashes
the same whatever produced it.
"""

from __future__ import annotations

import hashlib
import json
import math
import unicodedata
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

GENESIS = "0" * 64
"""The `prev_hash` of the first record."""

Outcome = Literal["done", "refused", "failed", "started", "interrupted"]


def _canonical(value: Any) -> Any:
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} cannot be audited (not a finite number)")
        return int(value) if value.is_integer() else value
    if isinstance(value, dict):
        return {unicodedata.normalize("NFC", str(k)): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    raise TypeError(f"{type(value).__name__} cannot be audited")


def canonical_bytes(content: dict[str, Any]) -> bytes:
    """The canonical encoding of a record's content (what its hash covers)."""
    return json.dumps(
        _canonical(content),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    ).encode("utf-8")


def record_hash(seq: int, prev_hash: str, content: dict[str, Any]) -> str:
    """SHA-256 over the sequence number, the previous record's hash and the content."""
    digest = hashlib.sha256()
    digest.update(f"thirdbook-audit-v1\n{seq}\n{prev_hash}\n".encode())
    digest.update(canonical_bytes(content))
    return digest.hexdigest()


class AuditRecord(BaseModel):
    """One link of the chain as stored."""

    model_config = ConfigDict(frozen=True)

    seq: int
    at: datetime
    content: dict[str, Any]
    prev_hash: str
    hash: str


class ChainHead(BaseModel):
    """Where the chain stands: export it to detect a store rolled back to an older copy."""

    model_config = ConfigDict(frozen=True)

    seq: int
    hash: str


class ChainProblem(BaseModel):
    """The first place the chain does not verify."""

    model_config = ConfigDict(frozen=True)

    seq: int
    reason: str


def check_chain(records: list[AuditRecord], prev: ChainHead | None = None) -> ChainProblem | None:
    """The first problem in consecutive records (continuing from `prev`), or None."""
    expected_seq = 1 if prev is None else prev.seq + 1
    prev_hash = GENESIS if prev is None else prev.hash
    for record in records:
        if record.seq != expected_seq:
            what = "missing" if record.seq > expected_seq else "out of order or repeated"
            return ChainProblem(
                seq=expected_seq, reason=f"record {expected_seq} is {what} (found {record.seq})"
            )
        if record.prev_hash != prev_hash:
            return ChainProblem(seq=record.seq, reason="does not link to the record before it")
        if record_hash(record.seq, record.prev_hash, record.content) != record.hash:
            return ChainProblem(seq=record.seq, reason="its content does not match its hash")
        expected_seq, prev_hash = record.seq + 1, record.hash
    return None
